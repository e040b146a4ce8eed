/**
 * Per-statement analysis: the operation, the lock PostgreSQL takes, whether the table is
 * rewritten or scanned, the risk on a live database, and the safe alternative. One table of
 * rules (`RULES`), looked up by `classify()`. Statements inside drizzle-guard's own DO blocks are
 * analysed as the statement they guard.
 */
import { hasVolatileCall } from "../sql/volatile.js";
import { parsePlpgsqlBlock, parseSql, type ParsedSql, type Statement } from "../sql/parse.js";
import { nameList, relKey } from "../sql/names.js";
import { isTypeChangeHelper } from "../sql/phase-sql.js";

export type Lock =
  | "ACCESS EXCLUSIVE"
  | "EXCLUSIVE"
  | "SHARE ROW EXCLUSIVE"
  | "SHARE"
  | "SHARE UPDATE EXCLUSIVE"
  | "ROW EXCLUSIVE"
  | "ACCESS SHARE"
  | "none";
export type Risk = "low" | "medium" | "high";

export interface Rule {
  id: string;
  description: string;
  lock: Lock;
  rewrite: boolean;
  scan: boolean;
  risk: Risk;
  alternative?: string;
}

const r = (id: string, description: string, lock: Lock, risk: Risk, extra: Partial<Rule> = {}): Rule => ({
  id,
  description,
  lock,
  risk,
  rewrite: false,
  scan: false,
  ...extra,
});

