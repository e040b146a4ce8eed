/**
 * Down files: the inverse of one rewritten migration file, statement by statement in reverse
 * order. What a statement dropped or changed is taken from drizzle-kit's snapshot before the
 * migration (old column type, default and nullability, old index, enum, constraint, table). A
 * step that cannot give the data back, or that drizzle-guard cannot invert, is written as
 * `-- IRREVERSIBLE: <why>` (followed by the statement that brings the structure back, if any);
 * the runner stops there unless --force. The statements get the same guards as up files (the
 * guards transform), and the file the same transaction marker. Pure: text in, text out.
 */
import { applyEdits } from "../engine.js";
import { buildContext } from "../rewrite-sql.js";
import { parsePlpgsqlBlock, parseSql, type ParsedSql, type Statement } from "../sql/parse.js";
import { castSql, columnExists, doIf, isTypeChangeHelper, notNullHelperName, typeChangeNames, typeChangeSync } from "../sql/phase-sql.js";
import { listKey, listSql, nameList, oneLine, quoteIdent, quoteLiteral, relKey, relSql, type RangeVar } from "../sql/names.js";
import { guards } from "../../transforms/guards.js";
import {
  addConstraintSql,
  columnSql,
  columnType,
  constraintIndexSql,
  createTableSql,
  enumSql,
  findIndex,
  findTable,
  indexSql,
  policySql,
  qualified,
  rlsEnabled,
  sequenceSql,
  viewSql,
  type Snapshot,
} from "./snapshot-sql.js";

export const IRREVERSIBLE = "IRREVERSIBLE";
const BREAKPOINT = "--> statement-breakpoint";
const NON_TX_HEADER = "-- drizzle-guard: transaction=off\n-- Runs without a transaction, like the file it undoes: each statement on its own.\n";

export const downFile = (tag: string) => `${tag}.down.sql`;

/** One inverse: comment lines (without `-- `), then statements (without `;`). */
interface Step {
  comments: string[];
  sql: string[];
}

export interface DownFile {
  text: string;
  nonTransactional: boolean;
  /** The reasons of every IRREVERSIBLE step, in file order. */
  irreversible: string[];
}

// A comment names objects, whose quoted names can hold line breaks: kept on one line, the rest of a name
// would be SQL in the down file.
const step = (sql: string[] | string, ...comments: string[]): Step => ({ comments: comments.map(oneLine), sql: Array.isArray(sql) ? sql : [sql] });
const note = (...comments: string[]): Step => step([], ...comments);
const irreversible = (why: string, sql: string[] | string = []): Step => step(sql, `${IRREVERSIBLE}: ${why}`);
const cannot = (what: string): Step => irreversible(`drizzle-guard cannot invert ${what}`);
const nothing = (why: string): Step => note(`nothing to undo: ${why}`);

/** Names of a DropStmt object (a List, a TypeName or a String node). */
function objectNames(o: any): string[] {
  if (o?.List) return nameList(o.List.items);
  if (o?.TypeName) return nameList(o.TypeName.names);
  if (o?.String) return [o.String.sval];
  if (o?.ObjectWithArgs) return nameList(o.ObjectWithArgs.objname);
  return [];
}

/** Canonical (base, modifiers) of a type written by drizzle-kit ("numeric(12, 2)") or parsed (pg_catalog.int8). */
const ALIASES: Record<string, string> = {
  integer: "int4", int: "int4", bigint: "int8", smallint: "int2", "character varying": "varchar", decimal: "numeric",
  serial: "int4", bigserial: "int8", smallserial: "int2",
};
function canonicalType(text: string): { base: string; mods: number[]; array: boolean } {
  const array = /\[\d*\]/.test(text);
  const m = /^\s*([a-z_ ]+?)\s*(?:\((\d+(?:\s*,\s*\d+)?)\))?\s*(?:\[\d*\])*\s*$/i.exec(text);
  const base = (m?.[1] ?? text).toLowerCase();
  return { base: ALIASES[base] ?? base, mods: m?.[2] ? m[2].split(",").map((x) => Number(x.trim())) : [], array };
}
function typeNameText(typeName: any): string {
  const names = nameList(typeName?.names);
  // libpg-query leaves a zero out of its JSON: `{ ival: {} }` is 0.
  const mods: number[] = (typeName?.typmods ?? []).map((x: any) => (x?.A_Const?.ival ? (x.A_Const.ival.ival ?? 0) : "?"));
  return `${names[names.length - 1] ?? "?"}${mods.length ? `(${mods.join(",")})` : ""}${"[]".repeat((typeName?.arrayBounds ?? []).length)}`;
}

