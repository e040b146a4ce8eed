/**
 * Forbidden operations: blocked unless approved, by a comment directly above the statement
 * (`-- drizzle-guard: approve <rule-id> <reason>`, a reason is required) or in drizzle-guard.config
 * (`approve: [{ rule, target?, reason }]`). One rule per entry, one registry.
 */
import { directivesAbove, type ParsedSql, type Statement } from "../sql/parse.js";
import { doBlockStatements } from "./rules.js";
import { listKey, nameList, relKey } from "../sql/names.js";
import { isTypeChangeHelper } from "../sql/phase-sql.js";

export interface ConfigApproval {
  rule: string;
  /** `schema.name` of the object (omit to approve every statement the rule finds). */
  target?: string;
  reason: string;
}

/** Level of each forbidden-operation rule, from the config: "error" (default: blocks), "warn" or "off". */
export type RuleLevels = Record<string, "error" | "warn" | "off">;

export interface ForbiddenRule {
  id: string;
  description: string;
  /** Returns the target (`schema.name`, or a short description) when the statement is forbidden. */
  match(s: Statement, file: ParsedSql): string | undefined;
}

const DML = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"]);
const NOT_DDL = new Set([...DML, "SelectStmt", "VariableSetStmt", "DoStmt", "TransactionStmt", "ExplainStmt", "LockStmt", "NotifyStmt", "CallStmt"]);

const dropOf = (type: string) => (s: Statement) =>
  s.kind === "DropStmt" && s.node.removeType === type
    ? (s.node.objects ?? []).map((o: any) => (o.List ? listKey(nameList(o.List.items)) : (o.String?.sval ?? ""))).join(", ")
    : undefined;

/** `schema.table.column` of the (first) column type change in a statement or in the DO block guarding it. */
function typeChangeTarget(s: Statement): string {
  const units = s.kind === "DoStmt" ? doBlockStatements(s).flatMap((p) => p.statements) : [s];
  for (const u of units) {
    if (u.kind !== "AlterTableStmt") continue;
    const cmd = (u.node.cmds ?? []).map((c: any) => c.AlterTableCmd).find((c: any) => c?.subtype === "AT_AlterColumnType");
    if (cmd) return `${relKey(u.node.relation)}.${cmd.name}`;
  }
  return "type change";
}

export const FORBIDDEN: readonly ForbiddenRule[] = [
  {
    id: "ban-concurrently-in-transaction",
    description: "CREATE/DROP INDEX CONCURRENTLY fails inside a transaction: the file needs `-- drizzle-guard: transaction=off`",
    match: (s, f) =>
      !f.nonTransactional && (s.kind === "IndexStmt" || (s.kind === "DropStmt" && s.node.removeType === "OBJECT_INDEX")) && s.node.concurrent
        ? s.kind === "IndexStmt"
          ? String(s.node.idxname ?? "")
          : "index"
        : undefined,
  },
  { id: "ban-delete-without-where", description: "DELETE without WHERE empties the table", match: (s) => (s.kind === "DeleteStmt" && !s.node.whereClause ? relKey(s.node.relation) : undefined) },
  { id: "ban-drop-database", description: "DROP DATABASE", match: (s) => (s.kind === "DropdbStmt" ? String(s.node.dbname) : undefined) },
  { id: "ban-drop-schema", description: "DROP SCHEMA loses every object in it", match: (s) => (s.kind === "DropStmt" && s.node.removeType === "OBJECT_SCHEMA" ? (s.node.objects ?? []).map((o: any) => o.String?.sval).join(", ") : undefined) },
  { id: "ban-drop-table", description: "DROP TABLE loses the table's data", match: dropOf("OBJECT_TABLE") },
  {
    id: "ban-mixed-ddl-and-data",
    description: "data changes share a transactional file with schema changes (locks are held while rows change)",
    match: (s, f) =>
      !f.nonTransactional && DML.has(s.kind) && f.statements.some((o) => !NOT_DDL.has(o.kind)) ? s.kind.replace("Stmt", "").toUpperCase() : undefined,
  },
  {
    id: "ban-rename-column",
    description: "renaming a column breaks every running client that uses the old name",
    // The contract file's swap gives an expand/contract helper column the name of the column it replaces: clients keep their name.
    match: (s) =>
      s.kind === "RenameStmt" && s.node.renameType === "OBJECT_COLUMN" && !isTypeChangeHelper(s.node.subname, s.node.newname)
        ? `${relKey(s.node.relation)}.${s.node.subname}`
        : undefined,
  },
  {
    id: "ban-rename-table",
    description: "renaming a table breaks every running client that uses the old name",
    match: (s) => (s.kind === "RenameStmt" && s.node.renameType === "OBJECT_TABLE" ? relKey(s.node.relation) : undefined),
  },
  {
    id: "ban-table-rewrite",
    description: "a column type change that rewrites the whole table under ACCESS EXCLUSIVE (drizzle-guard wrote the expand/contract plan above it)",
    match: (s, f) => (directivesAbove(f, s, "table-rewrite").length ? typeChangeTarget(s) : undefined),
  },
  {
    id: "ban-transaction-control",
    description: "BEGIN/COMMIT/ROLLBACK inside a migration file breaks the runner's transaction handling",
    match: (s) => (s.kind === "TransactionStmt" ? String(s.node.kind ?? "").replace("TRANS_STMT_", "") : undefined),
  },
  { id: "ban-truncate", description: "TRUNCATE empties the table", match: (s) => (s.kind === "TruncateStmt" ? (s.node.relations ?? []).map((r: any) => relKey(r.RangeVar)).join(", ") : undefined) },
  {
    id: "ban-unfilled-backfill",
    description: "a backfill drizzle-guard wrote without knowing the value for existing rows (write it and remove the backfill-value directive, then run drizzle-guard rewrite to record the edit)",
    match: (s, f) => directivesAbove(f, s, "backfill-value")[0]?.args || undefined,
  },
  { id: "ban-update-without-where", description: "UPDATE without WHERE rewrites every row", match: (s) => (s.kind === "UpdateStmt" && !s.node.whereClause ? relKey(s.node.relation) : undefined) },
];