/** Every rule, by id. */
export const RULES: Record<string, Rule> = Object.fromEntries(
  [
    r("add-column-nullable", "ADD COLUMN, nullable, no default: catalog-only change", "ACCESS EXCLUSIVE", "low"),
    r("add-column-default", "ADD COLUMN with a constant default: catalog-only since PostgreSQL 11", "ACCESS EXCLUSIVE", "medium"),
    r("add-column-volatile-default", "ADD COLUMN with a volatile default rewrites the whole table", "ACCESS EXCLUSIVE", "high", {
      rewrite: true,
      alternative: "add the column nullable, set the default, backfill in batches",
    }),
    r("add-column-not-null", "ADD COLUMN NOT NULL without a default fails on a non-empty table", "ACCESS EXCLUSIVE", "high", {
      alternative: "add it nullable, backfill, then SET NOT NULL through a validated CHECK",
    }),
    r("drop-column", "DROP COLUMN: breaks clients still reading the column", "ACCESS EXCLUSIVE", "medium", {
      alternative: "stop using the column in code first, drop it in a later (contract) migration",
    }),
    r("alter-column-type", "ALTER COLUMN TYPE rewrites the table and its indexes", "ACCESS EXCLUSIVE", "high", {
      rewrite: true,
      alternative: "new column + dual write + backfill + swap (expand/contract)",
    }),
    r("alter-column-type-safe", "ALTER COLUMN TYPE without a rewrite (binary-coercible change)", "ACCESS EXCLUSIVE", "low"),
    r("set-not-null", "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE", "ACCESS EXCLUSIVE", "high", {
      scan: true,
      alternative: "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
    }),
    r("set-not-null-validated", "SET NOT NULL with a validated CHECK (col IS NOT NULL): no scan", "ACCESS EXCLUSIVE", "low"),
    r("drop-not-null", "DROP NOT NULL", "ACCESS EXCLUSIVE", "low"),
    r("column-default", "SET/DROP DEFAULT: catalog-only", "ACCESS EXCLUSIVE", "low"),
    r("identity", "identity column change", "ACCESS EXCLUSIVE", "medium"),
    r("create-index", "CREATE INDEX blocks writes for the whole build", "SHARE", "high", {
      scan: true,
      alternative: "CREATE INDEX CONCURRENTLY in a non-transactional file",
    }),
    r("create-index-new-table", "CREATE INDEX on a table created in the same migration", "SHARE", "low"),
    r("create-index-concurrently", "CREATE INDEX CONCURRENTLY: writes continue", "SHARE UPDATE EXCLUSIVE", "low", { scan: true }),
    r("drop-index", "DROP INDEX blocks reads and writes on the table", "ACCESS EXCLUSIVE", "medium", {
      alternative: "DROP INDEX CONCURRENTLY in a non-transactional file",
    }),
    r("drop-index-concurrently", "DROP INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", "low"),
    r("add-foreign-key", "ADD FOREIGN KEY validates every row, locking both tables against writes", "SHARE ROW EXCLUSIVE", "high", {
      scan: true,
      alternative: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a separate migration",
    }),
    r("add-check", "ADD CHECK scans the table under ACCESS EXCLUSIVE", "ACCESS EXCLUSIVE", "high", {
      scan: true,
      alternative: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a separate migration",
    }),
    r("add-constraint-not-valid", "ADD CONSTRAINT ... NOT VALID: no scan", "SHARE ROW EXCLUSIVE", "low"),
    r("add-unique", "ADD UNIQUE / PRIMARY KEY builds an index under ACCESS EXCLUSIVE", "ACCESS EXCLUSIVE", "high", {
      scan: true,
      alternative: "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX",
    }),
    r("add-unique-using-index", "ADD CONSTRAINT ... USING INDEX: catalog-only", "ACCESS EXCLUSIVE", "low"),
    r("add-constraint-new-table", "ADD CONSTRAINT on a table created in the same migration", "ACCESS EXCLUSIVE", "low"),
    r("validate-constraint", "VALIDATE CONSTRAINT scans without blocking writes", "SHARE UPDATE EXCLUSIVE", "low", { scan: true }),
    r("drop-constraint", "DROP CONSTRAINT", "ACCESS EXCLUSIVE", "low"),
    r("row-level-security", "ENABLE/DISABLE ROW LEVEL SECURITY changes what every query sees", "ACCESS EXCLUSIVE", "medium"),
    r("alter-table-other", "other ALTER TABLE", "ACCESS EXCLUSIVE", "medium"),
    r("create-table", "CREATE TABLE", "none", "low"),
    r("drop-table", "DROP TABLE loses data (forbidden unless approved)", "ACCESS EXCLUSIVE", "high"),
    r("rename", "RENAME breaks running clients (forbidden unless approved for tables and columns)", "ACCESS EXCLUSIVE", "high", {
      alternative: "add the new name, dual-write, backfill, switch reads, drop the old one",
    }),
    r("swap-column", "RENAME of an expand/contract helper column to the name of the column it replaces (after that column is dropped): catalog-only", "ACCESS EXCLUSIVE", "low"),
    r("rename-index", "ALTER INDEX ... RENAME: clients do not name indexes (PostgreSQL 12+ takes a weaker lock)", "SHARE UPDATE EXCLUSIVE", "low"),
    r("set-schema", "SET SCHEMA moves the object: running clients lose it", "ACCESS EXCLUSIVE", "high"),
    r("create-type", "CREATE TYPE / DOMAIN", "none", "low"),
    r("enum-add-value", "ALTER TYPE ... ADD VALUE", "EXCLUSIVE", "low"),
    r("alter-type-other", "other ALTER TYPE", "ACCESS EXCLUSIVE", "medium"),
    r("drop-type", "DROP TYPE", "ACCESS EXCLUSIVE", "medium"),
    r("create-schema", "CREATE SCHEMA", "none", "low"),
    r("drop-schema", "DROP SCHEMA (forbidden unless approved)", "ACCESS EXCLUSIVE", "high"),
    r("sequence", "CREATE/ALTER SEQUENCE", "none", "low"),
    r("drop-sequence", "DROP SEQUENCE", "ACCESS EXCLUSIVE", "medium"),
    r("view", "CREATE VIEW / MATERIALIZED VIEW", "none", "low"),
    r("drop-view", "DROP VIEW", "ACCESS EXCLUSIVE", "medium"),
    r("policy", "CREATE/ALTER POLICY", "ACCESS EXCLUSIVE", "low"),
    r("drop-policy", "DROP POLICY", "ACCESS EXCLUSIVE", "medium"),
    r("function", "CREATE [OR REPLACE] FUNCTION / PROCEDURE: no table lock", "none", "low"),
    r("drop-function", "DROP FUNCTION / PROCEDURE", "none", "low"),
    r("create-trigger", "CREATE TRIGGER: brief lock; the function then runs on every write the trigger names", "SHARE ROW EXCLUSIVE", "low"),
    r("drop-trigger", "DROP TRIGGER: brief lock", "ACCESS EXCLUSIVE", "low"),
    r("role", "CREATE/ALTER/DROP ROLE, GRANT", "none", "low"),
    r("data-change", "INSERT / UPDATE / DELETE", "ROW EXCLUSIVE", "medium"),
    r("truncate", "TRUNCATE (forbidden unless approved)", "ACCESS EXCLUSIVE", "high"),
    r("transaction-control", "BEGIN / COMMIT inside a migration (forbidden)", "none", "high"),
    r("setting", "SET / RESET", "none", "low"),
    r("select", "SELECT: reads the tables it names (a function it calls, such as setval, may change more)", "ACCESS SHARE", "low"),
    r("comment", "COMMENT ON", "none", "low"),
    r("other", "statement drizzle-guard does not classify", "none", "medium"),
  ].map((x) => [x.id, x]),
);