const STRINGS = new Set(["text", "varchar"]);
const INTEGERS = new Set(["int2", "int4", "int8"]);

/**
 * True when converting `from` to `to` never changes a value silently: it keeps every value, or
 * fails (too long, out of range) instead of cutting or rounding.
 */
export function lossless(fromText: string, toText: string): boolean {
  const from = canonicalType(fromText);
  const to = canonicalType(toText);
  if (from.array !== to.array) return false;
  if (from.base === to.base && from.mods.join() === to.mods.join()) return true;
  if (STRINGS.has(from.base) && STRINGS.has(to.base)) return true;
  if (INTEGERS.has(from.base) && (INTEGERS.has(to.base) || to.base === "numeric")) return true;
  if (from.base === "numeric" && to.base === "numeric") return to.mods.length === 0 || (from.mods.length > 0 && (to.mods[1] ?? 0) >= (from.mods[1] ?? 0));
  return false;
}

interface Ctx {
  /** Columns the file adds (`schema.table.column`). */
  addedColumns: Set<string>;
  /** The file runs without a transaction: indexes are created and dropped CONCURRENTLY. */
  concurrent: boolean;
  /** The snapshot before the migration: where what a statement dropped or changed is found. */
  prev: Snapshot | undefined;
  /** The snapshot after this file: the definition of a constraint it validates. */
  next: Snapshot | undefined;
}

function tableOf(ctx: Ctx, rel: RangeVar): Record<string, any> | undefined {
  return findTable(ctx.prev, relKey(rel));
}

function columnOf(ctx: Ctx, rel: RangeVar, name: string): Record<string, any> | undefined {
  return tableOf(ctx, rel)?.columns?.[name];
}

/** The column whose NOT NULL helper constraint (src/sql/phase-sql.ts) has this name, if any. */
function notNullHelperColumn(ctx: Ctx, rel: RangeVar, name: string): string | undefined {
  const columns = new Set([...Object.keys(tableOf(ctx, rel)?.columns ?? {}), ...Object.keys(findTable(ctx.next, relKey(rel))?.columns ?? {})]);
  // A type change's new column (`<column>_dg_new`) gets the helper too.
  const all = [...columns].flatMap((c) => [c, typeChangeNames(rel.relname, c).column]);
  return all.find((c) => notNullHelperName(rel.relname, c) === name);
}

/** True when a snapshot column's type is one of the snapshot's enums. */
function isEnum(snap: Snapshot | undefined, col: Record<string, any>): boolean {
  return !!snap?.enums?.[`${col.typeSchema || "public"}.${String(col.type).replace(/\[\d*\]/g, "")}`];
}

/**
 * A column of `rel` whose type changes through expand/contract in this migration and whose sync
 * trigger (and function) is named `sync`: its type before (`prev`) and after (`next`).
 */
function typeChangeOf(ctx: Ctx, rel: RangeVar, sync: string): { column: string; prev: any; next: any } | undefined {
  const before = tableOf(ctx, rel);
  const after = findTable(ctx.next, relKey(rel));
  for (const [name, prev] of Object.entries<any>(before?.columns ?? {})) {
    const next = after?.columns?.[name];
    if (next && typeChangeNames(rel.relname, name).sync === sync) return { column: name, prev, next };
  }
  return undefined;
}

/** The sync function and trigger of a type change, as the expand file wrote them (the type as the snapshot after it spells it). */
function syncSql(ctx: Ctx, rel: RangeVar, change: { column: string; prev: any; next: any }) {
  const viaText = isEnum(ctx.prev, change.prev) && isEnum(ctx.next, change.next);
  // drizzle-kit writes an enum type with its schema (`"public"."kind"`): the expand file's spelling.
  const type = isEnum(ctx.next, change.next) ? `${quoteIdent(change.next.typeSchema || "public")}.${columnType({ ...change.next, typeSchema: undefined })}` : columnType(change.next);
  const sql = typeChangeSync(rel, change.column, type, viaText);
  const bare = (x: string) => x.replace(/;$/, "");
  return { createFunction: bare(sql.createFunction), createTrigger: bare(sql.createTrigger) };
}

