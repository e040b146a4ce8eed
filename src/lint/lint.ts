/** `drizzle-guard lint`: the per-statement report and the verdict. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { GuardError } from "../errors.js";
import { parseSql, type ParsedSql } from "../sql/parse.js";
import { relKey } from "../sql/names.js";
import { classify, doBlockStatements, type LintContext, type Lock, type Risk } from "./rules.js";
import { findForbidden, type ConfigApproval, type ForbiddenFinding, type RuleLevels } from "./forbidden.js";

export interface StatementReport {
  line: number;
  column: number;
  endLine: number;
  operation: string;
  target: string;
  rule: string;
  lock: Lock;
  rewrite: boolean;
  scan: boolean;
  risk: Risk;
  alternative?: string;
  /** True when the statement runs inside one of drizzle-guard's DO guards. */
  guarded: boolean;
}

export interface FileReport {
  file: string;
  nonTransactional: boolean;
  statements: StatementReport[];
  findings: ForbiddenFinding[];
  text: string;
}

export interface LintResult {
  files: FileReport[];
  blockedRules: string[];
  verdict: "PASS" | "BLOCKED";
}


export function lintText(
  text: string,
  file: string,
  approvals: readonly ConfigApproval[] = [],
  parsed?: ParsedSql,
  levels: RuleLevels = {},
): FileReport {
  const sql = parsed ?? parseSql(text, file);
  const ctx: LintContext = { createdTables: new Set(), notNullChecks: new Set() };
  const checks = new Map<string, string>(); // constraint name -> table.column of a `col IS NOT NULL` check
  const statements: StatementReport[] = [];
  for (const s of sql.statements) {
    const inner = s.kind === "DoStmt" ? doBlockStatements(s).flatMap((p) => p.statements) : [];
    const units = inner.length ? inner : [s];
    for (const u of units) {
      for (const c of classify(u, ctx)) {
        statements.push({
          line: s.line,
          column: s.column,
          endLine: sql.position(s.end).line,
          operation: c.operation,
          target: c.target,
          rule: c.rule.id,
          lock: c.rule.lock,
          rewrite: c.rule.rewrite,
          scan: c.rule.scan,
          risk: c.rule.risk,
          alternative: c.rule.alternative,
          guarded: inner.length > 0,
        });
      }
      // Context for later statements of the file.
      if (u.kind === "CreateStmt") ctx.createdTables.add(relKey(u.node.relation));
      if (u.kind === "AlterTableStmt") {
        for (const c of u.node.cmds ?? []) {
          const cmd = c.AlterTableCmd;
          const k = cmd.def?.Constraint;
          const test = k?.raw_expr?.NullTest;
          if (cmd.subtype === "AT_AddConstraint" && k?.contype === "CONSTR_CHECK" && test?.nulltesttype === "IS_NOT_NULL") {
            const col = test.arg?.ColumnRef?.fields?.map((f: any) => f.String?.sval).at(-1);
            if (col) checks.set(k.conname, `${relKey(u.node.relation)}.${col}`);
            if (col && !k.skip_validation) ctx.notNullChecks.add(`${relKey(u.node.relation)}.${col}`);
          }
          if (cmd.subtype === "AT_ValidateConstraint" && checks.has(cmd.name)) ctx.notNullChecks.add(checks.get(cmd.name)!);
        }
      }
    }
  }
  return { file, nonTransactional: sql.nonTransactional, statements, findings: findForbidden(sql, approvals, levels), text };
}

/** Files named by the arguments: .sql files as given, directories searched recursively (meta/ skipped). */
export function collectSqlFiles(paths: readonly string[], cwd = process.cwd()): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new GuardError(`no such file or directory: ${relative(cwd, p) || p}`);
    }
    if (st.isDirectory()) {
      // Entry types from the directory listing: no stat per file (a folder can hold thousands).
      for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (e.name === "node_modules" || e.name.startsWith(".")) continue;
        const child = join(p, e.name);
        // Down files are read by rollback only: lint the migrations, not their reverses.
        const sql = e.name.endsWith(".sql") && !e.name.endsWith(".down.sql");
        if (e.isSymbolicLink() ? statSync(child).isDirectory() || sql : e.isDirectory()) walk(child);
        else if (sql) out.push(child);
      }
    } else out.push(p);
  };
  for (const p of paths) walk(resolve(cwd, p));
  return out;
}

export function verdictOf(files: readonly FileReport[]): Pick<LintResult, "blockedRules" | "verdict"> {
  const blocked = [...new Set(files.flatMap((f) => f.findings.filter((x) => !x.approved).map((x) => x.rule)))].sort();
  return { blockedRules: blocked, verdict: blocked.length ? "BLOCKED" : "PASS" };
}

/** One file from disk, named relative to `cwd` in the report. */
export function lintFile(path: string, approvals: readonly ConfigApproval[] = [], cwd = process.cwd(), levels: RuleLevels = {}): FileReport {
  return lintText(readFileSync(path, "utf8"), relative(cwd, path) || path, approvals, undefined, levels);
}

export function lintFiles(
  files: readonly string[],
  approvals: readonly ConfigApproval[] = [],
  cwd = process.cwd(),
  levels: RuleLevels = {},
): LintResult {
  const reports = files.map((f) => lintFile(f, approvals, cwd, levels));
  return { files: reports, ...verdictOf(reports) };
}