function columnConstraints(def: any): string[] {
  return (def?.ColumnDef?.constraints ?? def?.constraints ?? []).map((c: any) => c.Constraint?.contype);
}

export interface Classified {
  rule: Rule;
  operation: string;
  target: string;
}

export interface LintContext {
  /** Tables created earlier in the same file. */
  createdTables: Set<string>;
  /** `table.column` with a validated `col IS NOT NULL` check in this file. */
  notNullChecks: Set<string>;
}

function alterTable(s: Statement, ctx: LintContext): Classified[] {
  const rel = relKey(s.node.relation);
  const fresh = ctx.createdTables.has(rel);
  return (s.node.cmds ?? []).map((c: any) => {
    const cmd = c.AlterTableCmd;
    const col = cmd.name ?? cmd.def?.ColumnDef?.colname ?? "";
    const target = col ? `${rel}.${col}` : rel;
    const id = ((): string => {
      switch (cmd.subtype) {
        case "AT_AddColumn": {
          const cons = columnConstraints(cmd.def);
          const def = (cmd.def?.ColumnDef?.constraints ?? []).find((x: any) => x.Constraint?.contype === "CONSTR_DEFAULT");
          if (fresh) return "add-column-nullable";
          if (def && hasVolatileCall(def)) return "add-column-volatile-default";
          if (cons.includes("CONSTR_NOTNULL") && !def && !cons.includes("CONSTR_IDENTITY")) return "add-column-not-null";
          if (cons.includes("CONSTR_IDENTITY") || cons.includes("CONSTR_GENERATED")) return "add-column-volatile-default";
          return def ? "add-column-default" : "add-column-nullable";
        }
        case "AT_DropColumn":
          return "drop-column";
        case "AT_AlterColumnType":
          return fresh ? "alter-column-type-safe" : "alter-column-type";
        case "AT_SetNotNull":
          return fresh || ctx.notNullChecks.has(target) ? "set-not-null-validated" : "set-not-null";
        case "AT_DropNotNull":
          return "drop-not-null";
        case "AT_ColumnDefault":
        case "AT_CookedColumnDefault":
          return "column-default";
        case "AT_AddIdentity":
        case "AT_SetIdentity":
        case "AT_DropIdentity":
        case "AT_DropExpression":
          return "identity";
        case "AT_AddConstraint": {
          const k = cmd.def?.Constraint;
          if (fresh) return "add-constraint-new-table";
          if (k?.skip_validation) return "add-constraint-not-valid";
          if (k?.contype === "CONSTR_FOREIGN") return "add-foreign-key";
          if (k?.contype === "CONSTR_CHECK") return "add-check";
          if (k?.indexname) return "add-unique-using-index";
          return "add-unique";
        }
        case "AT_ValidateConstraint":
          return "validate-constraint";
        case "AT_DropConstraint":
          return "drop-constraint";
        case "AT_EnableRowSecurity":
        case "AT_DisableRowSecurity":
        case "AT_ForceRowSecurity":
        case "AT_NoForceRowSecurity":
          return "row-level-security";
        default:
          return "alter-table-other";
      }
    })();
    return { rule: RULES[id], operation: `ALTER TABLE ${String(cmd.subtype).replace("AT_", "")}`, target };
  });
}

