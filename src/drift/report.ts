/**
 * The drift report: for a terminal, each difference as the canonical lines of the object (`-` what
 * the migrations give, `+` what the other side has, only the changed lines of a changed object);
 * for machines, JSON.
 */
import { diffArrays } from "diff";
import pc from "picocolors";
import type { CatalogDifference } from "../catalog/catalog.js";
import { entryLines } from "./canonical.js";
import type { DriftResult } from "./drift.js";

const SINGULAR: Record<CatalogDifference["section"], string> = {
  schemas: "schema",
  tables: "table",
  indexes: "index",
  constraints: "constraint",
  enums: "enum",
  sequences: "sequence",
  views: "view",
  policies: "policy",
  triggers: "trigger",
  functions: "function",
};

export interface CanonicalStatus {
  file: string;
  written: boolean;
  matches: boolean;
}

/** Lines of one difference, uncolored: `+ ...` / `- ...`, a changed object under `~ <kind> <name>`. */
export function differenceLines(d: CatalogDifference): string[] {
  if (d.change === "added") return entryLines(d.section, d.name, d.actual).map((l) => `+ ${l}`);
  if (d.change === "missing") return entryLines(d.section, d.name, d.expected).map((l) => `- ${l}`);
  const out = [`~ ${SINGULAR[d.section]} ${d.name}`];
  for (const part of diffArrays(entryLines(d.section, d.name, d.expected), entryLines(d.section, d.name, d.actual))) {
    if (part.removed) out.push(...part.value.map((l) => `  - ${l}`));
    else if (part.added) out.push(...part.value.map((l) => `  + ${l}`));
  }
  return out;
}

function paint(line: string): string {
  const mark = line.trimStart()[0];
  return mark === "+" ? pc.green(line) : mark === "-" ? pc.red(line) : pc.yellow(line);
}

/** The terminal report. `target` names the other side (the schema files, or a redacted URL). */
export function driftTtyLines(r: DriftResult, target: string): string[] {
  const other = r.against === "schema" ? "the schema files" : "the database";
  const lines = [pc.bold(`drift: the migrations vs ${target}`)];
  if (!r.differences.length) return [...lines, pc.green(`no drift: ${other} match${r.against === "schema" ? "" : "es"} what the migrations produce`)];
  lines.push(pc.dim(`  - only in what the migrations produce, + only in ${other}`));
  for (const d of r.differences) lines.push(...differenceLines(d).map(paint));
  const n = (c: CatalogDifference["change"]) => r.differences.filter((d) => d.change === c).length;
  lines.push(pc.red(`DRIFT: ${r.differences.length} difference(s): ${n("added")} added, ${n("missing")} missing, ${n("different")} different in ${other}`));
  return lines;
}

export function driftJson(r: DriftResult, target: string, canonical: CanonicalStatus | null): string {
  return JSON.stringify(
    {
      drift: r.differences.length > 0 || (canonical !== null && !canonical.matches),
      against: r.against,
      target,
      differences: r.differences.map((d) => ({
        section: d.section,
        name: d.name,
        change: d.change,
        expected: d.expected ?? null,
        actual: d.actual ?? null,
        lines: differenceLines(d),
      })),
      canonical,
    },
    null,
    2,
  );
}