/** The table (as the statement names it) of the sync function `names` ([schema,] name): searched in the snapshot before. */
function syncFunctionTable(ctx: Ctx, names: string[]): { rel: RangeVar; change: { column: string; prev: any; next: any } } | undefined {
  const schema = names.length > 1 ? names[0] : "public";
  for (const t of Object.values<any>(ctx.prev?.tables ?? {})) {
    if ((t.schema || "public") !== schema) continue;
    const rel: RangeVar = names.length > 1 ? { schemaname: schema, relname: t.name } : { relname: t.name };
    const change = typeChangeOf(ctx, rel, names[names.length - 1]);
    if (change) return { rel, change };
  }
  return undefined;
}

/**
 * The inverse of the contract file's swap (DROP COLUMN "c"; RENAME "c_dg_new" TO "c"): the new
 * column back under its helper name, the old column added again and filled from it (cast back),
 * with its old default and NOT NULL, in one guarded statement.
 */
function invertSwap(ctx: Ctx, rel: RangeVar, column: string): Step {
  const old = columnOf(ctx, rel, column);
  const now = findTable(ctx.next, relKey(rel))?.columns?.[column];
  if (!old || !now) return cannot(`the swap of ${relKey(rel)}.${column} (its type before or after is not in the snapshots)`);
  const t = relSql(rel);
  const helper = typeChangeNames(rel.relname, column).column;
  const col = quoteIdent(column);
  const back = castSql(helper, columnType(old), isEnum(ctx.prev, old) && isEnum(ctx.next, now));
  const sql = doIf(`NOT ${columnExists(rel, helper)}`, [
    `ALTER TABLE ${t} RENAME COLUMN ${col} TO ${quoteIdent(helper)}`,
    `ALTER TABLE ${t} ADD COLUMN ${col} ${columnType(old)}`,
    `UPDATE ${t} SET ${col} = ${back}`,
    ...(old.default !== undefined ? [`ALTER TABLE ${t} ALTER COLUMN ${col} SET DEFAULT ${old.default}`] : []),
    ...(old.notNull ? [`ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL`] : []),
  ].join(";\n")).replace(/;$/, "");
  return lossless(old.type, now.type) && lossless(now.type, old.type)
    ? step(sql)
    : irreversible(`${relKey(rel)}.${column} changed type from ${old.type} to ${now.type}: converting values back may not give the old values`, sql);
}

/** Subcommands whose inverse needs the table as it was before. */
const SNAPSHOT_CMDS = new Set(["AT_DropColumn", "AT_AlterColumnType", "AT_ColumnDefault", "AT_DropIdentity", "AT_SetNotNull", "AT_DropNotNull"]);