const DROP_RULE: Record<string, string> = {
  OBJECT_TABLE: "drop-table",
  OBJECT_SCHEMA: "drop-schema",
  OBJECT_TYPE: "drop-type",
  OBJECT_DOMAIN: "drop-type",
  OBJECT_SEQUENCE: "drop-sequence",
  OBJECT_VIEW: "drop-view",
  OBJECT_MATVIEW: "drop-view",
  OBJECT_POLICY: "drop-policy",
  OBJECT_FUNCTION: "drop-function",
  OBJECT_PROCEDURE: "drop-function",
  OBJECT_TRIGGER: "drop-trigger",
};

/** The rules that apply to one statement (ALTER TABLE gives one per subcommand). */
export function classify(s: Statement, ctx: LintContext): Classified[] {
  const n = s.node;
  const one = (id: string, target = ""): Classified[] => [{ rule: RULES[id], operation: s.kind.replace(/Stmt$/, ""), target }];
  switch (s.kind) {
    case "AlterTableStmt":
      return n.objtype && n.objtype !== "OBJECT_TABLE" ? one("alter-table-other", relKey(n.relation)) : alterTable(s, ctx);
    case "CreateStmt":
    case "CreateTableAsStmt":
      return one("create-table", relKey(n.relation ?? n.into?.rel));
    case "IndexStmt": {
      const rel = relKey(n.relation);
      return one(n.concurrent ? "create-index-concurrently" : ctx.createdTables.has(rel) ? "create-index-new-table" : "create-index", `${rel} ${n.idxname ?? ""}`.trim());
    }
    case "DropStmt":
      if (n.removeType === "OBJECT_INDEX") return one(n.concurrent ? "drop-index-concurrently" : "drop-index");
      return one(DROP_RULE[n.removeType] ?? "other");
    case "RenameStmt": {
      const swap = n.renameType === "OBJECT_COLUMN" && isTypeChangeHelper(n.subname, n.newname);
      return one(n.renameType === "OBJECT_INDEX" ? "rename-index" : swap ? "swap-column" : "rename", relKey(n.relation));
    }
    case "CreateFunctionStmt":
      return one("function", nameList(n.funcname).join("."));
    case "CreateTrigStmt":
      return one("create-trigger", `${relKey(n.relation)} ${n.trigname}`);
    case "AlterObjectSchemaStmt":
      return one("set-schema");
    case "CreateEnumStmt":
    case "CompositeTypeStmt":
    case "CreateDomainStmt":
      return one("create-type");
    case "AlterEnumStmt":
      return one(n.newVal && !n.oldVal ? "enum-add-value" : "alter-type-other");
    case "CreateSchemaStmt":
      return one("create-schema");
    case "CreateSeqStmt":
    case "AlterSeqStmt":
      return one("sequence");
    case "ViewStmt":
      return one("view");
    case "CreatePolicyStmt":
    case "AlterPolicyStmt":
      return one("policy", relKey(n.table));
    case "CreateRoleStmt":
    case "AlterRoleStmt":
    case "DropRoleStmt":
    case "GrantStmt":
    case "GrantRoleStmt":
      return one("role");
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
      return one("data-change", relKey(n.relation));
    case "TruncateStmt":
      return one("truncate");
    case "TransactionStmt":
      return one("transaction-control");
    case "VariableSetStmt":
      return one("setting");
    case "CommentStmt":
      return one("comment");
    case "SelectStmt":
      return one("select");
    default:
      return one("other");
  }
}

/** The statements a DO block runs (its static SQL), parsed; [] when the body is not plain PL/pgSQL. */
export function doBlockStatements(s: Statement): ParsedSql[] {
  const body = s.node.args?.find((a: any) => a.DefElem?.defname === "as")?.DefElem?.arg?.String?.sval;
  if (typeof body !== "string") return [];
  let tree: unknown;
  try {
    tree = parsePlpgsqlBlock(body);
  } catch {
    return [];
  }
  const queries: string[] = [];
  const walk = (x: any): void => {
    if (!x || typeof x !== "object") return;
    if (x.PLpgSQL_stmt_execsql) queries.push(x.PLpgSQL_stmt_execsql.sqlstmt?.PLpgSQL_expr?.query ?? "");
    for (const v of Object.values(x)) walk(v);
  };
  walk(tree);
  const out: ParsedSql[] = [];
  for (const q of queries) {
    try {
      out.push(parseSql(q, "<do block>"));
    } catch {
      // Not plain SQL (dynamic, templated): nothing to classify.
    }
  }
  return out;
}
