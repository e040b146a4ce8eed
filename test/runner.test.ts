/**
 * The runner on PostgreSQL 15 (and PGlite where the scenario exists there): a rewritten legacy
 * folder (CONCURRENTLY files included) applied over rows, concurrent runners, a runner killed
 * during CREATE INDEX CONCURRENTLY, lock contention, continuity with drizzle-kit migrate, and
 * hand edits of applied files.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rewriteFolder } from "../src/rewrite.js";
import { connectPg, openPglite } from "../src/runner/driver.js";
import { migrate } from "../src/runner/migrate.js";
import { createTestDb, PG_URL, type TestDb } from "./helpers/pg.js";
import { BIN, DRIZZLE_KIT, ROOT, run } from "./helpers/project.js";

const CORPUS = join(ROOT, "fixtures", "corpus", "shop");

/** A project folder with the raw drizzle-kit corpus as its migrations (and a config using `url`). */
function corpusProject(url?: string): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "dg-runner-"));
  const out = join(dir, "drizzle");
  cpSync(CORPUS, out, { recursive: true });
  writeFileSync(
    join(dir, "drizzle.config.json"),
    JSON.stringify({ dialect: "postgresql", out: "./drizzle", ...(url ? { dbCredentials: { url } } : {}) }),
  );
  writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ approve: APPROVALS }));
  return { dir, out };
}

/** The corpus's last migration drops the billing table and schema on purpose. */
const APPROVALS = [
  { rule: "ban-drop-table", target: "billing.invoices", reason: "test corpus" },
  { rule: "ban-drop-schema", target: "billing", reason: "test corpus" },
];

/** Runs with only the first `n` journal entries visible, then restores the journal. */
async function withJournalPrefix<T>(out: string, n: number, fn: () => Promise<T>): Promise<T> {
  const path = join(out, "meta", "_journal.json");
  const full = readFileSync(path, "utf8");
  const j = JSON.parse(full);
  writeFileSync(path, JSON.stringify({ ...j, entries: j.entries.slice(0, n) }, null, 2));
  try {
    return await fn();
  } finally {
    writeFileSync(path, full);
  }
}

function rewritten(url?: string): { dir: string; out: string } {
  const p = corpusProject(url);
  rewriteFolder(p.out);
  return p;
}

