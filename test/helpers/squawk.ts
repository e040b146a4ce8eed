/** squawk (npm squawk-cli) as an independent judge of rewritten files. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./project.js";

const SQUAWK = join(ROOT, "node_modules", ".bin", "squawk");

/** The squawk rules the phases issue (#4) names: none may fire on rewritten files. */
export const PHASE_RULES = [
  "constraint-missing-not-valid",
  "adding-foreign-key-constraint",
  "adding-not-nullable-field",
  "disallowed-unique-constraint",
  "require-enum-value-ordering",
  "require-lock-timeout",
  "require-statement-timeout",
  "adding-field-with-default",
  "ban-concurrent-index-creation-in-transaction",
];

export interface SquawkFinding {
  rule_name: string;
  /** 0-based line. */
  line: number;
}

/** squawk's findings for one file; `inTransaction` for files the runner applies in a transaction. */
export function squawk(file: string, inTransaction: boolean): SquawkFinding[] {
  const r = spawnSync(SQUAWK, [...(inTransaction ? ["--assume-in-transaction"] : []), "--reporter", "json", file], { encoding: "utf8" });
  const report = JSON.parse(r.stdout || "null");
  if (!Array.isArray(report)) throw new Error(`squawk gave no report for ${file}: ${r.stderr}`);
  return report;
}
