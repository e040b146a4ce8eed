/** Applies one migration file without bookkeeping, the way the runner would: for idempotence tests. */
import type { Driver } from "../../src/runner/driver.js";
import { parseSql } from "../../src/sql/parse.js";

export async function applyFile(driver: Driver, text: string, file: string): Promise<void> {
  const parsed = parseSql(text, file);
  const stmts = parsed.statements.map((s) => text.slice(s.start, s.end));
  if (parsed.nonTransactional) {
    for (const s of stmts) await driver.query(s);
    return;
  }
  await driver.query("BEGIN");
  try {
    for (const s of stmts) await driver.query(s);
    await driver.query("COMMIT");
  } catch (e) {
    await driver.query("ROLLBACK");
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
