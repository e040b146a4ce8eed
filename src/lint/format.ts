/**
 * Output formats for lint and check: tty (colors, code frame), json (schema below, stable),
 * github (workflow commands), sarif (2.1.0).
 *
 * JSON schema (version 1):
 *   { version: 1, verdict: "PASS" | "BLOCKED", blockedRules: string[],
 *     files: [{ file, nonTransactional,
 *               statements: [{ line, column, operation, target, rule, lock, rewrite, scan, risk, alternative?, guarded }],
 *               findings: [{ rule, description, line, column, target, approved, approval? }] }],
 *     checks?: [{ check, ok, message, file?, fix? }],
 *     ok?: boolean }   (check only: every check passed, i.e. exit 0; `verdict` is lint's alone)
 */
import pc from "picocolors";
import { GuardError } from "../errors.js";
import type { FileReport, LintResult } from "./lint.js";
import { approveDirective } from "./forbidden.js";

export type Format = "tty" | "json" | "github" | "sarif";

export interface CheckItem {
  check: string;
  ok: boolean;
  message: string;
  file?: string;
  line?: number;
  fix?: string;
}

export function pickFormat(requested: string | undefined): Format {
  if (requested) {
    if (!["tty", "json", "github", "sarif"].includes(requested)) throw new GuardError("--format must be tty, json, github or sarif");
    return requested as Format;
  }
  return process.env.GITHUB_ACTIONS === "true" ? "github" : "tty";
}

/**
 * The last line. For lint, the lint verdict. For check, the whole check's: a failed check other than
 * lint (an edited file, a broken chain) makes it `VERDICT: FAIL (<checks>)`, so the last line never
 * says PASS when the exit code is 1.
 */
function verdictLine(result: LintResult, checks: CheckItem[]): { ok: boolean; text: string } {
  const failed = checks.filter((c) => !c.ok && c.check !== "lint").map((c) => c.check);
  if (failed.length) return { ok: false, text: `VERDICT: FAIL (${[...failed, ...(result.verdict === "PASS" ? [] : ["lint"])].join(", ")})` };
  return result.verdict === "PASS" ? { ok: true, text: "VERDICT: PASS" } : { ok: false, text: `VERDICT: BLOCKED (${result.blockedRules.join(", ")})` };
}

const riskColor = (r: string) => (r === "high" ? pc.red(r) : r === "medium" ? pc.yellow(r) : pc.green(r));

function codeFrame(f: FileReport, line: number): string[] {
  const lines = f.text.split("\n");
  const out: string[] = [];
  for (let i = Math.max(1, line - 1); i <= Math.min(lines.length, line + 1); i++) {
    const mark = i === line ? pc.red(">") : " ";
    out.push(`  ${mark} ${String(i).padStart(4)} | ${lines[i - 1]}`);
  }
  return out;
}

export function formatTty(result: LintResult, checks: CheckItem[] = []): string[] {
  const out: string[] = [];
  for (const f of result.files) {
    out.push(pc.bold(f.file) + (f.nonTransactional ? pc.dim("  (transaction=off)") : ""));
    for (const s of f.statements) {
      const flags = [s.rewrite ? "rewrite" : "", s.scan ? "scan" : ""].filter(Boolean).join("+") || "-";
      out.push(
        `  ${String(s.line).padStart(4)}:${String(s.column).padEnd(3)} ${s.rule.padEnd(28)} lock=${s.lock.padEnd(22)} ${flags.padEnd(12)} risk=${riskColor(s.risk)}${s.target ? pc.dim(`  ${s.target}`) : ""}`,
      );
      if (s.risk === "high" && s.alternative) out.push(pc.dim(`         safer: ${s.alternative}`));
    }
    for (const x of f.findings) {
      if (x.approved) {
        out.push(pc.green(`  ${f.file}:${x.line}:${x.column} ${x.rule} (${x.target}) ${x.approval}`));
        continue;
      }
      out.push(pc.red(`  ${f.file}:${x.line}:${x.column} BLOCKED ${x.rule} (${x.target}): ${x.description}`));
      out.push(...codeFrame(f, x.line));
      out.push(pc.dim(`    ${x.approval ? x.approval + "; " : ""}approve on the line above: ${approveDirective(x.rule)}`));
    }
  }
  for (const c of checks) {
    out.push(`${c.ok ? pc.green("ok  ") : pc.red("FAIL")} ${c.check}: ${c.message}`);
    if (!c.ok && c.fix) out.push(pc.dim(`     fix: ${c.fix}`));
  }
  const v = verdictLine(result, checks);
  out.push(v.ok ? pc.green(v.text) : pc.red(v.text));
  return out;
}

