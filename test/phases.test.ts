/**
 * Phased expand/contract on examples/phases: v1 creates the tables (they then get rows); v2 makes
 * an existing column NOT NULL, adds a UNIQUE constraint, a PRIMARY KEY, a foreign key, a NOT NULL
 * column with a volatile default and a plain one, changes an index in place, adds an enum value and
 * widens a varchar; v3 changes integer to bigint (expand/contract: new column, sync trigger,
 * backfill, swap), text to varchar(200) of an indexed column (BLOCKED, approved), varchar to text
 * (no rewrite) and drops a column. Each version goes through `drizzle-guard generate`; the phase
 * files are applied with rows in the tables (and rows written between the phases), and the catalog
 * must equal `drizzle-kit push` of the final schema into an empty database.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffCatalogs, readCatalog, type Catalog } from "../src/catalog/catalog.js";
import { connectPg, openPglite, type Driver } from "../src/runner/driver.js";
import { migrate } from "../src/runner/migrate.js";
import { readFolder } from "../src/folder/folder.js";
import { findForbidden } from "../src/lint/forbidden.js";
import { parseSql } from "../src/sql/parse.js";
import { applyFile } from "./helpers/apply.js";
import { createTestDb, PG_URL } from "./helpers/pg.js";
import { DRIZZLE_KIT, makeProject, ROOT, run, useSchema } from "./helpers/project.js";
import { PHASE_RULES, squawk } from "./helpers/squawk.js";
import { rollback } from "../src/runner/rollback.js";
import phasesConfig from "../examples/phases/drizzle-guard.config.js";
import { isSafeTypeChange, parseTypeText } from "../transforms/expand-contract-template.js";

const VERSIONS = ["v1", "v2", "v3"];
const approvals = phasesConfig.approve;

let dir: string;
let out: string;
/** The folder as it was after v1 only (what production had before the change). */
let outV1: string;
const generated: string[][] = [];

