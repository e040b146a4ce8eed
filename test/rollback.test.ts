/**
 * Rollback histories on PGlite and PostgreSQL 15: the phases example (changes to tables that hold
 * rows: SET NOT NULL, type changes, a changed index, an enum value, a dropped column) generated
 * with `drizzle-guard generate`, and the legacy corpus (plain drizzle-kit output, then
 * `drizzle-guard rewrite`: down files for migrations that already exist). The shop example's
 * history is in e2e.test.ts.
 */
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rewriteFolder } from "../src/rewrite.js";
import type { Driver } from "../src/runner/driver.js";
import { FIXTURES } from "./helpers/fixtures.js";
import phasesGuardConfig from "../examples/phases/drizzle-guard.config.js";
import { afterAll, beforeAll, describe, it } from "vitest";
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
