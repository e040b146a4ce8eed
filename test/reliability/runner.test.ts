/**
 * The runner under faults, on PostgreSQL 15: 8 `migrate` processes at once on one database; `migrate`
 * SIGKILLed mid-file 20 times (transactional and non-transactional files), each rerun giving the
 * catalog and bookkeeping of a clean run; a session holding a lock on a migrated table.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffCatalogs, readCatalog, type Catalog } from "../../src/catalog/catalog.js";
import { readFolder, readSql } from "../../src/folder/folder.js";
import { connectPg } from "../../src/runner/driver.js";
import { parseSql } from "../../src/sql/parse.js";
import { rewritten, withJournalPrefix } from "../helpers/corpus.js";
import { createTestDb, PG_URL, type TestDb } from "../helpers/pg.js";
import { BIN, generateAll, makeProject, run } from "../helpers/project.js";
import { rng, SEED, trial, trials } from "./trials.js";

const KILLED_RUNS = 20;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function migrateChild(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Exit> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  for (const k of ["DRIZZLE_GUARD_FAULT_AT", "DRIZZLE_GUARD_FAULT_TRACE"]) if (!(k in env)) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "migrate", ...args], { cwd, env: childEnv });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code, signal) => resolve({ code, signal, out }));
  });
}

async function bookkeeping(db: TestDb): Promise<Array<{ hash: string; created_at: string }>> {
  return db.query(`select hash, created_at::text from drizzle.__drizzle_migrations order by created_at, hash`);
}

async function catalogOf(url: string): Promise<Catalog> {
  const d = await connectPg(url);
  try {
    return await readCatalog(d);
  } finally {
    await d.close();
  }
}

describe.skipIf(!PG_URL)("runner reliability on PostgreSQL 15", () => {
  const dbs: TestDb[] = [];
  const dirs: string[] = [];
  async function freshDb(): Promise<TestDb> {
    const t = await createTestDb("rel");
    dbs.push(t);
    return t;
  }
  /** The example shop generated through its five versions: phase files, transactional and not. */
  let shop: string;
  beforeAll(() => {
    shop = makeProject();
    dirs.push(shop);
    generateAll(shop);
    console.log(`runner trials: DRIZZLE_GUARD_SEED=${SEED}`);
  });
  afterAll(async () => {
    for (const t of dbs) await t.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** 8 runners at once: all exit 0, every migration recorded exactly once, one runner applied them all. */
  async function eightRunners(dir: string, url: string, db: TestDb, migrations: number): Promise<void> {
    const runs = await Promise.all(Array.from({ length: 8 }, () => migrateChild(dir, ["--url", url])));
    for (const r of runs) expect(r).toMatchObject({ code: 0 });
    const rows = await db.query(`select created_at, count(*)::int as n from drizzle.__drizzle_migrations group by 1 order by 1`);
    expect(rows).toHaveLength(migrations);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(runs.filter((r) => r.out.includes(`applied ${migrations} migration(s)`))).toHaveLength(1);
    expect(runs.filter((r) => r.out.includes("nothing pending"))).toHaveLength(7);
  }

  it("8 runners started at once (rewritten legacy folder, and the generated shop with phase files): each migration applied exactly once", async () => {
    await trial("concurrent runners", async () => {
      const t = await freshDb();
      const { dir } = rewritten(t.url);
      dirs.push(dir);
      await eightRunners(dir, t.url, t, 5);
    });
    await trial("concurrent runners", async () => {
      const t = await freshDb();
      const n = readFolder(join(shop, "drizzle")).journal.entries.length;
      expect(n).toBeGreaterThan(5);
      await eightRunners(shop, t.url, t, n);
    });
  });

  it(`migrate SIGKILLed mid-file ${KILLED_RUNS} times (transactional and non-transactional files): each rerun gives a clean run's catalog`, async () => {
    const out = join(shop, "drizzle");
    const folder = readFolder(out);
    const nonTx = new Map(folder.journal.entries.map((e) => [`${e.tag}.sql`, parseSql(readSql(folder, e.tag), `${e.tag}.sql`).nonTransactional]));
    // A clean run: its catalog and bookkeeping, and the fault points it passes.
    const clean = await freshDb();
    const trace = join(shop, "trace.txt");
    const r = await migrateChild(shop, ["--url", clean.url], { DRIZZLE_GUARD_FAULT_TRACE: trace });
    expect(r.code).toBe(0);
    const cleanCatalog = await catalogOf(clean.url);
    const cleanRows = await bookkeeping(clean);
    expect(cleanRows).toHaveLength(folder.journal.entries.length);
    // Mid-file: before a statement other than the first, or after the last (before the bookkeeping row).
    const steps = readFileSync(trace, "utf8").trim().split("\n").filter((s) => /^bookkeeping:|^statement:.*:[1-9]\d*$/.test(s));
    rmSync(trace);
    const fileOf = (s: string) => s.replace(/^(statement|bookkeeping):/, "").replace(/:\d+$/, "");
    const pick = (list: string[], n: number, random: () => number) => {
      const pool = [...list];
      const picked: string[] = [];
      while (picked.length < n && pool.length) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
      return picked;
    };
    const random = rng(SEED + 2);
    const tx = steps.filter((s) => !nonTx.get(fileOf(s)));
    const noTx = steps.filter((s) => nonTx.get(fileOf(s)));
    expect(tx.length).toBeGreaterThanOrEqual(KILLED_RUNS / 2);
    expect(noTx.length).toBeGreaterThanOrEqual(KILLED_RUNS / 2);
    const chosen = [...pick(tx, KILLED_RUNS / 2, random), ...pick(noTx, KILLED_RUNS / 2, random)];
    await trials("killed runner", chosen.length, 2, async (i) => {
      const t = await freshDb();
      const killed = await migrateChild(shop, ["--url", t.url], { DRIZZLE_GUARD_FAULT_AT: chosen[i] });
      expect({ code: killed.code, signal: killed.signal }).toEqual({ code: null, signal: "SIGKILL" });
      const before = await bookkeeping(t);
      expect(before.length).toBeLessThan(cleanRows.length);
      const rerun = await migrateChild(shop, ["--url", t.url]);
      expect(rerun).toMatchObject({ code: 0, out: expect.stringContaining(`applied ${cleanRows.length - before.length} migration(s)`) });
      expect(diffCatalogs(cleanCatalog, await catalogOf(t.url))).toEqual([]);
      expect(await bookkeeping(t)).toEqual(cleanRows);
      await t.drop();
      dbs.splice(dbs.indexOf(t), 1);
    }, (i) => `killed at ${chosen[i]} (${nonTx.get(fileOf(chosen[i])) ? "non-transactional" : "transactional"} file)`);
  });

  it("a lock held by another session: lock timeout, retries, the blocker named, no pile-up", async () => {
    await trial("lock contention", async () => {
      const t = await freshDb();
      const { dir, out } = rewritten(t.url);
      dirs.push(dir);
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
  });
});
