/** A project whose migrations are the raw drizzle-kit shop corpus (fixtures/corpus/shop), for runner tests. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rewriteFolder } from "../../src/rewrite.js";
import { ROOT } from "./project.js";

export const CORPUS = join(ROOT, "fixtures", "corpus", "shop");

/** The corpus's last migration drops the billing table and schema on purpose. */
export const APPROVALS = [
  { rule: "ban-drop-table", target: "billing.invoices", reason: "test corpus" },
  { rule: "ban-drop-schema", target: "billing", reason: "test corpus" },
];

/** A project folder with the raw drizzle-kit corpus as its migrations (and a config using `url`). */
export function corpusProject(url?: string): { dir: string; out: string } {
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

/** corpusProject, rewritten by drizzle-guard. */
export function rewritten(url?: string): { dir: string; out: string } {
  const p = corpusProject(url);
  rewriteFolder(p.out);
  return p;
}

/** Runs with only the first `n` journal entries visible, then restores the journal. */
export async function withJournalPrefix<T>(out: string, n: number, fn: () => Promise<T>): Promise<T> {
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