beforeAll(() => {
  dir = makeProject("phases");
  out = join(dir, "drizzle");
  outV1 = join(mkdtempSync(join(tmpdir(), "dg-phases-v1-")), "drizzle");
  for (const v of VERSIONS) {
    useSchema(dir, v);
    const before = new Set(existsSync(out) ? readdirSync(out) : []);
    const r = run(dir, ["generate", "--name", v]);
    if (r.status !== 0) throw new Error(`generate ${v} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    generated.push(readdirSync(out).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql") && !before.has(f)).sort());
    if (v === "v1") cpSync(out, outV1, { recursive: true });
  }
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(outV1, ".."), { recursive: true, force: true });
});

const read = (f: string) => readFileSync(join(out, f), "utf8");
const strip = (files: string[]) => files.map((f) => f.replace(/^\d{14}_/, ""));

describe("drizzle-guard generate splits unsafe changes into phase files", () => {
  it("v1 (new tables) stays one file; v2 gets expand, concurrent, backfill, validate, contract; v3 expand, backfill, validate, contract", () => {
    expect(strip(generated[0])).toEqual(["v1.sql"]);
    expect(strip(generated[1])).toEqual(["v2.sql", "v2_concurrent.sql", "v2_backfill.sql", "v2_validate.sql", "v2_contract.sql"]);
    expect(strip(generated[2])).toEqual(["v3.sql", "v3_backfill.sql", "v3_validate.sql", "v3_contract.sql"]);
    // Journal order is the phase order.
    const tags = readFolder(out).journal.entries.map((e) => e.tag.replace(/^\d{14}_/, ""));
    expect(tags).toEqual(["v1", "v2", "v2_concurrent", "v2_backfill", "v2_validate", "v2_contract", "v3", "v3_backfill", "v3_validate", "v3_contract"]);
  });

  it("each phase file says its phase, and the non-transactional ones are marked", () => {
    const byName = (name: string) => read([...generated[1], ...generated[2]].find((f) => f.endsWith(`_${name}.sql`))!);
    expect(byName("v2").startsWith("-- drizzle-guard: phase=expand\n")).toBe(true);
    expect(byName("v2_concurrent").startsWith("-- drizzle-guard: transaction=off\n")).toBe(true);
    expect(byName("v2_backfill").startsWith("-- drizzle-guard: transaction=off\n-- drizzle-guard: phase=backfill\n")).toBe(true);
    expect(byName("v2_validate").startsWith("-- drizzle-guard: transaction=off\n-- drizzle-guard: phase=validate\n")).toBe(true);
    expect(byName("v2_contract").startsWith("-- drizzle-guard: phase=contract\n")).toBe(true);
  });

  it("places each statement where the issue asks", () => {
    const f = (name: string) => read(generated[1].find((x) => x.endsWith(`_${name}.sql`))!);
    // SET NOT NULL: in the validate file (no transaction), after a NOT VALID check and its VALIDATE;
    // the helper is dropped in the contract file.
    expect(f("v2")).not.toContain(`"email" SET NOT NULL`);
    expect(f("v2_validate")).toContain(
      `ALTER TABLE "accounts" ADD CONSTRAINT "accounts_email_dg_not_null" CHECK ("email" IS NOT NULL) NOT VALID;\nEND IF;\nEND $$;--> statement-breakpoint\n` +
        `ALTER TABLE "accounts" VALIDATE CONSTRAINT "accounts_email_dg_not_null";--> statement-breakpoint\n` +
        `ALTER TABLE "accounts" ALTER COLUMN "email" SET NOT NULL;`,
    );
    expect(f("v2_contract")).toContain(`ALTER TABLE "accounts" DROP CONSTRAINT IF EXISTS "accounts_email_dg_not_null";`);
    // UNIQUE / PRIMARY KEY: unique index built concurrently, attached with USING INDEX.
    expect(f("v2_concurrent")).toContain(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "accounts_code_unique" ON "accounts" USING btree ("code");`);
    expect(f("v2_concurrent")).toContain(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "sessions_pkey" ON "sessions" USING btree ("id");`);
    expect(f("v2_validate")).toContain(`ALTER TABLE "accounts" ADD CONSTRAINT "accounts_code_unique" UNIQUE USING INDEX "accounts_code_unique";`);
    expect(f("v2_validate")).toContain(`ALTER TABLE "sessions" ADD CONSTRAINT "sessions_pkey" PRIMARY KEY USING INDEX "sessions_pkey";`);
    // Volatile default: bare column + default now, batched backfill (config: 500 rows), NOT NULL path.
    expect(f("v2")).toContain(`ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "public_id" uuid;--> statement-breakpoint\nALTER TABLE "accounts" ALTER COLUMN "public_id" SET DEFAULT gen_random_uuid();`);
    expect(f("v2_backfill")).toContain(`UPDATE "accounts" SET "public_id" = gen_random_uuid() WHERE "id" >= batch_start AND "id" <= batch_end AND "public_id" IS NULL;`);
    expect(f("v2_backfill")).toContain("LIMIT 500");
    expect(f("v2_backfill")).not.toMatch(/ALTER|CREATE|DROP/);
    // A constant default is left alone (PostgreSQL 11+ adds it without a rewrite).
    expect(f("v2")).toContain(`ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "tier" integer DEFAULT 1 NOT NULL;`);
    // The index changed in place: new one first, old one dropped, new one renamed.
    const c = f("v2_concurrent");
    const build = c.indexOf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "accounts_name_idx_dg_new" ON "accounts" USING btree ("name","id");`);
    const drop = c.indexOf(`DROP INDEX CONCURRENTLY IF EXISTS "accounts_name_idx";`);
    const rename = c.indexOf(`ALTER INDEX "accounts_name_idx_dg_new" RENAME TO "accounts_name_idx";`);
    expect(build).toBeGreaterThan(0);
    expect(drop).toBeGreaterThan(build);
    expect(rename).toBeGreaterThan(drop);
    // Enum value: its own non-transactional file, IF NOT EXISTS, explicit position.
    expect(c).toContain(`ALTER TYPE "public"."status" ADD VALUE IF NOT EXISTS 'suspended' BEFORE 'closed';`);
    // v3: integer -> bigint through expand/contract: the new column (final default) and its sync
    // trigger in the expand file, the batched backfill, NOT NULL through the check path, the swap.
    const [v3, v3Backfill, v3Validate, v3Contract] = generated[2].map(read);
    expect(v3).toContain(
      `ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "score_dg_new" bigint;--> statement-breakpoint\n` +
        `ALTER TABLE "accounts" ALTER COLUMN "score_dg_new" SET DEFAULT 0;--> statement-breakpoint\n` +
        `CREATE OR REPLACE FUNCTION "accounts_score_dg_sync"() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\tNEW."score_dg_new" := NEW."score"::bigint;\n\tRETURN NEW;\nEND\n$$;`,
    );
    expect(v3).toContain(`CREATE TRIGGER "accounts_score_dg_sync" BEFORE INSERT OR UPDATE ON "accounts" FOR EACH ROW EXECUTE FUNCTION "accounts_score_dg_sync"();`);
    expect(v3).not.toContain(`"score" SET DATA TYPE`);
    expect(v3Backfill).toContain(`UPDATE "accounts" SET "score_dg_new" = "score"::bigint WHERE "id" >= batch_start AND "id" <= batch_end AND "score_dg_new" IS NULL;`);
    expect(v3Backfill).toContain("LIMIT 500");
    expect(v3Validate).toContain(`ALTER TABLE "accounts" VALIDATE CONSTRAINT "accounts_score_dg_new_dg_not_null";--> statement-breakpoint\nALTER TABLE "accounts" ALTER COLUMN "score_dg_new" SET NOT NULL;`);
    expect(v3Contract).toContain(
      `ALTER TABLE "accounts" DROP CONSTRAINT IF EXISTS "accounts_score_dg_new_dg_not_null";--> statement-breakpoint\n` +
        `DROP TRIGGER IF EXISTS "accounts_score_dg_sync" ON "accounts";--> statement-breakpoint\n` +
        `DROP FUNCTION IF EXISTS "accounts_score_dg_sync"();--> statement-breakpoint\n` +
        `DO $$ BEGIN\nIF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('"accounts"') AND attname = 'score_dg_new' AND NOT attisdropped) THEN\n` +
        `ALTER TABLE "accounts" DROP COLUMN "score";\nALTER TABLE "accounts" RENAME COLUMN "score_dg_new" TO "score";\nEND IF;\nEND $$;`,
    );
    expect(v3Contract).toContain(`ALTER TABLE "accounts" DROP COLUMN IF EXISTS "legacy";`);
    // text -> varchar(200) of a column in an index: BLOCKED, with the reason in its template.
    expect(v3).toContain(`-- drizzle-guard: table-rewrite "accounts"."name" text -> varchar(200)\n`);
    expect(v3).toContain(`-- drizzle-guard does not write the expand/contract files for it: the column is in index "accounts_name_idx" (dropping the old column would drop it).\n`);
    // varchar -> text needs no rewrite: no template.
    expect(v3.match(/^-- drizzle-guard: table-rewrite/gm)).toHaveLength(1);
  });

  it("the rewriting type change is BLOCKED until approved; approved in the config it passes", () => {
    const bare = mkdtempSync(join(tmpdir(), "dg-phases-lint-"));
    try {
      const file = join(out, generated[2][0]);
      const blocked = run(bare, ["lint", file]);
      expect(blocked.status).toBe(1);
      expect(blocked.stdout).toContain("ban-table-rewrite (public.accounts.name)");
      expect(blocked.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: BLOCKED (ban-table-rewrite)");
      const approved = run(dir, ["lint", join("drizzle", generated[2][0])]);
      expect(approved.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
      expect(approved.status).toBe(0);
      // The expand/contract files of the other type change need no approval: the swap's RENAME is
      // of drizzle-guard's helper column, which clients never name.
      const others = run(bare, ["lint", ...generated[2].slice(1).map((f) => join(out, f))]);
      expect(others.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
      expect(others.stdout).toContain("swap-column");
      expect(others.stdout).toContain("drop-trigger");
      // `check` passes on the whole folder (rewritten form, down files guarded, lint with the config's approval).
      const check = run(dir, ["check"]);
      expect(check.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
      expect(check.status).toBe(0);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it("squawk reports none of the issue's rules on the rewritten files, and does on drizzle-kit's own output", () => {
    const judge = (file: string, inTransaction: boolean) => squawk(file, inTransaction).filter((v) => PHASE_RULES.includes(v.rule_name));
    const findings = readdirSync(out)
      .filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql"))
      .flatMap((f) => judge(join(out, f), !read(f).startsWith("-- drizzle-guard: transaction=off")).map((v) => `${f}:${v.line} ${v.rule_name}`));
    expect(findings).toEqual([]);
    const raw = new Set(judge(join(ROOT, "fixtures", "_pipeline", "phases-v2.input.sql"), true).map((v) => v.rule_name));
    for (const rule of ["adding-not-nullable-field", "disallowed-unique-constraint", "adding-field-with-default", "adding-foreign-key-constraint", "require-lock-timeout"]) {
      expect(raw.has(rule), rule).toBe(true);
    }
  });

  it("every file applies twice in a row (PGlite)", async () => {
    const db = await openPglite();
    try {
      for (const e of readFolder(out).journal.entries) {
        const text = read(`${e.tag}.sql`);
        await applyFile(db, text, `${e.tag}.sql`);
        await applyFile(db, text, `${e.tag}.sql`);
      }
    } finally {
      await db.close();
    }
  });
});

/** A copy of the migrations folder whose journal ends at `tag` (same files, names and `when`). */
/** Applies the first `count` entries of `folder` (a copy whose journal ends there); returns the tags applied now. */
async function migratePrefix(driver: Driver, folder: string, count: number, approve: typeof approvals): Promise<string[]> {
  const copy = join(mkdtempSync(join(tmpdir(), "dg-phases-upto-")), "drizzle");
  cpSync(folder, copy, { recursive: true });
  const path = join(copy, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(path, "utf8"));
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(path, JSON.stringify(journal, null, 2));
  try {
    return (await migrate({ driver, out: copy, approvals: approve })).applied.map((t) => t.replace(/^\d{14}_/, ""));
  } finally {
    rmSync(join(copy, ".."), { recursive: true, force: true });
  }
}

/** Applies the folder up to `tag`; returns the tags applied now. */
async function migrateTo(driver: Driver, tag: string): Promise<string[]> {
  const end = readFolder(out).journal.entries.findIndex((e) => e.tag.replace(/^\d{14}_/, "") === tag);
  expect(end).toBeGreaterThanOrEqual(0);
  return migratePrefix(driver, out, end + 1, approvals);
}

/** What the application writes while a phase is deployed: new rows and changed scores. */
async function writeRows(driver: Driver, round: number): Promise<void> {
  await driver.query(
    `insert into accounts (email, name, code, score) select 'r${round}-' || i || '@example.com', 'r${round}-' || i, 'r${round}-' || i, i * ${round} from generate_series(1, 20) i`,
  );
  await driver.query(`update accounts set score = id * ${round + 10} where id % ${round + 6} = 0`);
}

const scores = async (driver: Driver) =>
  Object.fromEntries((await driver.query(`select id, score::text as score from accounts order by id`)).rows.map((r) => [r.id, r.score]));

/**
 * v1, rows (some emails NULL), then everything else, with a failure half-way that a rerun finishes;
 * v3's expand/contract type change with rows written after each of its phases.
 */
async function phasedWithRows(driver: Driver): Promise<void> {
  expect((await migrate({ driver, out: outV1 })).applied).toHaveLength(1);
  await driver.query(
    `insert into accounts (email, name, code) select case when i > 2000 and i % 10 = 0 then null else 'a' || i || '@example.com' end, 'n' || i, 'c' || i from generate_series(1, 3000) i`,
  );
  await driver.query(`insert into sessions (id, account_id, token) select i, i, 't' || i from generate_series(1, 2000) i`);
  // Rows whose email is NULL make VALIDATE fail: the phases before it stay applied (the backfill
  // finished), and so does the helper check added just before (the file has no transaction).
  await expect(migrate({ driver, out, approvals })).rejects.toThrow(/accounts_email_dg_not_null/);
  const tags = (await driver.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).rows[0].n;
  expect(tags).toBe(4); // v1, v2, v2_concurrent, v2_backfill
  const filled = (await driver.query(`select count(*)::int as n from accounts where public_id is not null`)).rows[0].n;
  expect(filled).toBe(3000);
  // Fix the data, run again: only what is left runs.
  await driver.query(`update accounts set email = 'fixed-' || id || '@example.com' where email is null`);
  expect(await migrateTo(driver, "v3")).toEqual(["v2_validate", "v2_contract", "v3"]);
  const rows = (await driver.query(`select count(*)::int as n, count(distinct public_id)::int as ids, count(*) filter (where email is null)::int as nulls from accounts`)).rows[0];
  expect(rows).toEqual({ n: 3000, ids: 3000, nulls: 0 });

  // v3 expand: the trigger keeps the new column in step with every row written from now on; the
  // rows before it wait for the backfill.
  const synced = async () =>
    (await driver.query(`select count(*) filter (where score_dg_new is null)::int as waiting, count(*) filter (where score_dg_new <> score)::int as wrong from accounts`)).rows[0];
  await writeRows(driver, 1);
  const afterExpand = await synced();
  expect(afterExpand.wrong).toBe(0);
  expect(afterExpand.waiting).toBe(3000 - Math.floor(3000 / 7));
  expect(await migrateTo(driver, "v3_backfill")).toEqual(["v3_backfill"]);
  expect(await synced()).toEqual({ waiting: 0, wrong: 0 });
  await writeRows(driver, 2);
  expect(await migrateTo(driver, "v3_validate")).toEqual(["v3_validate"]);
  await writeRows(driver, 3);
  expect(await synced()).toEqual({ waiting: 0, wrong: 0 });
  const before = await scores(driver);
  expect(Object.keys(before)).toHaveLength(3060);

  // Contract: the new column takes the old one's name, with every value written before it.
  expect((await migrate({ driver, out, approvals })).applied.map((t) => t.replace(/^\d{14}_/, ""))).toEqual(["v3_contract"]);
  expect(await scores(driver)).toEqual(before);
  const type = (await driver.query(`select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'accounts'::regclass and attname = 'score'`)).rows[0].t;
  expect(type).toBe("bigint");
  await driver.query(`update accounts set score = 5000000000 where id = 1`);
  await driver.query(`insert into accounts (email, name, code) values ('late@example.com', 'late', 'late')`);
  expect((await driver.query(`select score::text as s from accounts where id = 1 or code = 'late' order by id`)).rows).toEqual([{ s: "5000000000" }, { s: "0" }]);
}

function expectNoLeftovers(c: Catalog): void {
  expect(Object.keys(c.constraints).filter((k) => k.includes("_dg_"))).toEqual([]);
  expect(Object.values(c.tables).flatMap((t) => Object.keys(t.columns)).filter((k) => k.includes("_dg_"))).toEqual([]);
  expect(c.triggers).toEqual({});
  expect(c.functions).toEqual({});
  expect(Object.keys(c.indexes).filter((k) => k.includes("_dg_"))).toEqual([]);
  expect(Object.entries(c.indexes).filter(([, i]) => !i.valid)).toEqual([]);
}

/** drizzle-kit push of a project's last schema version (default: the phases example's v3). */
function push(args: string[], project = dir, version = "v3"): void {
  useSchema(project, version);
  const r = spawnSync(process.execPath, [DRIZZLE_KIT, "push", "--force", ...args], { cwd: project, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`drizzle-kit push failed:\n${r.stdout}\n${r.stderr}`);
}

describe("phased files applied with rows equal drizzle-kit push of the final schema", () => {
  it("PGlite", async () => {
    const db = await openPglite();
    const pglite = join(dir, ".pglite");
    try {
      await phasedWithRows(db);
      rmSync(pglite, { recursive: true, force: true });
      push([]);
      const pushed = await openPglite(pglite);
      try {
        const [mine, theirs] = [await readCatalog(db), await readCatalog(pushed)];
        expectNoLeftovers(mine);
        expect(diffCatalogs(theirs, mine)).toEqual([]);
        expect(Object.keys(mine.tables).sort()).toEqual(["public.accounts", "public.sessions"]);
      } finally {
        await pushed.close();
      }
    } finally {
      await db.close();
    }
  });

  it.skipIf(!PG_URL)("PostgreSQL 15", async () => {
    const [a, b] = [await createTestDb("phases"), await createTestDb("push")];
    const [da, db] = [await connectPg(a.url), await connectPg(b.url)];
    try {
      await phasedWithRows(da);
      push(["--dialect", "postgresql", "--schema", "./schema.ts", "--url", b.url]);
      const [mine, theirs] = [await readCatalog(da), await readCatalog(db)];
      expectNoLeftovers(mine);
      expect(diffCatalogs(theirs, mine)).toEqual([]);
      expect(mine.constraints["public.sessions.sessions_account_id_accounts_id_fk"].validated).toBe(true);
    } finally {
      await da.close();
      await db.close();
      await a.drop();
      await b.drop();
    }
  });

  it("migrate --phase expand stops before the first contract file", async () => {
    const db = await openPglite();
    try {
      const r = await migrate({ driver: db, out, approvals, phase: "expand" });
      expect(r.applied.map((t) => t.replace(/^\d{14}_/, ""))).toEqual(["v1", "v2", "v2_concurrent", "v2_backfill", "v2_validate"]);
    } finally {
      await db.close();
    }
  });
});

describe("a NOT NULL column without a default (fixtures/_pipeline/required)", () => {
  const backfill = readFileSync(join(ROOT, "fixtures", "_pipeline", "required.new.2.sql"), "utf8");
  const blocked = (text: string) => findForbidden(parseSql(text, "backfill.sql")).filter((f) => !f.approved).map((f) => `${f.rule} ${f.target}`);

  it("gets the whole path, with a backfill that is BLOCKED until someone writes the value", () => {
    expect(blocked(backfill)).toEqual(["ban-unfilled-backfill public.accounts.country"]);
  });

  it("passes once the value is written and the directive removed", () => {
    const filled = backfill
      .replace(/^-- drizzle-guard: backfill-value .*\n/m, "")
      .replace(`SET "country" = NULL WHERE`, `SET "country" = 'unknown' WHERE`);
    expect(filled).not.toBe(backfill);
    expect(blocked(filled)).toEqual([]);
  });
});

/**
 * isSafeTypeChange against PostgreSQL itself: a table rewrite gives the table a new relfilenode.
 * Each pair is changed on a table with a row; the session TimeZone is not UTC (a migration cannot
 * count on it), so timestamp -> timestamptz rewrites.
 */
describe("the type changes left alone are the ones PostgreSQL makes without a rewrite", () => {
  const CASES: Array<[string, string, boolean]> = [
    ["varchar(10)", "varchar(20)", true], ["varchar(10)", "varchar", true], ["varchar(10)", "text", true], ["varchar", "varchar(10)", false],
    ["varchar(20)", "varchar(10)", false], ["text", "varchar", true], ["text", "varchar(100)", false], ["varchar(10)", "char(10)", false],
    ["char(5)", "char(10)", false], ["char(5)", "text", false], ["numeric(10, 2)", "numeric(12, 2)", true], ["numeric(10, 2)", "numeric", true],
    ["numeric(10, 2)", "numeric(12, 3)", false], ["numeric", "numeric(12, 2)", false], ["varbit(5)", "varbit(10)", true], ["varbit(5)", "varbit(3)", false],
    ["bit(4)", "varbit", true], ["bit(4)", "varbit(10)", false], ["cidr", "inet", true], ["xml", "text", true], ["xml", "varchar", true],
    ["timestamp(3)", "timestamp(6)", true], ["timestamp(3)", "timestamp", true], ["timestamp(6)", "timestamp(3)", false],
    ["timestamptz(3)", "timestamptz", true], ["time(2)", "time(4)", true], ["timetz(2)", "timetz", true], ["interval(3)", "interval", true],
    ["timestamp", "timestamptz", false], ["timestamptz", "timestamp", false], ["integer", "bigint", false], ["smallint", "integer", false],
    ["text", "integer", false], ["json", "jsonb", false], ["varchar(10)[]", "varchar(20)[]", false], ["text[]", "varchar[]", false], ["text[]", "text[]", true],
  ];
  const values: Record<string, string> = { cidr: "'10.0.0.0/8'", xml: "'<a/>'", bit: "B'1010'", varbit: "B'10'", json: `'{}'`, time: "'10:00'", timetz: "'10:00+01'", interval: "'1 day'" };
  const valueOf = (type: string) =>
    type.endsWith("[]") ? "'{1}'" : (values[type.replace(/\(.*$/, "")] ?? (/^(timestamp|timestamptz)/.test(type) ? "'2020-01-01'" : /int|numeric/.test(type) ? "1" : "'1'"));

  it("isSafeTypeChange says what the cases say", () => {
    for (const [from, to, safe] of CASES) expect(isSafeTypeChange(parseTypeText(from)!, parseTypeText(to)!), `${from} -> ${to}`).toBe(safe);
  });

  async function probe(driver: Driver): Promise<string[]> {
    await driver.query(`set timezone = 'America/New_York'`);
    const wrong: string[] = [];
    for (const [k, [from, to, safe]] of CASES.entries()) {
      const using = /^(text|json)/.test(from) && /int|jsonb/.test(to) ? ` using c::${to}` : "";
      await driver.query(`create table probe_${k} (c ${from})`);
      await driver.query(`insert into probe_${k} values (${valueOf(from)})`);
      const node = async () => (await driver.query(`select relfilenode::text as n from pg_class where oid = 'probe_${k}'::regclass`)).rows[0].n;
      const before = await node();
      await driver.query(`alter table probe_${k} alter column c type ${to}${using}`);
      if ((before === (await node())) !== safe) wrong.push(`${from} -> ${to}: ${safe ? "rewrote" : "no rewrite"}`);
    }
    return wrong;
  }

  it("PGlite", async () => {
    const db = await openPglite();
    try {
      expect(await probe(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it.skipIf(!PG_URL)("PostgreSQL 15", async () => {
    const a = await createTestDb("types");
    const db = await connectPg(a.url);
    try {
      expect(await probe(db)).toEqual([]);
    } finally {
      await db.close();
      await a.drop();
    }
  });
});

/**
 * Every kind of type change (test/projects/types): four through expand/contract (integer -> bigint
 * NOT NULL with a default, integer -> numeric nullable, enum -> enum with drizzle-kit's USING,
 * timestamp -> timestamptz), three BLOCKED (unique, indexed, no primary key: approved here to
 * apply them), two without a rewrite. Applied with rows written between the phases; the catalog
 * equals drizzle-kit push of v2; the rollback history holds.
 */
describe("every kind of type change, applied with rows (test/projects/types)", () => {
  let typesDir: string;
  let typesOut: string;
  const typeApprovals = ["code", "label"].map((c) => ({ rule: "ban-table-rewrite", target: `public.items.${c}`, reason: "test" }));
  typeApprovals.push({ rule: "ban-table-rewrite", target: "public.logs.n", reason: "test" });
  const tags = () => readFolder(typesOut).journal.entries.map((e) => e.tag);

  beforeAll(() => {
    typesDir = makeProject("types", join(ROOT, "test", "projects"));
    // The same drizzle-kit config as the phases example.
    cpSync(join(ROOT, "examples", "phases", "drizzle.config.ts"), join(typesDir, "drizzle.config.ts"));
    typesOut = join(typesDir, "drizzle");
    for (const v of ["v1", "v2"]) {
      useSchema(typesDir, v);
      const r = run(typesDir, ["generate", "--name", v]);
      if (r.status !== 0) throw new Error(`generate ${v} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
  }, 120_000);
  afterAll(() => rmSync(typesDir, { recursive: true, force: true }));

  it("four columns go through expand/contract, three are BLOCKED with their reason, two are left alone", () => {
    expect(tags().map((t) => t.replace(/^\d{14}_/, ""))).toEqual(["v1", "v2", "v2_backfill", "v2_validate", "v2_contract"]);
    const expand = readFileSync(join(typesOut, `${tags()[1]}.sql`), "utf8");
    for (const c of ["qty", "amount", "kind", "seen_at"]) expect(expand, c).toContain(`ADD COLUMN IF NOT EXISTS "${c}_dg_new"`);
    expect(expand).toContain(`NEW."kind_dg_new" := NEW."kind"::text::"public"."kind2";`);
    const reasons = [...expand.matchAll(/^-- drizzle-guard does not write the expand\/contract files for it: (.*)$/gm)].map((m) => m[1]);
    expect(reasons).toEqual([
      "the column is in a unique constraint.",
      `the column is in index "items_label_idx" (dropping the old column would drop it).`,
      "the table has no one-column primary key to batch the backfill by.",
    ]);
    expect(expand).toContain(`ALTER TABLE "items" ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);`);
    expect(expand).toContain(`ALTER TABLE "items" ALTER COLUMN "note" SET DATA TYPE varchar(40);`);
    const blocked = run(typesDir, ["lint", "drizzle"]);
    expect(blocked.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: BLOCKED (ban-table-rewrite)");
    const findings = tags().flatMap((t) => {
      const file = join(typesOut, `${t}.sql`);
      const inTransaction = !readFileSync(file, "utf8").startsWith("-- drizzle-guard: transaction=off");
      return squawk(file, inTransaction).filter((v) => PHASE_RULES.includes(v.rule_name)).map((v) => `${t}:${v.line} ${v.rule_name}`);
    });
    expect(findings).toEqual([]);
  });

  /** Applies the first `k` entries of the folder. */
  const upToTag = (driver: Driver, k: number) => migratePrefix(driver, typesOut, k, typeApprovals);

  async function withRows(driver: Driver): Promise<void> {
    await driver.query(`set timezone = 'UTC'`);
    await upToTag(driver, 1);
    await driver.query(
      `insert into items (qty, code, label, amount, kind, seen_at) select i, 'c' || i, 'l' || i, case when i % 3 = 0 then null else i * 10 end, case when i % 2 = 0 then 'b' else 'a' end::kind, timestamp '2020-01-01' + i * interval '1 hour' from generate_series(1, 1200) i`,
    );
    await driver.query(`insert into logs select i, 'm' || i from generate_series(1, 50) i`);
    const write = async (round: number) => {
      await driver.query(`insert into items (qty, amount, kind, seen_at) select ${round} * 1000 + i, i, 'b', timestamp '2021-06-01 12:00' from generate_series(1, 10) i`);
      await driver.query(`update items set qty = qty + ${round}, amount = coalesce(amount, 0) + ${round}, kind = 'b', seen_at = seen_at + interval '1 day' where id % ${round + 4} = 0`);
    };
    const values = async (sql: string) => (await driver.query(sql)).rows.map((r) => JSON.stringify(r));
    const current = `select id, qty::text, amount::numeric(12, 2)::text as amount, kind::text, to_char(seen_at, 'YYYY-MM-DD HH24:MI') as seen_at from items order by id`;
    for (let k = 2; k <= 4; k++) {
      await upToTag(driver, k);
      await write(k);
    }
    const before = await values(current);
    await upToTag(driver, 5);
    expect(await values(current)).toEqual(before);
    const types = (await driver.query(`select attname, format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'items'::regclass and attname in ('qty', 'amount', 'kind', 'seen_at') order by attname`)).rows;
    expect(types).toEqual([
      { attname: "amount", t: "numeric(12,2)" },
      { attname: "kind", t: "kind2" },
      { attname: "qty", t: "bigint" },
      { attname: "seen_at", t: "timestamp with time zone" },
    ]);
  }

  it("PGlite: phases with rows, then the catalog of drizzle-kit push, then rollback entry by entry", async () => {
    const db = await openPglite();
    const pglite = join(typesDir, ".pglite");
    try {
      await withRows(db);
      rmSync(pglite, { recursive: true, force: true });
      push([], typesDir, "v2");
      const pushed = await openPglite(pglite);
      try {
        const mine = await readCatalog(db);
        expectNoLeftovers(mine);
        expect(diffCatalogs(await readCatalog(pushed), mine)).toEqual([]);
      } finally {
        await pushed.close();
      }
    } finally {
      await db.close();
    }
    // Rollback, one entry at a time, gives the catalog before each entry; the contract's down file
    // stops without --force (casting numeric and timestamptz back can change values).
    const fresh = await openPglite();
    try {
      const catalogs = [await readCatalog(fresh)];
      for (let k = 1; k <= 5; k++) {
        await upToTag(fresh, k);
        catalogs.push(await readCatalog(fresh));
      }
      const stop = await rollback({ driver: fresh, out: typesOut, steps: 1 }).catch((e) => e);
      expect(stop.message).toContain("IRREVERSIBLE: public.items.seen_at changed type from timestamp to timestamp with time zone");
      for (let k = 5; k >= 1; k--) {
        expect((await rollback({ driver: fresh, out: typesOut, steps: 1, force: true })).rolledBack).toEqual([tags()[k - 1]]);
        expect(diffCatalogs(catalogs[k - 1], await readCatalog(fresh)), `before ${tags()[k - 1]}`).toEqual([]);
      }
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it.skipIf(!PG_URL)("PostgreSQL 15: phases with rows, then the catalog of drizzle-kit push", async () => {
    const [a, b] = [await createTestDb("types"), await createTestDb("typespush")];
    const [da, db] = [await connectPg(a.url), await connectPg(b.url)];
    try {
      await withRows(da);
      push(["--dialect", "postgresql", "--schema", "./schema.ts", "--url", b.url], typesDir, "v2");
      const mine = await readCatalog(da);
      expectNoLeftovers(mine);
      expect(diffCatalogs(await readCatalog(db), mine)).toEqual([]);
    } finally {
      await da.close();
      await db.close();
      await a.drop();
      await b.drop();
    }
  }, 120_000);
});
