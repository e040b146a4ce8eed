/**
 * guards: make every statement safe to run again after a half-applied migration.
 * IF [NOT] EXISTS where PostgreSQL has it; a DO block that checks the catalog (or catches exactly
 * the duplicate-object SQLSTATE) where it has not.
 */
import type { Edit, Note, Statement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { findWord, matchWords, skipQualifiedName, splitTopLevel, tokenAt } from "../src/sql/tokens.js";
import { listSql, nameList, quoteLiteral, relKey, relSql, type RangeVar } from "../src/sql/names.js";
import type { Token } from "../src/sql/parse.js";
import { constraintMissing, dollarTag, regclass } from "../src/sql/phase-sql.js";

const ID = "guards";

/** Statement kinds that are harmless to run twice as they are, or are not schema objects. */
const IDEMPOTENT = new Set([
  "DoStmt", "VariableSetStmt", "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "CommentStmt", "GrantStmt",
  "GrantRoleStmt", "AlterSeqStmt", "AlterPolicyStmt", "AlterRoleStmt", "AlterDefaultPrivilegesStmt", "RefreshMatViewStmt",
  "TruncateStmt", "VacuumStmt", "TransactionStmt", "AlterOwnerStmt", "AlterTableSpaceOptionsStmt", "ExplainStmt",
  "LockStmt", "NotifyStmt", "CallStmt", "ReindexStmt", "ClusterStmt", "SecLabelStmt", "AlterFunctionStmt",
]);

/** ALTER TABLE subcommands that can be repeated without error. */
const IDEMPOTENT_CMDS = new Set([
  "AT_ColumnDefault", "AT_CookedColumnDefault", "AT_SetNotNull", "AT_DropNotNull",
  "AT_EnableRowSecurity", "AT_DisableRowSecurity", "AT_ForceRowSecurity", "AT_NoForceRowSecurity", "AT_SetIdentity",
  "AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_SetStorage", "AT_SetCompression", "AT_ClusterOn",
  "AT_DropCluster", "AT_ReplicaIdentity", "AT_ValidateConstraint", "AT_SetRelOptions", "AT_ResetRelOptions",
  "AT_ReplaceRelOptions", "AT_ChangeOwner", "AT_SetLogged", "AT_SetUnLogged", "AT_AlterConstraint", "AT_EnableTrig",
  "AT_DisableTrig", "AT_EnableTrigAll", "AT_DisableTrigAll", "AT_EnableTrigUser", "AT_DisableTrigUser",
  "AT_SetAccessMethod", "AT_SetTableSpace",
]);

/** DROP <object type> keywords, per DropStmt.removeType. */
const DROP_WORDS: Record<string, string[]> = {
  OBJECT_TABLE: ["TABLE"],
  OBJECT_INDEX: ["INDEX", "CONCURRENTLY?"],
  OBJECT_SEQUENCE: ["SEQUENCE"],
  OBJECT_VIEW: ["VIEW"],
  OBJECT_MATVIEW: ["MATERIALIZED", "VIEW"],
  OBJECT_SCHEMA: ["SCHEMA"],
  OBJECT_TYPE: ["TYPE"],
  OBJECT_DOMAIN: ["DOMAIN"],
  OBJECT_POLICY: ["POLICY"],
  OBJECT_FOREIGN_TABLE: ["FOREIGN", "TABLE"],
  OBJECT_EXTENSION: ["EXTENSION"],
  OBJECT_FUNCTION: ["FUNCTION"],
  OBJECT_PROCEDURE: ["PROCEDURE"],
  OBJECT_TRIGGER: ["TRIGGER"],
  OBJECT_COLLATION: ["COLLATION"],
};

/** The SQLSTATE condition a repeated CREATE raises, for objects with no catalog check below. */
const DUPLICATE_CONDITION: Record<string, string> = {
  CreateEnumStmt: "duplicate_object", // 42710 type "..." already exists
  CompositeTypeStmt: "duplicate_object",
  CreateDomainStmt: "duplicate_object",
  CreatePolicyStmt: "duplicate_object", // 42710 policy "..." for table "..." already exists
  CreateRoleStmt: "duplicate_object", // 42710 role "..." already exists
  ViewStmt: "duplicate_table", // 42P07 relation "..." already exists
};

class Collector {
  edits: Edit[] = [];
  notes: Note[] = [];
  insertAfter(t: Token | undefined, text: string): void {
    if (t) this.edits.push({ start: t.end, end: t.end, text, by: ID });
  }
  note(s: Statement, message: string): void {
    this.notes.push({ statement: s.index, transform: ID, message });
  }
  /** Wraps the statement in a DO block: `DO $$ BEGIN <head> <stmt>; <tail> END $$`. */
  wrap(s: Statement, head: string, tail: string): void {
    const tag = dollarTag(s.text);
    this.edits.push({ start: s.start, end: s.start, text: `DO ${tag} BEGIN\n${head}`, by: ID });
    this.edits.push({ start: s.end, end: s.end, text: `;\n${tail}END ${tag}`, by: ID });
  }
  wrapIf(s: Statement, condition: string): void {
    this.wrap(s, `IF ${condition} THEN\n`, "END IF;\n");
  }
  wrapCatch(s: Statement, condition: string): void {
    this.wrap(s, "", `EXCEPTION\n\tWHEN ${condition} THEN null;\n`);
  }
}


/**
 * The atttypmod PostgreSQL stores for a type name, or undefined when drizzle-guard cannot tell.
 * (varchar/char: n + 4; numeric: (p << 16 | s) + 4; time/timestamp/bit: the number; none: -1.)
 */
function typmodOf(base: string, mods: number[]): number | undefined {
  if (mods.length === 0) return base === "bpchar" || base === "interval" ? undefined : -1;
  switch (base) {
    case "varchar":
    case "bpchar":
      return mods.length === 1 ? mods[0] + 4 : undefined;
    case "numeric":
      return mods.length <= 2 ? ((mods[0] << 16) | (mods[1] ?? 0)) + 4 : undefined;
    case "timestamp":
    case "timestamptz":
    case "time":
    case "timetz":
    case "bit":
    case "varbit":
      return mods.length === 1 ? mods[0] : undefined;
    default:
      return undefined;
  }
}

/** "Column does not have this type yet", for ALTER COLUMN ... SET DATA TYPE (repeating it can fail, e.g. once a view uses the column). */
function typeDiffers(rel: RangeVar, column: string, typeName: any): string | undefined {
  const names = nameList(typeName?.names);
  // libpg-query leaves a zero out of its JSON: `{ ival: {} }` is 0 (numeric(10, 0)).
  const mods: number[] = (typeName?.typmods ?? []).map((m: any) => (m?.A_Const?.ival ? (m.A_Const.ival.ival ?? 0) : undefined));
  if (!names.length || mods.some((m) => typeof m !== "number")) return undefined;
  const typmod = typmodOf(names[names.length - 1], mods);
  if (typmod === undefined) return undefined;
  const type = listSql(names) + "[]".repeat((typeName.arrayBounds ?? []).length);
  return (
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${regclass(rel)} AND attname = ${quoteLiteral(column)}` +
    ` AND atttypid = to_regtype(${quoteLiteral(type)}) AND atttypmod = ${typmod})`
  );
}

function guardDrop(s: Statement, c: Collector): void {
  const n = s.node;
  if (n.missing_ok) return;
  const words = DROP_WORDS[n.removeType];
  if (!words) return c.note(s, `DROP of ${String(n.removeType).replace("OBJECT_", "").toLowerCase()} left without IF EXISTS`);
  const last = matchWords(s.tokens, 1, words);
  if (last < 0) return c.note(s, "DROP keywords not found where expected; left as is");
  c.insertAfter(s.tokens[last], " IF EXISTS");
}

function guardCreate(s: Statement, c: Collector, words: string[]): void {
  // CREATE [UNIQUE|UNLOGGED|TEMP|...] <words> : insert after the object keyword(s).
  const first = findWord(s.tokens, words[0].replace("?", ""));
  const last = first < 0 ? -1 : matchWords(s.tokens, first, words);
  if (last < 0) return c.note(s, `${words[0]} keyword not found; left as is`);
  c.insertAfter(s.tokens[last], " IF NOT EXISTS");
}

function guardAlterTable(s: Statement, ctx: TransformContext, c: Collector): void {
  const n = s.node;
  if (n.objtype && n.objtype !== "OBJECT_TABLE") {
    // ALTER INDEX / SEQUENCE / VIEW ... : the subcommands drizzle-kit emits there are idempotent.
    return;
  }
  const rel: RangeVar = n.relation;
  const relAt = tokenAt(s.tokens, ctx.sql.offset(rel.location ?? 0));
  if (relAt < 0) return c.note(s, "table name not found; left as is");
  const tableWord = findWord(s.tokens, "TABLE");
  const droppedAt = ctx.droppedTables.get(relKey(rel));
  if (!n.missing_ok && droppedAt !== undefined && droppedAt > s.index) {
    // The table is dropped later in this file: on a re-run it is already gone.
    c.insertAfter(s.tokens[tableWord], " IF EXISTS");
  }
  const groups = splitTopLevel(s.tokens, skipQualifiedName(s.tokens, relAt));
  const cmds: any[] = (n.cmds ?? []).map((x: any) => x.AlterTableCmd);
  if (groups.length !== cmds.length) return c.note(s, "could not match ALTER TABLE subcommands to the text; left as is");
  const conditions: string[] = [];
  cmds.forEach((cmd, i) => {
    const g = groups[i];
    switch (cmd.subtype) {
      case "AT_AddColumn":
        if (!cmd.missing_ok) c.insertAfter(g[matchWords(g, 0, ["ADD", "COLUMN?"])], " IF NOT EXISTS");
        break;
      case "AT_DropColumn":
        if (!cmd.missing_ok) c.insertAfter(g[matchWords(g, 0, ["DROP", "COLUMN?"])], " IF EXISTS");
        break;
      case "AT_DropConstraint":
        if (!cmd.missing_ok) c.insertAfter(g[matchWords(g, 0, ["DROP", "CONSTRAINT"])], " IF EXISTS");
        break;
      case "AT_DropIdentity":
        if (!cmd.missing_ok) c.insertAfter(g[findWord(g, "IDENTITY")], " IF EXISTS");
        break;
      case "AT_DropExpression":
        if (!cmd.missing_ok) c.insertAfter(g[findWord(g, "EXPRESSION")], " IF EXISTS");
        break;
      case "AT_AddConstraint": {
        const name = cmd.def?.Constraint?.conname;
        if (name) conditions.push(constraintMissing(rel, name));
        else c.note(s, "unnamed constraint cannot be checked in the catalog; left as is");
        break;
      }
      case "AT_AlterColumnType": {
        const condition = typeDiffers(rel, cmd.name, cmd.def?.ColumnDef?.typeName);
        if (condition) conditions.push(condition);
        else c.note(s, "SET DATA TYPE to a type whose modifiers drizzle-guard cannot compare; left without a guard");
        break;
      }
      case "AT_AddIdentity":
        conditions.push(
          `EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${regclass(rel)} AND attname = ${quoteLiteral(cmd.name)} AND attidentity = '')`,
        );
        break;
      default:
        if (!IDEMPOTENT_CMDS.has(cmd.subtype)) c.note(s, `ALTER TABLE ${cmd.subtype} left without a guard`);
    }
  });
  if (conditions.length) c.wrapIf(s, conditions.join("\n\tAND "));
}

function guardRename(s: Statement, c: Collector): void {
  const n = s.node;
  const rel: RangeVar | undefined = n.relation;
  const objectNames = nameList(n.object?.List?.items ?? (Array.isArray(n.object) ? n.object : undefined));
  let condition: string | undefined;
  switch (n.renameType) {
    case "OBJECT_COLUMN":
      if (rel)
        condition = `EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${regclass(rel)} AND attname = ${quoteLiteral(n.subname)} AND NOT attisdropped)`;
      break;
    case "OBJECT_TABLE":
    case "OBJECT_SEQUENCE":
    case "OBJECT_VIEW":
    case "OBJECT_MATVIEW":
    case "OBJECT_INDEX":
    case "OBJECT_FOREIGN_TABLE":
      if (rel) condition = `${regclass(rel)} IS NOT NULL`;
      break;
    case "OBJECT_TABCONSTRAINT":
      if (rel) condition = `NOT ${constraintMissing(rel, n.subname)}`;
      break;
    case "OBJECT_POLICY":
      if (rel)
        condition = `EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = ${regclass(rel)} AND polname = ${quoteLiteral(n.subname)})`;
      break;
    case "OBJECT_SCHEMA":
      condition = `EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ${quoteLiteral(n.subname)})`;
      break;
    case "OBJECT_ROLE":
      condition = `EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(n.subname)})`;
      break;
    case "OBJECT_TYPE":
    case "OBJECT_DOMAIN":
      if (objectNames.length) condition = `to_regtype(${quoteLiteral(listSql(objectNames))}) IS NOT NULL`;
      break;
  }
  if (condition) c.wrapIf(s, condition);
  else c.note(s, `RENAME of ${String(n.renameType).replace("OBJECT_", "").toLowerCase()} left without a guard`);
}

function guardSetSchema(s: Statement, c: Collector): void {
  const n = s.node;
  if (n.missing_ok) return;
  if (n.relation) return c.wrapIf(s, `${regclass(n.relation)} IS NOT NULL`);
  const names = nameList(n.object?.List?.items);
  if ((n.objectType === "OBJECT_TYPE" || n.objectType === "OBJECT_DOMAIN") && names.length)
    return c.wrapIf(s, `to_regtype(${quoteLiteral(listSql(names))}) IS NOT NULL`);
  c.note(s, "SET SCHEMA left without a guard");
}

export const guards: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "IF [NOT] EXISTS, or a DO block checking the catalog, so a half-applied migration can be re-run",
    docs: "docs/transforms.md#guards",
  },
  apply(ctx: TransformContext): TransformResult {
    const c = new Collector();
    for (const s of ctx.sql.statements) {
      const n = s.node;
      switch (s.kind) {
        case "CreateStmt":
          if (!n.if_not_exists) guardCreate(s, c, ["TABLE"]);
          break;
        case "CreateSchemaStmt":
          if (!n.if_not_exists) guardCreate(s, c, ["SCHEMA"]);
          break;
        case "CreateSeqStmt":
          if (!n.if_not_exists) guardCreate(s, c, ["SEQUENCE"]);
          break;
        case "CreateExtensionStmt":
          if (!n.if_not_exists) guardCreate(s, c, ["EXTENSION"]);
          break;
        case "CreateTableAsStmt":
          if (!n.if_not_exists) guardCreate(s, c, n.objtype === "OBJECT_MATVIEW" ? ["VIEW"] : ["TABLE"]);
          break;
        case "IndexStmt":
          if (!n.if_not_exists) {
            if (!n.idxname) c.note(s, "unnamed index cannot take IF NOT EXISTS; left as is");
            else guardCreate(s, c, ["INDEX", "CONCURRENTLY?"]);
          }
          break;
        case "DropStmt":
          guardDrop(s, c);
          break;
        case "DropRoleStmt":
          if (!n.missing_ok) c.insertAfter(s.tokens[matchWords(s.tokens, 1, ["ROLE"])], " IF EXISTS");
          break;
        case "AlterEnumStmt":
          if (n.newVal && !n.skipIfNewValExists) c.insertAfter(s.tokens[findWord(s.tokens, "VALUE")], " IF NOT EXISTS");
          else if (n.oldVal) c.note(s, "RENAME VALUE left without a guard");
          break;
        case "AlterTableStmt":
          guardAlterTable(s, ctx, c);
          break;
        case "RenameStmt":
          guardRename(s, c);
          break;
        case "AlterObjectSchemaStmt":
          guardSetSchema(s, c);
          break;
        case "ViewStmt":
          if (!n.replace) c.wrapCatch(s, DUPLICATE_CONDITION.ViewStmt);
          break;
        case "CreateFunctionStmt":
          if (!n.replace) c.note(s, "CREATE FUNCTION without OR REPLACE left as is");
          break;
        case "CreateTrigStmt":
          if (!n.replace) c.note(s, "CREATE TRIGGER without OR REPLACE left as is");
          break;
        default:
          if (DUPLICATE_CONDITION[s.kind]) c.wrapCatch(s, DUPLICATE_CONDITION[s.kind]);
          else if (!IDEMPOTENT.has(s.kind)) c.note(s, `${s.kind} is not known to drizzle-guard; passed through unchanged`);
      }
    }
    return { edits: c.edits, notes: c.notes };
  },
};

export default guards;
