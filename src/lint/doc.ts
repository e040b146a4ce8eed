/** docs/rules.md, rendered from the registries: one section per rule. */
import { EXAMPLES } from "./examples.js";
import { FORBIDDEN } from "./forbidden.js";
import { RULES } from "./rules.js";

export function renderRulesDoc(): string {
  const out: string[] = [
    "# Lint rules",
    "",
    "Generated from `src/lint/rules.ts`, `src/lint/forbidden.ts` and `src/lint/examples.ts` by",
    "`npm run docs:rules`; a test fails when this file is out of date.",
    "",
    "Every statement gets one of the classification rules (ALTER TABLE: one per subcommand), with",
    "the lock PostgreSQL takes, whether the table is rewritten or scanned, and the risk on a live",
    "database. Forbidden operations block the verdict unless approved, by a comment on the line(s)",
    "directly above the statement, `-- drizzle-guard: approve <rule-id> <reason>` (a reason is",
    "required), or in drizzle-guard.config (`approve: [{ rule, target?, reason }]`, or",
    '`rules: { "<rule-id>": "warn" | "off" }`).',
    "",
    "## Classification rules",
    "",
  ];
  for (const r of Object.values(RULES)) {
    out.push(`### ${r.id}`, "", r.description + ".", "");
    out.push(`- lock: ${r.lock === "none" ? "none on existing tables" : r.lock}`);
    out.push(`- table: ${r.rewrite ? "rewritten" : r.scan ? "scanned" : "neither rewritten nor scanned"}`);
    out.push(`- risk: ${r.risk}`);
    if (r.alternative) out.push(`- safe alternative: ${r.alternative}`);
    out.push("", "```sql", EXAMPLES[r.id] ?? "", "```", "");
  }
  out.push("## Forbidden operations", "");
  for (const r of FORBIDDEN) {
    out.push(`### ${r.id}`, "", r.description + ".", "", `Approve with \`-- drizzle-guard: approve ${r.id} <reason>\` on the line above.`, "");
    out.push("```sql", EXAMPLES[r.id] ?? "", "```", "");
  }
  return out.join("\n");
}