export function formatJson(result: LintResult, checks?: CheckItem[]): string {
  return JSON.stringify(
    {
      version: 1,
      verdict: result.verdict,
      blockedRules: result.blockedRules,
      files: result.files.map((f) => ({ file: f.file, nonTransactional: f.nonTransactional, statements: f.statements, findings: f.findings })),
      ...(checks ? { checks, ok: checks.every((c) => c.ok) } : {}),
    },
    null,
    2,
  );
}

const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProp = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export function formatGithub(result: LintResult, checks: CheckItem[] = []): string[] {
  const out: string[] = [];
  for (const f of result.files) {
    for (const x of f.findings.filter((x) => !x.approved)) {
      out.push(`::error file=${escapeProp(f.file)},line=${x.line},col=${x.column},title=${escapeProp(x.rule)}::${escapeData(`${x.description} (${x.target}). Approve with: ${approveDirective(x.rule)}`)}`);
    }
    for (const s of f.statements.filter((s) => s.risk === "high")) {
      out.push(`::warning file=${escapeProp(f.file)},line=${s.line},col=${s.column},title=${escapeProp(s.rule)}::${escapeData(`lock ${s.lock}${s.alternative ? `; safer: ${s.alternative}` : ""}`)}`);
    }
  }
  for (const c of checks.filter((c) => !c.ok)) {
    out.push(`::error ${c.file ? `file=${escapeProp(c.file)}${c.line ? `,line=${c.line}` : ""},` : ""}title=${escapeProp(c.check)}::${escapeData(c.message + (c.fix ? ` Fix: ${c.fix}` : ""))}`);
  }
  out.push(verdictLine(result, checks).text);
  return out;
}

export function formatSarif(result: LintResult, checks: CheckItem[] = [], rules: Array<{ id: string; description: string }> = []): string {
  const results: any[] = [];
  for (const f of result.files) {
    for (const x of f.findings.filter((x) => !x.approved)) {
      results.push({
        ruleId: x.rule,
        level: "error",
        message: { text: `${x.description} (${x.target}). Approve with: ${approveDirective(x.rule)}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: f.file }, region: { startLine: x.line, startColumn: x.column } } }],
      });
    }
    for (const s of f.statements.filter((s) => s.risk === "high")) {
      results.push({
        ruleId: s.rule,
        level: "warning",
        message: { text: `lock ${s.lock}${s.rewrite ? ", rewrites the table" : ""}${s.scan ? ", scans the table" : ""}${s.alternative ? `; safer: ${s.alternative}` : ""}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: f.file }, region: { startLine: s.line, startColumn: s.column } } }],
      });
    }
  }
  for (const c of checks.filter((c) => !c.ok)) {
    results.push({
      ruleId: `check/${c.check}`,
      level: "error",
      message: { text: c.message + (c.fix ? ` Fix: ${c.fix}` : "") },
      ...(c.file ? { locations: [{ physicalLocation: { artifactLocation: { uri: c.file }, ...(c.line ? { region: { startLine: c.line } } : {}) } }] } : {}),
    });
  }
  const ids = new Set(results.map((r) => r.ruleId));
  return JSON.stringify(
    {
      $schema: "https://json.schemastore.org/sarif-2.1.0.json",
      version: "2.1.0",
      runs: [
        {
          tool: {
            driver: {
              name: "drizzle-guard",
              informationUri: "https://www.npmjs.com/package/drizzle-guard",
              rules: rules.filter((r) => ids.has(r.id)).map((r) => ({ id: r.id, shortDescription: { text: r.description } })),
            },
          },
          results,
        },
      ],
    },
    null,
    2,
  );
}
