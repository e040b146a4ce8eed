/**
 * Tenant fan-out on PostgreSQL 15, through the CLI, with examples/tenants: 200 schema tenants and 20
 * database tenants, one tenant broken by hand mid-way, reported while the others
 * complete; after the fix a rerun finishes only that tenant; status across tenants; failure policy,
 * canary, hostile schema names; no password in any output or report.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plainProgress, summaryLines, ttyProgress } from "../src/progress.js";
import type { TenantResult } from "../src/runner/tenants.js";
import { createTestDb, PG_URL, type TestDb } from "./helpers/pg.js";
import { generateAll, makeProject, run, type Run } from "./helpers/project.js";

const PASSWORD = "pw-Secret-8421";
const TAGS = ["v1", "v2", "v2_concurrent", "v2_validate", "v3", "v3_concurrent", "v3_validate", "v3_contract", "v4", "v4_concurrent", "v4_contract", "v5", "v5_contract"];
/** The broken tenant fails in v4 (its FK to users needs audit_log.user_id): everything before it is applied. */
const BEFORE_V4 = TAGS.indexOf("v4");
const FK_ERROR = /^\d{14}_v4\.sql:\d+:\d+: \[42703\] column "user_id" referenced in foreign key constraint does not exist/;

/** The URL with a password the server (trust auth) ignores: it must never be shown. */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

const stripTags = (tags: string[]) => tags.map((t) => t.replace(/^\d{14}_/, ""));

function noPassword(r: Run, report?: string): void {
  expect(r.stdout + r.stderr + (report ?? "")).not.toContain(PASSWORD);
}

interface Report {
  totals: { tenants: number; migrated: number; failed: number; not_started: number };
  tenants: Array<{ tenant: string; status: string; applied: string[]; skipped: string[]; duration_ms: number; error: string | null }>;
}

describe("fan-out progress and summary", () => {
  const ok: TenantResult = { tenant: "a", status: "migrated", applied: ["x", "y"], skipped: ["w"], durationMs: 1250 };
  const bad: TenantResult = { tenant: "b", status: "failed", applied: [], skipped: [], durationMs: 300, error: "x.sql:3:1: boom\n  hint: fix it" };
  const idle: TenantResult = { tenant: "c", status: "not-started", applied: [], skipped: [], durationMs: 0 };

  it("on a terminal: a bar with done / failed / running and an ETA; failures printed above it", () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 }) as unknown as NodeJS.WriteStream;
    let out = "";
    (stream as unknown as PassThrough).on("data", (d) => (out += String(d)));
    const p = ttyProgress(3, stream);
    p.onEvent({ type: "start", tenant: "a" });
    p.onEvent({ type: "start", tenant: "b" });
    p.onEvent({ type: "done", result: ok });
    p.onEvent({ type: "done", result: bad });
    p.stop();
    const plain = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    expect(plain).toContain("0/3  done 0  failed 0  running 1");
    expect(plain).toContain("1/3  done 1  failed 0  running 1  ETA ");
    expect(plain).toContain("FAILED b: x.sql:3:1: boom\n  hint: fix it\n");
    expect(plain).toContain("2/3  done 1  failed 1  running 0  ETA ");
  });

  it("otherwise: plain lines, and a summary table", () => {
    const lines: string[] = [];
    const p = plainProgress(3, (l = "") => lines.push(l));
    p.onEvent({ type: "log", tenant: "a", line: "applying x" });
    p.onEvent({ type: "done", result: ok });
    p.onEvent({ type: "done", result: bad });
    expect(lines).toEqual(["  a: applying x", "[1/3] ok a: applied 2, skipped 1 (1.3s)", "[2/3] FAILED b: x.sql:3:1: boom (0.3s)"]);
    expect(summaryLines([ok, bad, idle], 2000)).toEqual([
      "tenant  result       applied  skipped  duration  error",
      "a       migrated     2        1        1.3s",
      "b       failed       0        0        0.3s      x.sql:3:1: boom",
      "c       not-started  0        0        0.0s",
      "3 tenant(s): 1 migrated, 1 failed, 1 not started; 2 migration(s) applied in 2.0s",
    ]);
    expect(summaryLines([ok, bad, idle], 2000, 2).slice(1)).toEqual([
      "b       failed       0        0        0.3s      x.sql:3:1: boom",
      "c       not-started  0        0        0.0s",
      "(1 migrated tenants not listed; --report FILE has every tenant)",
      "3 tenant(s): 1 migrated, 1 failed, 1 not started; 2 migration(s) applied in 2.0s",
    ]);
  });
});

