/**
 * The rollback history of a generated migrations folder (issue #7's "must show"): up entry by entry
 * (catalog after each), an IRREVERSIBLE stop that runs nothing, rollback one entry at a time (each
 * gives the catalog before that entry, but for enum values PostgreSQL cannot drop), up again,
 * rollback of everything at once, up (exactly the catalog of up alone), a stop after some entries,
 * and every down file applied twice in a row.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { canonicalJson, diffCatalogs, readCatalog, type Catalog } from "../../src/catalog/catalog.js";
import { GuardError } from "../../src/errors.js";
import { readFolder } from "../../src/folder/folder.js";
import type { Driver } from "../../src/runner/driver.js";
import { migrate } from "../../src/runner/migrate.js";
import { rollback } from "../../src/runner/rollback.js";
import type { ConfigApproval } from "../../src/lint/forbidden.js";
import { applyFile } from "./apply.js";

/** A copy of the migrations folder whose journal has only the first `k` entries (same files, tags and `when`). */
function prefixFolder(out: string, k: number): string {
  const copy = mkdtempSync(join(tmpdir(), "dg-prefix-"));
  cpSync(out, copy, { recursive: true });
  const journal = JSON.parse(readFileSync(join(copy, "meta", "_journal.json"), "utf8"));
  journal.entries = journal.entries.slice(0, k);
  writeFileSync(join(copy, "meta", "_journal.json"), JSON.stringify(journal, null, 2));
  return copy;
}

async function rows(driver: Driver): Promise<number> {
  return Number((await driver.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).rows[0].n);
}

/**
 * up (entry by entry, catalog after each) -> an IRREVERSIBLE stop -> rollback one entry at a time
 * (each gives the catalog before that entry) -> up again -> rollback of everything at once -> up.
 */
export async function rollbackHistory(driver: Driver, out: string, approvals: ConfigApproval[] = []): Promise<void> {
  const tags = readFolder(out).journal.entries.map((e) => e.tag);
  const n = tags.length;
  const catalogs: Catalog[] = [await readCatalog(driver)];
  const copies: string[] = [];
  try {
    for (let k = 1; k <= n; k++) {
      copies.push(prefixFolder(out, k));
      await migrate({ driver, out: copies[k - 1], approvals });
      catalogs.push(await readCatalog(driver));
    }
  } finally {
    for (const c of copies) rmSync(c, { recursive: true, force: true });
  }
  expect(Object.keys(catalogs[n].tables).length).toBeGreaterThan(0);

  await expect(rollback({ driver, out, steps: 1, to: tags[0] })).rejects.toThrow("pass --steps or --to, not both");
  await expect(rollback({ driver, out, to: "nope" })).rejects.toThrow("no migration nope in the journal");
  // Without --force, rollback stops before the newest down file with an IRREVERSIBLE step: the
  // files newer than it are rolled back, nothing from it on is run.
  const downText = (t: string) => readFileSync(join(out, `${t}.down.sql`), "utf8");
  const firstStop = tags.map((t, i) => (downText(t).includes("\n-- IRREVERSIBLE: ") ? i : -1)).reduce((a, b) => Math.max(a, b));
  expect(firstStop).toBeGreaterThanOrEqual(0);
  const reason = /\n-- (IRREVERSIBLE: [^\n]*)/.exec(downText(tags[firstStop]))![1];
  const stop = await rollback({ driver, out, steps: n }).catch((e) => e);
  expect(stop).toBeInstanceOf(GuardError);
  expect(stop.message).toContain(reason);
  expect(stop.file).toBe(`${tags[firstStop]}.down.sql`);
  expect(await rows(driver)).toBe(firstStop + 1);
  expect(diffCatalogs(catalogs[firstStop + 1], await readCatalog(driver))).toEqual([]);
  await migrate({ driver, out, approvals });

  // One entry at a time: the catalog before each entry, but for enum values PostgreSQL cannot drop
  // (they stay until the enum itself is dropped).
  const addValue = tags.findIndex((t) => readFileSync(join(out, `${t}.sql`), "utf8").includes("ADD VALUE"));
  for (let k = n; k >= 1; k--) {
    const r = await rollback({ driver, out, steps: 1, force: true });
    expect(r.rolledBack).toEqual([tags[k - 1]]);
    expect(await rows(driver)).toBe(k - 1);
    const diff = diffCatalogs(catalogs[k - 1], await readCatalog(driver));
    const label = `rolled back to before ${tags[k - 1]}`;
    if (addValue < 0 || k - 1 > addValue || k - 1 === 0) expect(diff, label).toEqual([]);
    else {
      expect(diff.map((d) => [d.section, d.change]), label).toEqual([["enums", "different"]]);
      expect(diff[0].actual).toEqual(expect.arrayContaining(diff[0].expected as string[]));
    }
  }

  // up -> rollback of everything -> up: exactly the catalog of up alone.
  await migrate({ driver, out, approvals });
  expect(canonicalJson(await readCatalog(driver))).toBe(canonicalJson(catalogs[n]));
  const all = await rollback({ driver, out, steps: n, force: true });
  expect(all.rolledBack).toEqual([...tags].reverse());
  expect(canonicalJson(await readCatalog(driver))).toBe(canonicalJson(catalogs[0]));
  await migrate({ driver, out, approvals });
  expect(canonicalJson(await readCatalog(driver))).toBe(canonicalJson(catalogs[n]));

  // --to TAG: everything applied after TAG.
  const to = await rollback({ driver, out, to: tags[n - 3], force: true });
  expect(to.rolledBack).toEqual([tags[n - 1], tags[n - 2]]);
  expect(diffCatalogs(catalogs[n - 2], await readCatalog(driver))).toEqual([]);
  await migrate({ driver, out, approvals });

  // After a forced step, the next stop: the entries newer than it rolled back, nothing from it on.
  await rollback({ driver, out, steps: 1, force: true });
  const partial = await rollback({ driver, out, steps: n }).catch((e) => e);
  expect(partial).toBeInstanceOf(GuardError);
  const stoppedAt = tags.indexOf(partial.file.replace(/\.down\.sql$/, ""));
  expect(stoppedAt).toBeGreaterThanOrEqual(0);
  expect(stoppedAt).toBeLessThanOrEqual(n - 2);
  expect(await rows(driver)).toBe(stoppedAt + 1);
  expect(diffCatalogs(catalogs[stoppedAt + 1], await readCatalog(driver))).toEqual([]);

  // Down files applied twice in a row, newest first (from the full schema): no error, nothing left.
  await migrate({ driver, out, approvals });
  for (const t of [...tags].reverse()) {
    const text = readFileSync(join(out, `${t}.down.sql`), "utf8");
    await applyFile(driver, text, `${t}.down.sql`);
    await applyFile(driver, text, `${t}.down.sql`);
  }
  expect(canonicalJson(await readCatalog(driver))).toBe(canonicalJson(catalogs[0]));
}