function invertAlterTable(s: Statement, ctx: Ctx): Step[] {
  const n = s.node;
  if (n.objtype && n.objtype !== "OBJECT_TABLE") return [cannot(`ALTER ${String(n.objtype).replace("OBJECT_", "")}`)];
  const rel: RangeVar = n.relation;
  const t = relSql(rel);
  const table = tableOf(ctx, rel);
  const steps: Step[] = [];
  for (const c of [...(n.cmds ?? [])].reverse()) {
    const cmd = c.AlterTableCmd;
    const col = cmd.name ? quoteIdent(cmd.name) : "";
    const old = cmd.name ? columnOf(ctx, rel, cmd.name) : undefined;
    if (cmd.name && cmd.subtype !== "AT_DropColumn" && ctx.addedColumns.has(`${relKey(rel)}.${cmd.name}`)) {
      // Dropping the column (later in the down file) undoes this too, and a second run finds no column.
      steps.push(nothing(`column ${relKey(rel)}.${cmd.name} is added by this file`));
      continue;
    }
    if (ctx.prev && !table && SNAPSHOT_CMDS.has(cmd.subtype)) {
      steps.push(nothing(`table ${relKey(rel)} is not in the snapshot before this migration (created by it)`));
      continue;
    }
    switch (cmd.subtype) {
      case "AT_AddColumn":
        steps.push(step(`ALTER TABLE ${t} DROP COLUMN ${quoteIdent(cmd.def?.ColumnDef?.colname)}`));
        break;
      case "AT_DropColumn":
        steps.push(
          old
            ? irreversible(`the values of column ${relKey(rel)}.${cmd.name} are lost: it is added back empty`, `ALTER TABLE ${t} ADD COLUMN ${columnSql(old, table?.schema)}`)
            : irreversible(`column ${relKey(rel)}.${cmd.name} cannot be added back: ${ctx.prev ? "it is not in the snapshot before this migration" : "no snapshot before this migration"}`),
        );
        break;
      case "AT_AddConstraint": {
        const k = cmd.def?.Constraint;
        // An unnamed primary key gets PostgreSQL's name <table>_pkey.
        const name = k?.conname ?? (k?.contype === "CONSTR_PRIMARY" ? `${rel.relname}_pkey` : undefined);
        if (!name) {
          steps.push(cannot("ADD CONSTRAINT without a name"));
          break;
        }
        const drop = `ALTER TABLE ${t} DROP CONSTRAINT ${quoteIdent(name)}`;
        if (!k.indexname) {
          steps.push(step(drop));
          break;
        }
        // USING INDEX: dropping the constraint drops the index it took over; the index comes back alone.
        const index = [findTable(ctx.next, relKey(rel)), table].map((x) => x && constraintIndexSql(x, name, k.indexname, ctx.concurrent)).find(Boolean);
        steps.push(index ? step([drop, index]) : irreversible(`index ${k.indexname} is dropped with constraint ${name}, and its definition is not in the snapshot`, drop));
        break;
      }
      case "AT_DropConstraint": {
        const add = table && addConstraintSql(table, cmd.name);
        const helper = notNullHelperColumn(ctx, rel, cmd.name);
        if (add) steps.push(step(add));
        // drizzle-guard's own NOT NULL helper (in no snapshot): back as it was before the contract file dropped it.
        else if (helper) steps.push(step(`ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(cmd.name)} CHECK (${quoteIdent(helper)} IS NOT NULL)`));
        else if (ctx.prev && (table || !findTable(ctx.prev, relKey(rel))))
          steps.push(nothing(`constraint ${cmd.name} is not in the snapshot before this migration (a helper constraint)`));
        else steps.push(cannot(`DROP CONSTRAINT ${cmd.name} (no snapshot before this migration)`));
        break;
      }
      case "AT_AlterColumnType": {
        if (!old) {
          steps.push(cannot(`SET DATA TYPE of ${relKey(rel)}.${cmd.name} (its old type is not in the snapshot)`));
          break;
        }
        const back = `ALTER TABLE ${t} ALTER COLUMN ${col} SET DATA TYPE ${columnType(old)}`;
        const now = typeNameText(cmd.def?.ColumnDef?.typeName);
        steps.push(
          lossless(old.type, now) && lossless(now, old.type)
            ? step(back)
            : irreversible(`${relKey(rel)}.${cmd.name} changed type from ${old.type} to ${now}: converting values back may not give the old values`, back),
        );
        break;
      }
      case "AT_ColumnDefault":
        if (!table) steps.push(cannot(`SET/DROP DEFAULT of ${relKey(rel)}.${cmd.name} (the table is not in the snapshot)`));
        else if (old?.default !== undefined) steps.push(step(`ALTER TABLE ${t} ALTER COLUMN ${col} SET DEFAULT ${old.default}`));
        else steps.push(step(`ALTER TABLE ${t} ALTER COLUMN ${col} DROP DEFAULT`));
        break;
      case "AT_SetNotNull":
        steps.push(old?.notNull ? nothing(`${relKey(rel)}.${cmd.name} was NOT NULL before`) : step(`ALTER TABLE ${t} ALTER COLUMN ${col} DROP NOT NULL`));
        break;
      case "AT_DropNotNull":
        steps.push(old && !old.notNull ? nothing(`${relKey(rel)}.${cmd.name} was nullable before`) : step(`ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL`));
        break;
      case "AT_EnableRowSecurity":
        steps.push(table && rlsEnabled(table) ? nothing(`row level security of ${relKey(rel)} was on before`) : step(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`));
        break;
      case "AT_DisableRowSecurity":
        steps.push(
          ctx.prev && !(table && rlsEnabled(table))
            ? nothing(`row level security of ${relKey(rel)} was off before`)
            : step(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`),
        );
        break;
      case "AT_ValidateConstraint": {
        // Back to NOT VALID: PostgreSQL has no command for it, so the constraint is added again NOT VALID.
        const def = [findTable(ctx.next, relKey(rel)), table].find((x) => x?.checkConstraints?.[cmd.name] || x?.foreignKeys?.[cmd.name]);
        const add = def && addConstraintSql(def, cmd.name);
        steps.push(
          add
            ? step([`ALTER TABLE ${t} DROP CONSTRAINT ${quoteIdent(cmd.name)}`, `${add} NOT VALID`])
            : nothing(`VALIDATE CONSTRAINT ${cmd.name} only checks existing rows`),
        );
        break;
      }
      case "AT_AddIdentity":
        steps.push(step(`ALTER TABLE ${t} ALTER COLUMN ${col} DROP IDENTITY`));
        break;
      case "AT_DropIdentity":
        steps.push(
          old?.identity
            ? step(`ALTER TABLE ${t} ALTER COLUMN ${col} ADD${columnSql({ name: "", type: "", identity: old.identity }, table?.schema).replace(/^"" /, "")}`)
            : cannot(`DROP IDENTITY of ${relKey(rel)}.${cmd.name} (no identity in the snapshot)`),
        );
        break;
      default:
        steps.push(cannot(`ALTER TABLE ${String(cmd.subtype).replace(/^AT_/, "")}`));
    }
  }
  return steps;
}

