/**
 * Rollback on the phases example (changes to tables that hold rows: SET NOT NULL, type changes, a
 * changed index, an enum value, a dropped column), generated with `drizzle-guard generate`, on
 * PGlite and PostgreSQL 15. The shop example's history is in e2e.test.ts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { connectPg, openPglite } from "../src/runner/driver.js";
import { createTestDb, PG_URL, type TestDb } from "./helpers/pg.js";
import { makeProject, run, useSchema } from "./helpers/project.js";
import { rollbackHistory } from "./helpers/rollback.js";

let out: string;

beforeAll(() => {
  const dir = makeProject("phases");
  out = join(dir, "drizzle");
  for (const v of ["v1", "v2", "v3"]) {
    useSchema(dir, v);
    const r = run(dir, ["generate", "--name", v]);
    if (r.status !== 0) throw new Error(`generate ${v} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}, 120_000);

describe("rollback history of the phases example", () => {
  it("on PGlite", async () => {
    const db = await openPglite();
    try {
      await rollbackHistory(db, out);
    } finally {
      await db.close();
    }
  }, 120_000);
});

describe.skipIf(!PG_URL)("rollback history of the phases example on PostgreSQL 15", () => {
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await createTestDb("rollback");
  });
  afterAll(async () => {
    await testDb?.drop();
  });
  it("on PostgreSQL 15", async () => {
    const driver = await connectPg(testDb.url);
    try {
      await rollbackHistory(driver, out);
    } finally {
      await driver.close();
    }
  }, 120_000);
});