export interface ForbiddenFinding {
  rule: string;
  description: string;
  statement: number;
  target: string;
  line: number;
  column: number;
  approved: boolean;
  /** How it was approved, or why an approval comment was not accepted. */
  approval?: string;
}

/** Approve directives directly above the statement. */
function approvalsAbove(f: ParsedSql, s: Statement): Array<{ rule: string; reason: string }> {
  return directivesAbove(f, s, "approve").map((d) => {
    const [rule, ...reason] = d.args.split(/\s+/);
    // A placeholder (`<reason>`, `<why>`) copied from a hint is not a reason.
    const text = reason.join(" ").trim();
    return { rule: rule ?? "", reason: /^<[^>]*>$/.test(text) ? "" : text };
  });
}

/** A rule's target for a statement, looking inside drizzle-guard's DO guards at the statement they guard. */
function matchStatement(rule: ForbiddenRule, s: Statement, f: ParsedSql): string | undefined {
  const own = rule.match(s, f);
  if (own !== undefined || s.kind !== "DoStmt") return own;
  for (const inner of doBlockStatements(s)) {
    for (const x of inner.statements) {
      const target = rule.match(x, inner);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

export function findForbidden(
  f: ParsedSql,
  approvals: readonly ConfigApproval[] = [],
  levels: Readonly<RuleLevels> = {},
): ForbiddenFinding[] {
  const out: ForbiddenFinding[] = [];
  for (const s of f.statements) {
    for (const rule of FORBIDDEN) {
      if (levels[rule.id] === "off") continue;
      const target = matchStatement(rule, s, f);
      if (target === undefined) continue;
      const finding: ForbiddenFinding = { rule: rule.id, description: rule.description, statement: s.index, target, line: s.line, column: s.column, approved: false };
      const inline = approvalsAbove(f, s).find((a) => a.rule === rule.id);
      const fromConfig = approvals.find((a) => a.rule === rule.id && (!a.target || a.target === target) && a.reason?.trim());
      if (levels[rule.id] === "warn") {
        finding.approved = true;
        finding.approval = "allowed: rule level is warn in the config";
      } else if (inline && inline.reason) {
        finding.approved = true;
        finding.approval = `approved: ${inline.reason}`;
      } else if (fromConfig) {
        finding.approved = true;
        finding.approval = `approved in config: ${fromConfig.reason}`;
      } else if (inline) {
        finding.approval = "the approve comment has no reason";
      }
      out.push(finding);
    }
  }
  return out;
}

export function approveDirective(rule: string): string {
  return `-- drizzle-guard: approve ${rule} <reason>`;
}