function invertDrop(s: Statement, ctx: Ctx): Step[] {
  const n = s.node;
  const steps: Step[] = [];
  for (const o of [...(n.objects ?? [])].reverse()) {
    const names = objectNames(o);
    const key = listKey(names);
    const what = `${String(n.removeType).replace("OBJECT_", "").toLowerCase()} ${names.join(".")}`;
    if (!ctx.prev) {
      steps.push(cannot(`DROP of ${what} (no snapshot before this migration)`));
      continue;
    }
    switch (n.removeType) {
      case "OBJECT_TABLE": {
        const t = findTable(ctx.prev, key);
        steps.push(t ? irreversible(`the rows of table ${key} are lost: it is created again empty`, createTableSql(t)) : cannot(`DROP of ${what} (not in the snapshot)`));
        break;
      }
      case "OBJECT_INDEX": {
        const found = findIndex(ctx.prev, names.length > 1 ? names[0] : undefined, names[names.length - 1]);
        steps.push(found ? step(indexSql(found.table, found.index, !!n.concurrent)) : cannot(`DROP of ${what} (not in the snapshot)`));
        break;
      }
      case "OBJECT_TYPE": {
        const e = ctx.prev.enums?.[key];
        steps.push(e ? step(enumSql(e)) : cannot(`DROP of ${what} (not an enum of the snapshot)`));
        break;
      }
      case "OBJECT_SCHEMA":
        steps.push(step(`CREATE SCHEMA ${quoteIdent(names[0])}`));
        break;
      case "OBJECT_SEQUENCE": {
        const q = ctx.prev.sequences?.[key];
        steps.push(q ? irreversible(`the current value of sequence ${key} is lost: it starts again from its START WITH`, sequenceSql(q)) : cannot(`DROP of ${what} (not in the snapshot)`));
        break;
      }
      case "OBJECT_VIEW":
      case "OBJECT_MATVIEW": {
        const v = ctx.prev.views?.[key];
        const sql = v && viewSql(v);
        steps.push(sql ? step(sql) : cannot(`DROP of ${what} (not in the snapshot)`));
        break;
      }
      case "OBJECT_TRIGGER": {
        // drizzle-guard's sync trigger of a type change: back as the expand file created it.
        const rel: RangeVar = names.length > 2 ? { schemaname: names[0], relname: names[1] } : { relname: names[0] };
        const change = names.length >= 2 ? typeChangeOf(ctx, rel, names[names.length - 1]) : undefined;
        steps.push(change ? step(syncSql(ctx, rel, change).createTrigger) : cannot(`DROP of ${what}`));
        break;
      }
      case "OBJECT_FUNCTION": {
        const found = (o?.ObjectWithArgs?.objargs ?? []).length === 0 ? syncFunctionTable(ctx, names) : undefined;
        steps.push(found ? step(syncSql(ctx, found.rel, found.change).createFunction) : cannot(`DROP of ${what}`));
        break;
      }
      case "OBJECT_POLICY": {
        const tableKey = listKey(names.slice(0, -1));
        const t = findTable(ctx.prev, tableKey);
        const p = t?.policies?.[names[names.length - 1]];
        steps.push(p ? step(policySql(p, listSql(names.slice(0, -1)))) : cannot(`DROP of ${what} (not in the snapshot)`));
        break;
      }
      default:
        steps.push(cannot(`DROP of ${what}`));
    }
  }
  return steps;
}