describe("runner on PGlite", () => {
  it("applies a rewritten folder with CONCURRENTLY files over existing rows, once", async () => {
    const { out } = rewritten();
    const db = await openPglite();
    try {
      await withJournalPrefix(out, 1, () => migrate({ driver: db, out, approvals: APPROVALS }));
      await db.query(`insert into users (email, name) select 'u' || g || '@x', 'n' || g from generate_series(1, 500) g`);
      await db.query(`insert into orders (user_id) select id from users`);
      // 0001 builds indexes CONCURRENTLY over those rows; 0002 sets orders.note NOT NULL, so backfill it first.
      expect((await withJournalPrefix(out, 2, () => migrate({ driver: db, out, approvals: APPROVALS }))).applied).toHaveLength(1);
      await db.query(`update orders set note = 'n/a'`);
      const r = await migrate({ driver: db, out, approvals: APPROVALS });
      expect(r.applied).toHaveLength(3);
      expect((await db.query(`select count(*)::int as n from orders`)).rows[0].n).toBe(500);
      expect((await db.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).rows[0].n).toBe(5);
      expect((await migrate({ driver: db, out, approvals: APPROVALS })).applied).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it("continues a database migrated by drizzle-kit's own migrator after rewrite, re-applying nothing", async () => {
    const { out } = corpusProject();
    const db = await openPglite();
    const { PGlite } = await import("@electric-sql/pglite");
    const raw = new PGlite();
    try {
      // drizzle-orm's migrator (what `drizzle-kit migrate` runs) on the raw drizzle-kit folder.
      const { drizzle } = await import("drizzle-orm/pglite");
      const { migrate: drizzleMigrate } = await import("drizzle-orm/pglite/migrator");
      await drizzleMigrate(drizzle(raw), { migrationsFolder: out });
      const rows = (await raw.query<{ hash: string }>(`select hash from drizzle.__drizzle_migrations order by id`)).rows;
      expect(rows).toHaveLength(5);
      rewriteFolder(out);
      const driver = {
        kind: "pglite" as const,
        query: async (sql: string, params?: unknown[]) => ({ rows: params ? (await raw.query(sql, params)).rows : ((await raw.exec(sql)).at(-1)?.rows ?? []) }),
        pid: async () => 0,
        close: async () => undefined,
      };
      const r = await migrate({ driver, out, approvals: APPROVALS });
      expect(r.applied).toEqual([]);
      expect(r.statuses.map((s) => s.state)).toEqual(["applied", "applied", "applied", "applied", "applied"]);
    } finally {
      await raw.close();
      await db.close();
    }
  });

  it("refuses a BLOCKED file (unapproved DROP TABLE), naming the statement; an approve comment lets it through", async () => {
    const { out } = rewritten();
    const db = await openPglite();
    try {
      const err = await migrate({ driver: db, out }).then(
        () => undefined,
        (e) => e,
      );
      expect(err?.format()).toMatch(/_cleanup\.sql:4:1: BLOCKED: ban-drop-table \(billing\.invoices\)/);
      expect(err?.format()).toContain("-- drizzle-guard: approve ban-drop-table <reason>");
      // Everything before the blocked file was applied, nothing from it on.
      expect((await db.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).rows[0].n).toBe(4);
      const file = readdirSync(out).filter((f) => f.endsWith("_cleanup.sql"))[0];
      const text = readFileSync(join(out, file), "utf8");
      writeFileSync(join(out, file), text.replace("DROP TABLE", "-- drizzle-guard: approve ban-drop-table billing retired\nDROP TABLE"));
      const err2 = await migrate({ driver: db, out }).then(() => undefined, (e) => e);
      expect(err2?.format()).toContain("BLOCKED: ban-drop-schema (billing)");
      writeFileSync(join(out, file), readFileSync(join(out, file), "utf8").replace("DROP SCHEMA", "-- drizzle-guard: approve ban-drop-schema\nDROP SCHEMA"));
      const err3 = await migrate({ driver: db, out }).then(() => undefined, (e) => e);
      expect(err3?.format()).toContain("the approve comment has no reason");
      writeFileSync(join(out, file), readFileSync(join(out, file), "utf8").replace("approve ban-drop-schema\n", "approve ban-drop-schema billing retired\n"));
      expect((await migrate({ driver: db, out })).applied).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it("refuses an applied file edited by hand, naming it", async () => {
    const { out } = rewritten();
    const db = await openPglite();
    try {
      await migrate({ driver: db, out, approvals: APPROVALS });
      const file = readdirSync(out).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql")).sort()[2];
      appendFileSync(join(out, file), "\n-- edited");
      await expect(migrate({ driver: db, out, approvals: APPROVALS })).rejects.toThrow(file);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!PG_URL)("runner on PostgreSQL 15", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb("runner");
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function freshDb(): Promise<TestDb> {
    const t = await createTestDb("run");
    cleanup.push(t);
    return t;
  }
  const cleanup: TestDb[] = [];
  afterAll(async () => {
    for (const t of cleanup) await t.drop();
  });

  it("applies a rewritten folder with CONCURRENTLY files to a database that has rows", async () => {
    const t = await freshDb();
    const { dir, out } = rewritten(t.url);
    await withJournalPrefix(out, 1, async () => expect(run(dir, ["migrate"]).status).toBe(0));
    await t.query(`insert into users (email, name) select 'u' || g || '@x', 'n' || g from generate_series(1, 20000) g`);
    await t.query(`insert into orders (user_id) select id from users`);
    const first = await withJournalPrefix(out, 2, async () => run(dir, ["migrate"]));
    expect(first.stderr).toBe("");
    expect(first.stdout).toContain("(no transaction)");
    await t.query(`update orders set note = 'n/a'`);
    const r = run(dir, ["migrate"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const idx = await t.query(`select c.relname, i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname in ('users_name_idx', 'orders_user_created_idx') order by 1`);
    expect(idx).toEqual([
      { relname: "orders_user_created_idx", indisvalid: true },
      { relname: "users_name_idx", indisvalid: true },
    ]);
    expect((await t.query(`select count(*)::int as n from orders`))[0].n).toBe(20000);
    const st = run(dir, ["status"]);
    expect(st.status).toBe(0);
    expect(st.stdout.match(/^applied /gm)).toHaveLength(5);
  });

  it("8 runners started at once: all exit 0, each migration recorded exactly once", async () => {
    const t = await freshDb();
    const { dir } = rewritten(t.url);
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<{ code: number; out: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, "migrate"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("exit", (code) => resolve({ code: code ?? 1, out }));
      })),
    );
    for (const r of runs) expect(r).toMatchObject({ code: 0 });
    const rows = await t.query(`select created_at, count(*)::int as n from drizzle.__drizzle_migrations group by 1 order by 1`);
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(runs.filter((r) => r.out.includes("applied 5 migration(s)"))).toHaveLength(1);
    expect(runs.filter((r) => r.out.includes("nothing pending"))).toHaveLength(7);
  });

  it("a runner killed during CREATE INDEX CONCURRENTLY: the rerun repairs the invalid index and completes", async () => {
    const t = await freshDb();
    const { dir, out } = rewritten(t.url);
    await withJournalPrefix(out, 1, async () => expect(run(dir, ["migrate"]).status).toBe(0));
    // Enough rows that building users_name_idx takes a while.
    await t.query(`insert into users (email, name) select 'u' || g || '@x', md5(g::text) || md5((g * 7)::text) from generate_series(1, 1500000) g`);
    const child = spawn(process.execPath, [BIN, "migrate"], { cwd: dir, stdio: "ignore" });
    const probe = new pg.Client({ connectionString: t.url });
    await probe.connect();
    try {
      let seen = false;
      for (let i = 0; i < 600 && !seen; i++) {
        const r = await probe.query(`select 1 from pg_stat_activity where query like 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_name_idx"%' and state = 'active'`);
        seen = r.rows.length > 0;
        if (!seen) await new Promise((res) => setTimeout(res, 20));
      }
      expect(seen).toBe(true);
      child.kill("SIGKILL");
      await new Promise((res) => child.on("exit", res));
      // The backend notices its client is gone (client_connection_check_interval) and aborts.
      for (let i = 0; i < 200; i++) {
        const r = await probe.query(`select 1 from pg_stat_activity where query like 'CREATE INDEX CONCURRENTLY%' and state = 'active'`);
        if (r.rows.length === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const invalid = await probe.query(`select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'users_name_idx'`);
      expect(invalid.rows).toEqual([{ indisvalid: false }]);
    } finally {
      await probe.end();
    }
    const rerun = run(dir, ["migrate"]);
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toContain('"users_name_idx" is INVALID');
    const valid = await t.query(`select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'users_name_idx'`);
    expect(valid).toEqual([{ indisvalid: true }]);
    expect((await t.query(`select count(*)::int as n from drizzle.__drizzle_migrations`))[0].n).toBe(5);
  });

  it("a lock held by another session: lock timeout, retries, the blocker named, no pile-up", async () => {
    const t = await freshDb();
    const { dir, out } = rewritten(t.url);
    await withJournalPrefix(out, 1, async () => expect(run(dir, ["migrate"]).status).toBe(0));
    const holder = new pg.Client({ connectionString: t.url, application_name: "the-blocker" });
    const reader = new pg.Client({ connectionString: t.url });
    await holder.connect();
    await reader.connect();
    try {
      const holderPid = (await holder.query("select pg_backend_pid() as pid")).rows[0].pid;
      await holder.query("BEGIN");
      await holder.query("SELECT * FROM products /* long report */");
      const child = spawn(process.execPath, [BIN, "migrate", "--lock-timeout", "300ms", "--retries", "2"], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1" },
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      // Meanwhile other sessions keep reading the table: they must never queue behind the migration for long.
      let maxWaiting = 0;
      let readerMaxMs = 0;
      const exited = new Promise<number>((res) => child.on("exit", (c) => res(c ?? 1)));
      let done = false;
      exited.then(() => (done = true));
      while (!done) {
        const started = Date.now();
        await reader.query("select count(*) from products");
        readerMaxMs = Math.max(readerMaxMs, Date.now() - started);
        const w = await reader.query(`select count(*)::int as n from pg_locks where not granted and relation = 'products'::regclass`);
        maxWaiting = Math.max(maxWaiting, w.rows[0].n);
        await new Promise((res) => setTimeout(res, 25));
      }
      const code = await exited;
      expect(code).toBe(1);
      expect(output).toContain("lock timeout");
      expect(output).toContain("attempt 1/3");
      expect(output).toContain(`pid ${holderPid} holds AccessShareLock`);
      expect(output).toContain("long report");
      expect(maxWaiting).toBeLessThanOrEqual(1);
      expect(readerMaxMs).toBeLessThan(1500);
      // This database only: the server is shared with suites running at the same time (CONCURRENTLY builds wait on locks).
      const waiting = await reader.query(
        `select count(*)::int as n from pg_locks where not granted and database = (select oid from pg_database where datname = current_database())`,
      );
      expect(waiting.rows[0].n).toBe(0);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await reader.end();
    }
    const after = run(dir, ["migrate"]);
    expect(after.status).toBe(0);
    expect((await t.query(`select count(*)::int as n from drizzle.__drizzle_migrations`))[0].n).toBe(5);
  });

  it("drizzle-kit migrate, then drizzle-guard rewrite, then drizzle-guard migrate: nothing re-applied", async () => {
    const t = await freshDb();
    const { dir } = corpusProject(t.url);
    const dk = spawnSync(process.execPath, [DRIZZLE_KIT, "migrate", "--config", "drizzle.config.json"], { cwd: dir, encoding: "utf8" });
    expect(dk.status).toBe(0);
    const before = await t.query(`select id, hash, created_at from drizzle.__drizzle_migrations order by id`);
    expect(before).toHaveLength(5);
    expect(run(dir, ["rewrite"]).status).toBe(0);
    const r = run(dir, ["migrate"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("nothing pending");
    expect(await t.query(`select id, hash, created_at from drizzle.__drizzle_migrations order by id`)).toEqual(before);
  });

  it("a hand edit of an applied file: migrate and status fail naming it", async () => {
    const t = await freshDb();
    const { dir, out } = rewritten(t.url);
    expect(run(dir, ["migrate"]).status).toBe(0);
    const file = readdirSync(out).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql")).sort()[1];
    writeFileSync(join(out, file), readFileSync(join(out, file), "utf8").replace("DEFAULT 0", "DEFAULT 1"));
    const m = run(dir, ["migrate"]);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain(`${file} was changed after it was applied`);
    const s = run(dir, ["status"]);
    expect(s.status).toBe(1);
    expect(s.stdout).toContain(`edited`);
    expect(s.stdout).toContain(file);
  });

  it("a refused connection never shows the password", async () => {
    const { dir } = corpusProject("postgres://alice:s3cr3t-pw@127.0.0.1:1/nope");
    const r = run(dir, ["migrate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("cannot connect");
    expect(r.stdout + r.stderr).not.toContain("s3cr3t-pw");
    expect(r.stderr).toContain("alice:***@");
  });

  it("the driver helper connects (sanity)", async () => {
    const d = await connectPg(db.url);
    expect((await d.query("select 1 as x")).rows).toEqual([{ x: 1 }]);
    await d.close();
  });
});