describe.skipIf(!PG_URL)("tenant fan-out on PostgreSQL 15", () => {
  let tenantsDir: string;
  const dbs: TestDb[] = [];

  beforeAll(() => {
    tenantsDir = makeProject("tenants");
    generateAll(tenantsDir);
  }, 120_000);

  afterAll(async () => {
    // Concurrent drops share the server's checkpoints (one at a time, each waits for its own).
    await Promise.all(dbs.map((db) => db.drop()));
  }, 120_000);

  describe("schema per tenant", () => {
    let db: TestDb;
    let url: string;
    beforeAll(async () => {
      db = await createTestDb("fanout_schemas");
      dbs.push(db);
      url = withPassword(db.url);
      const names = Array.from({ length: 200 }, (_, i) => `tenant_${String(i).padStart(3, "0")}`);
      await db.query(names.map((n) => `CREATE SCHEMA "${n}";`).join("\n"));
      // A table created by hand in one tenant, conflicting with v4's audit_log (no user_id column).
      await db.query(`CREATE TABLE "tenant_137"."audit_log" ("id" int); CREATE TABLE "public"."y" ("id" int);`);
    });

    it("200 tenants in one command: the broken one is reported, the other 199 complete", async () => {
      const reportFile = join(tenantsDir, "report-1.json");
      const r = run(tenantsDir, ["migrate", "--url", url, "--schemas", "tenant_%", "--continue-on-error", "--report", reportFile]);
      const text = readFileSync(reportFile, "utf8");
      noPassword(r, text);
      expect(r.status).toBe(1);
      expect(r.stdout.split("\n")[0]).toBe(`migrating 200 tenant(s) schemas tenant_% in ${db.url.replace("@", `:***@`)}, concurrency 4`);
      expect(r.stdout).toContain(`200 tenant(s): 199 migrated, 1 failed, 0 not started; ${199 * TAGS.length + BEFORE_V4} migration(s) applied in `);
      const report: Report = JSON.parse(text);
      expect(report.totals).toEqual({ tenants: 200, migrated: 199, failed: 1, not_started: 0 });
      expect(report.tenants).toHaveLength(200);
      for (const t of report.tenants) {
        if (t.tenant === "tenant_137") {
          expect([t.status, stripTags(t.applied), t.skipped]).toEqual(["failed", TAGS.slice(0, BEFORE_V4), []]);
          expect(t.error).toMatch(FK_ERROR);
        } else {
          expect([t.tenant, t.status, stripTags(t.applied), t.skipped, t.error]).toEqual([t.tenant, "migrated", TAGS, [], null]);
        }
      }
      // Everything is in the tenants' schemas: bookkeeping, tables, FKs within the tenant, enums.
      const rows = await db.query(`select count(*)::int as n from "tenant_042"."__drizzle_migrations"`);
      expect(rows[0].n).toBe(TAGS.length);
      const crossFk = await db.query(
        `select count(*)::int as n from pg_constraint c join pg_class t on t.oid = c.confrelid where c.contype = 'f' and t.relnamespace <> c.connamespace`,
      );
      expect(crossFk[0].n).toBe(0);
      const fks = await db.query(`select count(*)::int as n from pg_constraint where contype = 'f' and connamespace::regnamespace::text like 'tenant_%'`);
      // Four FKs per tenant; tenant_137 stopped after v3, when invoices -> orders still existed instead of audit_log -> users.
      expect(fks[0].n).toBe(200 * 4);
      const enums = await db.query(`select count(*)::int as n from pg_type where typname = 'role' and typnamespace::regnamespace::text like 'tenant_%'`);
      expect(enums[0].n).toBe(200);
      const publicTables = await db.query(`select tablename from pg_tables where schemaname = 'public' order by 1`);
      expect(publicTables.map((x) => x.tablename)).toEqual(["y"]);
      expect(await db.query(`select to_regnamespace('drizzle') as n`)).toEqual([{ n: null }]);
    });

    it("after the fix, a rerun finishes only that tenant; status shows all 200 up to date", async () => {
      await db.query(`DROP TABLE "tenant_137"."audit_log"`);
      const reportFile = join(tenantsDir, "report-2.json");
      const r = run(tenantsDir, ["migrate", "--url", url, "--schemas", "tenant_%", "--report", reportFile]);
      const text = readFileSync(reportFile, "utf8");
      noPassword(r, text);
      expect(r.status).toBe(0);
      const report: Report = JSON.parse(text);
      expect(report.totals).toEqual({ tenants: 200, migrated: 200, failed: 0, not_started: 0 });
      const applied = report.tenants.filter((t) => t.applied.length > 0);
      expect(applied.map((t) => [t.tenant, stripTags(t.applied), stripTags(t.skipped)])).toEqual([["tenant_137", TAGS.slice(BEFORE_V4), TAGS.slice(0, BEFORE_V4)]]);
      expect(report.tenants.every((t) => t.tenant === "tenant_137" || t.skipped.length === TAGS.length)).toBe(true);
      const s = run(tenantsDir, ["status", "--url", url, "--schemas", "tenant_%"]);
      noPassword(s);
      expect(s.status).toBe(0);
      expect(s.stdout).toContain("200 tenant(s): 200 up to date, 0 with pending migrations, 0 with problems");
      expect(s.stdout).toContain(`tenant_137  ${TAGS.length}       0`);
    });

    it("by default no tenant starts after the first failure; --canary stops the rest even with --continue-on-error", async () => {
      await db.query(`CREATE SCHEMA "p_b"; CREATE TABLE "p_b"."audit_log" ("id" int); CREATE SCHEMA "c_b"; CREATE TABLE "c_b"."audit_log" ("id" int);`);
      const r = run(tenantsDir, ["migrate", "--url", url, "--schemas", "p_a,p_b,p_c,p_d", "--concurrency", "1"]);
      noPassword(r);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("4 tenant(s): 1 migrated, 1 failed, 2 not started");
      expect(r.stdout).toMatch(new RegExp(`\\np_b +failed +${BEFORE_V4} +0 +\\d+\\.\\ds +\\d{14}_v4\\.sql:\\d+:\\d+: \\[42703\\]`));
      expect(r.stdout).toMatch(/\np_c +not-started +0 +0 +0\.0s\n/);
      expect(await db.query(`select to_regnamespace('p_c') as n`)).toEqual([{ n: null }]);
      const c = run(tenantsDir, ["migrate", "--url", url, "--schemas", "c_a,c_b,c_c,c_d", "--canary", "2", "--continue-on-error"]);
      expect(c.status).toBe(1);
      expect(c.stdout).toContain("4 tenant(s): 1 migrated, 1 failed, 2 not started");
      expect(c.stdout).toMatch(/\nc_d +not-started/);
      // Plain lines (no TTY): one per finished tenant.
      expect(c.stdout).toMatch(new RegExp(`\\n\\[1/4\\] (ok c_a: applied ${TAGS.length}, skipped 0|FAILED c_b: \\d{14}_v4\\.sql)`));
    });

    it("a hostile schema name is just a strange name", async () => {
      const r = run(tenantsDir, ["migrate", "--url", url, "--schemas", 'x"; drop table y; --,a$$b$dg$c']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`2 tenant(s): 2 migrated, 0 failed, 0 not started; ${2 * TAGS.length} migration(s) applied`);
      const tables = await db.query(`select schemaname, count(*)::int as n from pg_tables where schemaname in ('x"; drop table y; --', 'a$$b$dg$c', 'public') group by 1 order by 1`);
      expect(tables).toEqual([
        { schemaname: "a$$b$dg$c", n: 6 },
        { schemaname: "public", n: 1 },
        { schemaname: 'x"; drop table y; --', n: 6 },
      ]);
    });
  });

  describe("database per tenant", () => {
    const tenants: TestDb[] = [];
    let platform: TestDb;
    beforeAll(async () => {
      for (let i = 0; i < 20; i++) {
        const db = await createTestDb(`fanout_db${String(i).padStart(2, "0")}`);
        dbs.push(db);
        tenants.push(db);
      }
      platform = await createTestDb("fanout_platform");
      dbs.push(platform);
      await tenants[7].query(`CREATE TABLE "audit_log" ("id" int)`);
      await platform.query(`CREATE TABLE tenants (name text, url text)`);
      for (const [i, t] of tenants.entries()) await platform.query(`INSERT INTO tenants VALUES ($1, $2)`, [`shop-${i}`, withPassword(t.url)]);
    }, 120_000);

    it("20 databases from a file: the broken one is reported, the other 19 complete; a rerun from --tenants-query finishes only it", async () => {
      const file = join(tenantsDir, "tenants.txt");
      writeFileSync(file, `# one per line\n${tenants.map((t) => withPassword(t.url)).join("\n")}\n`);
      const reportFile = join(tenantsDir, "report-db.json");
      const r = run(tenantsDir, ["migrate", "--tenants", "tenants.txt", "--continue-on-error", "--report", reportFile]);
      const text = readFileSync(reportFile, "utf8");
      noPassword(r, text);
      expect(r.status).toBe(1);
      const report: Report = JSON.parse(text);
      expect(report.totals).toEqual({ tenants: 20, migrated: 19, failed: 1, not_started: 0 });
      expect(report.tenants.map((t) => t.tenant)).toEqual(tenants.map((t) => t.name));
      const broken = report.tenants[7];
      expect([broken.status, stripTags(broken.applied)]).toEqual(["failed", TAGS.slice(0, BEFORE_V4)]);
      expect(broken.error).toMatch(FK_ERROR);
      for (const t of report.tenants.filter((_, i) => i !== 7)) expect([t.status, stripTags(t.applied)]).toEqual(["migrated", TAGS]);
      expect(await tenants[3].query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).toEqual([{ n: TAGS.length }]);

      await tenants[7].query(`DROP TABLE "audit_log"`);
      const reportFile2 = join(tenantsDir, "report-db-2.json");
      const again = run(tenantsDir, ["migrate", "--url", withPassword(platform.url), "--tenants-query", "select name, url from tenants order by name", "--report", reportFile2]);
      const text2 = readFileSync(reportFile2, "utf8");
      noPassword(again, text2);
      expect(again.status).toBe(0);
      const report2: Report = JSON.parse(text2);
      expect(report2.totals).toEqual({ tenants: 20, migrated: 20, failed: 0, not_started: 0 });
      expect(report2.tenants.filter((t) => t.applied.length).map((t) => [t.tenant, stripTags(t.applied)])).toEqual([["shop-7", TAGS.slice(BEFORE_V4)]]);
    });

    it("status across the databases (JSON tenants file)", async () => {
      const file = join(tenantsDir, "tenants.json");
      writeFileSync(file, JSON.stringify(tenants.map((t, i) => ({ name: `shop-${i}`, url: withPassword(t.url) }))));
      const s = run(tenantsDir, ["status", "--tenants", "tenants.json"]);
      noPassword(s);
      expect(s.status).toBe(0);
      expect(s.stdout).toContain("20 tenant(s): 20 up to date, 0 with pending migrations, 0 with problems");
      // One unreachable tenant is a problem, reported without its password.
      writeFileSync(file, JSON.stringify([{ name: "gone", url: withPassword(tenants[0].url).replace(tenants[0].name, "no_such_db_fanout") }]));
      const bad = run(tenantsDir, ["status", "--tenants", "tenants.json"]);
      noPassword(bad);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/\ngone +0 +0 +cannot connect to postgres:\/\/postgres:\*\*\*@/);
    });

    it("bad tenants files are input errors (exit 2) with their position", () => {
      writeFileSync(join(tenantsDir, "bad.txt"), `${withPassword(tenants[0].url)}\n\n  mysql://nope\n`);
      const r = run(tenantsDir, ["migrate", "--tenants", "bad.txt"]);
      noPassword(r);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("error: bad.txt:3:3: not a postgres:// connection string");
      const both = run(tenantsDir, ["migrate", "--tenants", "bad.txt", "--schemas", "a"]);
      expect(both.status).toBe(2);
      expect(both.stderr).toContain("--tenants and --schemas cannot be combined");
      const report = run(tenantsDir, ["migrate", "--tenants", "tenants.json", "--report", join(tenantsDir, "missing", "r.json")]);
      expect([report.status, report.stderr.split("\n")[0]]).toEqual([2, `error: --report needs a file in an existing folder: ${join(tenantsDir, "missing", "r.json")}`]);
    });
  });
});