function invertRename(s: Statement): Step {
  const n = s.node;
  const rel: RangeVar | undefined = n.relation;
  const objects = nameList(n.object?.List?.items);
  const renamed = (r: RangeVar) => relSql({ schemaname: r.schemaname, relname: n.newname });
  switch (n.renameType) {
    case "OBJECT_COLUMN":
      return step(`ALTER TABLE ${relSql(rel!)} RENAME COLUMN ${quoteIdent(n.newname)} TO ${quoteIdent(n.subname)}`);
    case "OBJECT_TABCONSTRAINT":
      return step(`ALTER TABLE ${relSql(rel!)} RENAME CONSTRAINT ${quoteIdent(n.newname)} TO ${quoteIdent(n.subname)}`);
    case "OBJECT_TABLE":
      return step(`ALTER TABLE ${renamed(rel!)} RENAME TO ${quoteIdent(rel!.relname)}`);
    case "OBJECT_VIEW":
    case "OBJECT_INDEX":
    case "OBJECT_SEQUENCE":
      return step(`ALTER ${String(n.renameType).replace("OBJECT_", "")} ${renamed(rel!)} RENAME TO ${quoteIdent(rel!.relname)}`);
    case "OBJECT_POLICY":
      return step(`ALTER POLICY ${quoteIdent(n.newname)} ON ${relSql(rel!)} RENAME TO ${quoteIdent(n.subname)}`);
    case "OBJECT_SCHEMA":
      return step(`ALTER SCHEMA ${quoteIdent(n.newname)} RENAME TO ${quoteIdent(n.subname)}`);
    case "OBJECT_TYPE":
      if (objects.length) return step(`ALTER TYPE ${listSql([...objects.slice(0, -1), n.newname])} RENAME TO ${quoteIdent(objects[objects.length - 1])}`);
  }
  return cannot(`RENAME of ${String(n.renameType).replace("OBJECT_", "").toLowerCase()}`);
}

function invertSetSchema(s: Statement): Step {
  const n = s.node;
  const kind = String(n.objectType).replace("OBJECT_", "");
  if (n.relation && ["TABLE", "VIEW", "SEQUENCE", "MATVIEW"].includes(kind)) {
    const word = kind === "MATVIEW" ? "MATERIALIZED VIEW" : kind;
    return step(`ALTER ${word} ${listSql([n.newschema, n.relation.relname])} SET SCHEMA ${quoteIdent(n.relation.schemaname ?? "public")}`);
  }
  const names = nameList(n.object?.List?.items);
  if (kind === "TYPE" && names.length) {
    return step(`ALTER TYPE ${listSql([n.newschema, names[names.length - 1]])} SET SCHEMA ${quoteIdent(names.length > 1 ? names[0] : "public")}`);
  }
  return cannot(`SET SCHEMA of ${kind.toLowerCase()}`);
}

/**
 * The statements a DO block runs: for a block of drizzle-guard's guards (IF / EXCEPTION around
 * statements), or any block whose statements all change data only (a batched backfill).
 * Undefined for any other block.
 */
function doBlockStatements(s: Statement, file: string): { statements: Statement[]; guardShaped: boolean } | undefined {
  const body = s.node.args?.find((a: any) => a.DefElem?.defname === "as")?.DefElem?.arg?.String?.sval;
  if (typeof body !== "string") return undefined;
  let ast: any;
  try {
    ast = parsePlpgsqlBlock(body);
  } catch {
    return undefined;
  }
  const queries: string[] = [];
  let guardShaped = true;
  const walk = (x: any): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (!x || typeof x !== "object") return;
    for (const [k, v] of Object.entries<any>(x)) {
      if (k === "PLpgSQL_stmt_execsql") queries.push(v.sqlstmt.PLpgSQL_expr.query);
      else if (k.startsWith("PLpgSQL_stmt_") && !["PLpgSQL_stmt_if", "PLpgSQL_stmt_block", "PLpgSQL_stmt_return"].includes(k)) guardShaped = false;
      walk(v);
    }
  };
  walk(ast?.plpgsql_funcs?.[0]?.PLpgSQL_function?.action);
  try {
    return { statements: queries.flatMap((q) => parseSql(q, file).statements), guardShaped };
  } catch {
    return undefined;
  }
}

