/**
 * The runner on PostgreSQL 15 (and PGlite where the scenario exists there): a rewritten legacy
 * folder (CONCURRENTLY files included) applied over rows, a runner killed during CREATE INDEX
 * CONCURRENTLY, continuity with drizzle-kit migrate, and hand edits of applied files. Concurrent
 * runners, killed runners, lock contention and secrets are in test/reliability/.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rewriteFolder } from "../src/rewrite.js";
import { connectPg, openPglite } from "../src/runner/driver.js";
import { migrate } from "../src/runner/migrate.js";
import { createTestDb, PG_URL, type TestDb } from "./helpers/pg.js";
import { APPROVALS, corpusProject, rewritten, withJournalPrefix } from "./helpers/corpus.js";
import { BIN, DRIZZLE_KIT, run } from "./helpers/project.js";

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

  it("the driver helper connects (sanity)", async () => {
    const d = await connectPg(db.url);
    expect((await d.query("select 1 as x")).rows).toEqual([{ x: 1 }]);
    await d.close();
  });
});
