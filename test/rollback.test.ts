/**
 * Rollback histories on PGlite and PostgreSQL 15: the phases example (changes to tables that hold
 * rows: SET NOT NULL, type changes, a changed index, an enum value, a dropped column) generated
 * with `drizzle-guard generate`, and the legacy corpus (plain drizzle-kit output, then
 * `drizzle-guard rewrite`: down files for migrations that already exist). The shop example's
 * history is in e2e.test.ts.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rewriteFolder } from "../src/rewrite.js";
import { diffCatalogs, readCatalog } from "../src/catalog/catalog.js";
import { GuardError } from "../src/errors.js";
import { readFolder } from "../src/folder/folder.js";
import { migrate } from "../src/runner/migrate.js";
import { rollback } from "../src/runner/rollback.js";
import type { Driver } from "../src/runner/driver.js";
import { FIXTURES } from "./helpers/fixtures.js";
import phasesGuardConfig from "../examples/phases/drizzle-guard.config.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPg, openPglite } from "../src/runner/driver.js";
import { createTestDb, PG_URL, type TestDb } from "./helpers/pg.js";
import { makeProject, run, useSchema } from "./helpers/project.js";
import { rollbackHistory } from "./helpers/rollback.js";

let out: string;
let legacy: string;
/** The corpus's last migration drops the billing table and schema on purpose. */
const APPROVALS = [
  { rule: "ban-drop-table", target: "billing.invoices", reason: "test corpus" },
  { rule: "ban-drop-schema", target: "billing", reason: "test corpus" },
];

async function histories(driver: () => Promise<Driver>): Promise<void> {
  for (const [folder, approvals] of [[out, phasesGuardConfig.approve], [legacy, APPROVALS]] as const) {
    const db = await driver();
    try {
      await rollbackHistory(db, folder, [...approvals]);
    } finally {
      await db.close();
    }
  }
}

beforeAll(() => {
  const dir = makeProject("phases");
  out = join(dir, "drizzle");
  for (const v of ["v1", "v2", "v3"]) {
    useSchema(dir, v);
    const r = run(dir, ["generate", "--name", v]);
    if (r.status !== 0) throw new Error(`generate ${v} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  legacy = join(mkdtempSync(join(tmpdir(), "dg-legacy-")), "drizzle");
  cpSync(join(FIXTURES, "corpus", "shop"), legacy, { recursive: true });
  rewriteFolder(legacy);
}, 120_000);

describe("rollback histories of the phases example and the legacy corpus", () => {
  it("on PGlite", () => histories(() => openPglite()), 120_000);
});

describe("a transactional down file and its bookkeeping row commit together", () => {
  it("a failing statement leaves the schema and the row as they were", async () => {
    const copy = join(mkdtempSync(join(tmpdir(), "dg-atomic-")), "drizzle");
    cpSync(out, copy, { recursive: true });
    const tags = readFolder(copy).journal.entries.map((e) => e.tag);
    const newest = tags[tags.length - 1];
    expect(readFileSync(join(copy, `${newest}.down.sql`), "utf8")).not.toContain("transaction=off");
    appendFileSync(join(copy, `${newest}.down.sql`), "SELECT 1 / 0;\n");
    const db = await openPglite();
    try {
      await migrate({ driver: db, out: copy, approvals: phasesGuardConfig.approve });
      const before = await readCatalog(db);
      const e = await rollback({ driver: db, out: copy, steps: 1, force: true }).catch((x) => x);
      expect(e).toBeInstanceOf(GuardError);
      expect(e.message).toContain("division by zero");
      expect(e.file).toBe(`${newest}.down.sql`);
      expect((await db.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).rows[0].n).toBe(tags.length);
      expect(diffCatalogs(before, await readCatalog(db))).toEqual([]);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe.skipIf(!PG_URL)("rollback histories of the phases example and the legacy corpus on PostgreSQL 15", () => {
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });
  it("on PostgreSQL 15", async () => {
    await histories(async () => {
      dbs.push(await createTestDb("rollback"));
      return connectPg(dbs[dbs.length - 1].url);
    });
  }, 120_000);
});