const DATA_ONLY = new Set(["UpdateStmt", "InsertStmt", "SelectStmt"]);

function invert(s: Statement, ctx: Ctx, file: string): Step[] {
  const n = s.node;
  switch (s.kind) {
    case "DoStmt": {
      const inner = doBlockStatements(s, file);
      const [drop, rename] = inner?.statements ?? [];
      if (
        inner?.statements.length === 2 &&
        drop.kind === "AlterTableStmt" &&
        drop.node.cmds?.length === 1 &&
        drop.node.cmds[0].AlterTableCmd?.subtype === "AT_DropColumn" &&
        rename.kind === "RenameStmt" &&
        rename.node.renameType === "OBJECT_COLUMN" &&
        rename.node.newname === drop.node.cmds[0].AlterTableCmd.name &&
        isTypeChangeHelper(rename.node.subname, rename.node.newname) &&
        relKey(rename.node.relation) === relKey(drop.node.relation)
      ) {
        return [invertSwap(ctx, drop.node.relation, rename.node.newname)];
      }
      if (inner?.statements.length && inner.statements.every((x) => DATA_ONLY.has(x.kind))) return [nothing("the DO block changes data only")];
      if (!inner?.statements.length || !inner.guardShaped) return [cannot("a DO block")];
      return [...inner.statements].reverse().flatMap((x) => invert(x, ctx, file));
    }
    case "VariableSetStmt":
      return [nothing(`SET ${n.name ?? ""} is a session setting`.replace("  ", " "))];
    case "CreateStmt":
      return [step(`DROP TABLE ${relSql(n.relation)}`)];
    case "CreateSchemaStmt":
      return [step(`DROP SCHEMA ${quoteIdent(n.schemaname)}`)];
    case "CreateSeqStmt":
      return [step(`DROP SEQUENCE ${relSql(n.sequence)}`)];
    case "CreateEnumStmt":
      return [step(`DROP TYPE ${listSql(listKey(nameList(n.typeName)).split("."))}`)];
    case "CreateExtensionStmt":
      return [step(`DROP EXTENSION ${quoteIdent(n.extname)}`)];
    case "CreateRoleStmt":
      return [step(`DROP ROLE ${quoteIdent(n.role)}`)];
    case "IndexStmt":
      if (!n.idxname) return [cannot("CREATE INDEX without a name")];
      return [step(`DROP INDEX${n.concurrent ? " CONCURRENTLY" : ""} ${relSql({ schemaname: n.relation.schemaname, relname: n.idxname })}`)];
    case "ViewStmt":
      return [step(`DROP VIEW ${relSql(n.view)}`)];
    case "CreateTableAsStmt":
      return n.objtype === "OBJECT_MATVIEW" ? [step(`DROP MATERIALIZED VIEW ${relSql(n.into.rel)}`)] : [step(`DROP TABLE ${relSql(n.into.rel)}`)];
    case "CreatePolicyStmt":
      return [step(`DROP POLICY ${quoteIdent(n.policy_name)} ON ${relSql(n.table)}`)];
    case "CreateTrigStmt":
      return [step(`DROP TRIGGER ${quoteIdent(n.trigname)} ON ${relSql(n.relation)}`)];
    case "CreateFunctionStmt": {
      // Only a function without parameters (drizzle-guard's sync functions): DROP FUNCTION needs the argument types.
      const names = nameList(n.funcname);
      if ((n.parameters ?? []).length || n.is_procedure) return [cannot("CREATE FUNCTION with parameters")];
      // OR REPLACE may have replaced a function that was there before: only drizzle-guard's own is dropped.
      if (n.replace && !names[names.length - 1].endsWith("_dg_sync")) return [cannot("CREATE OR REPLACE FUNCTION (it may have replaced one)")];
      return [step(`DROP FUNCTION ${listSql(names)}()`)];
    }
    case "AlterEnumStmt": {
      const type = listSql(listKey(nameList(n.typeName)).split("."));
      // The parser's JSON leaves an empty string out: '' (which PostgreSQL refuses as a label when it runs) is undefined.
      const [newVal, oldVal] = [n.newVal ?? "", n.oldVal];
      if (oldVal) return [step(`ALTER TYPE ${type} RENAME VALUE ${quoteLiteral(newVal)} TO ${quoteLiteral(oldVal)}`)];
      return [irreversible(`PostgreSQL cannot drop an enum value: ${quoteLiteral(newVal)} stays in ${type}`)];
    }
    case "AlterTableStmt":
      return invertAlterTable(s, ctx);
    case "DropStmt":
      return invertDrop(s, ctx);
    case "RenameStmt":
      return [invertRename(s)];
    case "AlterObjectSchemaStmt":
      return [invertSetSchema(s)];
    case "DeleteStmt":
    case "TruncateStmt":
      return [irreversible(`the rows removed by ${s.kind === "DeleteStmt" ? "DELETE" : "TRUNCATE"} cannot be restored`)];
    default:
      if (DATA_ONLY.has(s.kind)) return [nothing(`${s.kind.replace(/Stmt$/, "").toUpperCase()} changes data only`)];
      return [cannot(s.kind)];
  }
}

const isTimeoutSet = (s: Statement) => s.kind === "VariableSetStmt" && ["lock_timeout", "statement_timeout"].includes(s.node.name);

/** Renders the steps; statements joined by drizzle-kit's breakpoints. */
function render(head: string, steps: Step[]): string {
  const statements = steps.reduce((k, x) => k + x.sql.length, 0);
  let out = head;
  let seen = 0;
  for (const x of steps) {
    for (const c of x.comments) out += `-- ${c}\n`;
    for (const sql of x.sql) out += `${sql};${++seen < statements ? BREAKPOINT : ""}\n`;
  }
  return out;
}

/** Adds the guards transform's IF [NOT] EXISTS and DO blocks. */
export function guarded(text: string, file: string): { text: string; parsed: ParsedSql } {
  const parsed = parseSql(text, file);
  const edits = guards.apply({ ...buildContext(parsed), newMigration: false }).edits;
  return { text: applyEdits(text, edits, 0, text.length, file), parsed };
}

/**
 * The down file of one migration file. `before` is drizzle-kit's snapshot before the migration
 * (for every part of a split one: what a later part drops or changes was there before the first
 * part ran): `{}` for the first migration (nothing existed), undefined when it is not known (a
 * legacy folder without snapshots: what a statement dropped cannot be re-created, and the file
 * says so). `after` is the snapshot after this file, when known.
 */
export function deriveDown(upText: string, upFile: string, before: Snapshot | undefined, after?: Snapshot): DownFile {
  const parsed = parseSql(upText, upFile);
  const addedColumns = new Set(
    parsed.statements
      .filter((s) => s.kind === "AlterTableStmt")
      .flatMap((s) =>
        (s.node.cmds ?? [])
          .filter((c: any) => c.AlterTableCmd.subtype === "AT_AddColumn")
          .map((c: any) => `${relKey(s.node.relation)}.${c.AlterTableCmd.def?.ColumnDef?.colname}`),
      ),
  );
  const ctx: Ctx = { prev: before, next: after, concurrent: parsed.nonTransactional, addedColumns };
  const sets = parsed.statements.filter((s, i) => i < 2 && isTimeoutSet(s));
  const body = parsed.statements.filter((s) => !sets.includes(s));
  const steps = [...sets.map((s) => step(s.text)), ...[...body].reverse().flatMap((s) => invert(s, ctx, upFile))];
  const head =
    (parsed.nonTransactional ? NON_TX_HEADER : "") +
    `-- Down file of ${oneLine(upFile)}: its statements undone in reverse order (drizzle's migrator never reads this file).\n`;
  const file = upFile.replace(/\.sql$/, ".down.sql");
  const { text } = guarded(render(head, steps), file);
  return {
    text,
    nonTransactional: parsed.nonTransactional,
    irreversible: steps.flatMap((x) => x.comments.filter((c) => c.startsWith(`${IRREVERSIBLE}:`)).map((c) => c.slice(IRREVERSIBLE.length + 2))),
  };
}

/** `-- IRREVERSIBLE: <why>` comments of a down file, with their lines. */
export function irreversibleSteps(parsed: ParsedSql): Array<{ reason: string; line: number; column: number }> {
  return parsed.tokens
    .filter((t) => t.kind === "SQL_COMMENT" && t.text.startsWith(`-- ${IRREVERSIBLE}:`))
    .map((t) => ({ reason: t.text.slice(`-- ${IRREVERSIBLE}: `.length).trimEnd(), ...parsed.position(t.start) }));
}
