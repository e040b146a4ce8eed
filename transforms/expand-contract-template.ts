/**
 * expand-contract-template: changes that no brief-lock rewrite can make safe.
 * - ALTER COLUMN ... SET DATA TYPE that rewrites the table (int -> bigint, text -> int, ...) becomes
 *   expand/contract when drizzle-guard can do it faithfully (the end schema is the one drizzle-kit
 *   wrote): the expand file adds the new column (`<column>_dg_new`, the new type, the final
 *   default) and a trigger that sets it from the old column on every INSERT and UPDATE; the backfill
 *   file fills existing rows in batches by primary key; a NOT NULL column goes through the validate
 *   file's check-constraint path; the contract file drops the trigger and its function, drops the
 *   old column and renames the new one to its name, in one short transaction.
 *   Not faithful, and so BLOCKED with the plan written above it as a commented template (the reason
 *   first): the column is in a primary key, an index, a unique, foreign key or check constraint,
 *   used by a view, a policy or a generated column, is itself generated, identity or serial, the
 *   table has no one-column primary key to batch by, the USING expression is not a plain cast, or
 *   the column changes type twice in the migration. (Dropping the old column would silently drop
 *   its indexes, constraints and owned sequence, and fails on views, policies, generated columns
 *   and foreign keys that reference it.)
 *   Changes PostgreSQL makes without a rewrite (isSafeTypeChange) are recognised from the previous
 *   snapshot and left alone.
 * - RENAME COLUMN / RENAME TABLE: BLOCKED with a template (ban-rename-column / ban-rename-table).
 * The type-change block is the `-- drizzle-guard: table-rewrite` directive, read by the
 * ban-table-rewrite rule; approving the rule keeps the statement as drizzle-kit wrote it.
 * Only for migrations generated now. (Its id sorts before `guards`: the template goes above the
 * guard's DO block, not inside it, where the directive would not be a comment of the file.)
 */
import type { AddedStatement, Edit, Note, Statement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { nameList, oneLine, quoteIdent, relKey, relSql, type RangeVar } from "../src/sql/names.js";
import { directivesAbove, parseSql } from "../src/sql/parse.js";
import { backfillBlock, castSql, notNullPath, typeChangeNames, typeChangeSwap, typeChangeSync } from "../src/sql/phase-sql.js";
import { codeEndBefore, removableFrom, skipQualifiedName, splitTopLevel, tokenAt } from "../src/sql/tokens.js";
import { DEFAULT_BATCH_SIZE, primaryKeyOf } from "./column-backfill.js";

const ID = "expand-contract-template";

export interface SqlType {
  name: string;
  mods: number[];
  array: number;
}

/** A type as PostgreSQL parses it (`character varying(20)` and `varchar(20)` agree). */
function typeOf(typeName: any): SqlType | undefined {
  const names = nameList(typeName?.names);
  const mods: number[] = (typeName?.typmods ?? []).map((m: any) => (m?.A_Const?.ival ? (m.A_Const.ival.ival ?? 0) : NaN)); // a zero is `{ ival: {} }`
  if (!names.length || mods.some((m) => Number.isNaN(m))) return undefined;
  return { name: names[names.length - 1], mods, array: (typeName.arrayBounds ?? []).length };
}

export function parseTypeText(text: string): SqlType | undefined {
  try {
    const s = parseSql(`SELECT NULL::${text}`, "<snapshot type>").statements[0];
    return typeOf(s?.node?.targetList?.[0]?.ResTarget?.val?.TypeCast?.typeName);
  } catch {
    return undefined;
  }
}

/** Types whose typmod is a precision that PostgreSQL widens without a rewrite (timestamp_support, time_support). */
const TEMPORAL = new Set(["timestamp", "timestamptz", "time", "timetz"]);

/**
 * True when PostgreSQL changes `from` to `to` without rewriting the table (ALTER TABLE notes: the
 * old type is binary coercible to the new one, and a length/precision coercion that cannot change
 * a value is skipped). Checked on PostgreSQL 15 by relfilenode (test/phases.test.ts):
 * - varchar(n) -> varchar(m >= n), varchar, text; text -> varchar; varbit(n) -> varbit(m >= n), varbit
 * - numeric(p, s) -> numeric(q >= p, s), numeric
 * - timestamp, timestamptz, time, timetz: precision widened or dropped
 * - interval(...) -> interval
 * - cidr -> inet; xml -> text, varchar; bit(n) -> varbit (all binary coercible)
 * Not safe: anything to a constrained varchar/char from another type, char(n) to anything, arrays
 * of a different element type, timestamp <-> timestamptz (no rewrite only when the session
 * TimeZone is UTC, which a migration cannot count on), numeric with another scale.
 */
export function isSafeTypeChange(from: SqlType, to: SqlType): boolean {
  // Arrays: only an identical element type (any array coercion rewrites).
  if (from.array || to.array) return from.array === to.array && from.name === to.name && from.mods.join() === to.mods.join();
  const widens = (a: number | undefined, b: number | undefined) => b === undefined || (a !== undefined && b >= a);
  if (from.name === to.name) {
    switch (from.name) {
      case "varchar":
      case "varbit":
        return widens(from.mods[0], to.mods[0]);
      case "numeric":
        return to.mods.length === 0 || (from.mods.length > 0 && widens(from.mods[0], to.mods[0]) && (from.mods[1] ?? 0) === (to.mods[1] ?? 0));
      case "interval":
        return to.mods.length === 0 || from.mods.join() === to.mods.join();
      default:
        // Precision 6 is the largest: the same as no precision.
        if (TEMPORAL.has(from.name)) return widens(from.mods[0], to.mods[0]) || to.mods[0] === 6;
        return from.mods.join() === to.mods.join();
    }
  }
  const unconstrained = to.mods.length === 0;
  if (from.name === "varchar" && to.name === "text") return true;
  if (from.name === "text" && to.name === "varchar") return unconstrained;
  if (from.name === "xml" && (to.name === "text" || to.name === "varchar")) return unconstrained;
  if (from.name === "bit" && to.name === "varbit") return unconstrained;
  if (from.name === "cidr" && to.name === "inet") return true;
  return false;
}

const sameType = (a: SqlType | undefined, b: SqlType | undefined) =>
  !!a && !!b && a.name === b.name && a.array === b.array && a.mods.join() === b.mods.join();

/** A column name in an expression of the snapshot (a view, check, policy, index or generated expression), conservatively. */
function mentions(text: unknown, column: string): boolean {
  if (typeof text !== "string") return false;
  const name = column.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w$])${name}(?![\\w$])`, column === column.toLowerCase() ? "i" : "").test(text);
}

/** Why the column cannot go through expand/contract faithfully, from drizzle-kit's snapshots; undefined when it can. */
function notFaithful(snapshots: Array<Record<string, any> | undefined>, table: string, column: string, helper: string): string | undefined {
  const [schema, name] = table.split(".");
  for (const snap of snapshots) {
    const t = snap?.tables?.[table];
    if (!t) continue;
    const col = t.columns?.[column];
    const has = (list: unknown) => Array.isArray(list) && list.includes(column);
    if (t.columns?.[helper]) return `the table already has a column ${quoteIdent(helper)}`;
    if (col?.primaryKey || Object.values<any>(t.compositePrimaryKeys ?? {}).some((k) => has(k.columns))) return "the column is in the primary key";
    if (col?.identity) return "the column is an identity column";
    if (/serial$/.test(String(col?.type ?? "")) || /nextval\(/i.test(String(col?.default ?? ""))) return "the column takes its values from a sequence (serial)";
    if (col?.generated) return "the column is generated";
    for (const idx of Object.values<any>(t.indexes ?? {})) {
      const used = (idx.columns ?? []).some((c: any) => (c.isExpression ? mentions(c.expression, column) : c.expression === column)) || mentions(idx.where, column);
      if (used) return `the column is in index ${quoteIdent(idx.name)} (dropping the old column would drop it)`;
    }
    if (col?.isUnique || Object.values<any>(t.uniqueConstraints ?? {}).some((k) => has(k.columns))) return "the column is in a unique constraint";
    for (const fk of Object.values<any>(t.foreignKeys ?? {})) if (has(fk.columnsFrom)) return `the column is in foreign key ${quoteIdent(fk.name)}`;
    for (const k of Object.values<any>(t.checkConstraints ?? {})) if (mentions(k.value, column)) return `the column is in check constraint ${quoteIdent(k.name)}`;
    for (const c of Object.values<any>(t.columns ?? {})) if (c.generated && mentions(c.generated.as, column)) return `generated column ${quoteIdent(c.name)} uses the column`;
    for (const p of Object.values<any>(t.policies ?? {})) if (mentions(p.using, column) || mentions(p.withCheck, column)) return `policy ${quoteIdent(p.name)} uses the column`;
    for (const p of Object.values<any>(snap?.policies ?? {})) if (p.on === table && (mentions(p.using, column) || mentions(p.withCheck, column))) return `policy ${quoteIdent(p.name)} uses the column`;
    for (const other of Object.values<any>(snap?.tables ?? {})) {
      for (const fk of Object.values<any>(other.foreignKeys ?? {})) {
        if (fk.tableTo === name && (fk.schemaTo || "public") === schema && has(fk.columnsTo)) return `foreign key ${quoteIdent(fk.name)} references the column`;
      }
    }
    for (const v of Object.values<any>(snap?.views ?? {})) {
      if (typeof v.definition !== "string" || mentions(v.definition, column)) return `view ${quoteIdent(v.name)} may use the column`;
    }
  }
  if (!primaryKeyOf(snapshots[0], table)) return "the table has no one-column primary key to batch the backfill by";
  return undefined;
}

/** USING as drizzle-kit writes it: `"col"::type`, or `"col"::text::type` (enum to enum); undefined for anything else. */
function usingCast(raw: any, column: string, to: SqlType | undefined): { viaText: boolean } | undefined {
  const outer = raw?.TypeCast;
  if (!outer || !sameType(typeOf(outer.typeName), to)) return undefined;
  const ref = (x: any) => {
    const f = x?.ColumnRef?.fields;
    return f?.length === 1 && f[0]?.String?.sval === column;
  };
  if (ref(outer.arg)) return { viaText: false };
  const inner = outer.arg?.TypeCast;
  return inner && ref(inner.arg) && sameType(typeOf(inner.typeName), { name: "text", mods: [], array: 0 }) ? { viaText: true } : undefined;
}

/** The USING keyword after the new type (which starts at `typeStart`): its index in the statement's tokens, or -1. */
function usingAt(s: Statement, typeStart: number): number {
  return s.tokens.findIndex((t) => t.start > typeStart && t.upper === "USING" && t.keyword !== "NO_KEYWORD");
}

/** The new type as the statement spells it: from the type name to the last token (not a comment) before USING, or the end. */
function typeSource(ctx: TransformContext, s: Statement, typeName: any): string {
  const start = typeName?.location >= 0 ? ctx.sql.offset(typeName.location) : -1;
  if (start < s.start) return "the new type";
  const using = usingAt(s, start);
  return ctx.sql.text.slice(start, using >= 0 ? codeEndBefore(s.tokens, using) : s.end).trim();
}

function lines(text: string[]): string {
  return text.map((l) => `-- ${l}`.trimEnd() + "\n").join("");
}

function typeChangeTemplate(tableName: string, column: string, fromType: string, toType: string, why: string | undefined): string {
  // Every line is a comment: names, types and the reason (which names objects) are kept on one line.
  const [table, from, to] = [tableName, fromType, toType].map(oneLine);
  const reason = why === undefined ? undefined : oneLine(why);
  const col = oneLine(quoteIdent(column));
  const next = oneLine(quoteIdent(typeChangeNames("", column).column));
  return (
    `-- drizzle-guard: table-rewrite ${table}.${col} ${from} -> ${to}\n` +
    lines([
      `Changing ${table}.${col} from ${from} to ${to} rewrites the whole table under ACCESS EXCLUSIVE`,
      "(no reads or writes until it is done).",
      ...(reason ? [`drizzle-guard does not write the expand/contract files for it: ${reason}.`] : []),
      "Expand/contract instead, as separate migrations:",
      `  1. expand:   ALTER TABLE ${table} ADD COLUMN ${next} ${to};`,
      `               and a trigger (or the application) that writes ${next} whenever ${col} is written`,
      `  2. backfill: UPDATE ${table} SET ${next} = ${col}::${to} WHERE ${next} IS NULL, in batches`,
      `  3. validate: NOT NULL through CHECK (${next} IS NOT NULL) NOT VALID + VALIDATE, indexes CONCURRENTLY`,
      `  4. contract: deploy code that reads ${next}; then DROP COLUMN ${col} and RENAME ${next} TO ${col}`,
      'Or keep it (small table, maintenance window): write "-- drizzle-guard: approve ban-table-rewrite <why>" above it.',
    ])
  );
}

function renameTemplate(kind: "column" | "table", tableName: string, from: string, to: string): string {
  // Every line is a comment: names from the statement are kept on one line.
  const table = oneLine(tableName);
  const a = oneLine(quoteIdent(from));
  const b = oneLine(quoteIdent(to));
  const head = `-- drizzle-guard: rename ${kind === "column" ? `${table}.${a}` : table} -> ${b}\n`;
  const plan =
    kind === "column"
      ? [
          `Renaming ${table}.${a} to ${b} breaks every running client that still uses ${a}. Expand/contract instead:`,
          `  1. expand:   ALTER TABLE ${table} ADD COLUMN ${b} <type of ${a}>; the application writes both columns`,
          `  2. backfill: UPDATE ${table} SET ${b} = ${a} WHERE ${b} IS NULL, in batches`,
          `  3. deploy code that reads and writes only ${b}`,
          `  4. contract: ALTER TABLE ${table} DROP COLUMN ${a}`,
          'Or keep the rename (every client deployed at once): write "-- drizzle-guard: approve ban-rename-column <why>" above it.',
        ]
      : [
          `Renaming ${table} to ${b} breaks every running client that still uses ${a}. Expand/contract instead:`,
          `  1. expand:   rename, and CREATE VIEW ${a} AS SELECT * FROM ${b} (a simple view is updatable)`,
          `  2. deploy code that uses only ${b}`,
          `  3. contract: DROP VIEW ${a}`,
          'Or keep the rename (every client deployed at once): write "-- drizzle-guard: approve ban-rename-table <why>" above it.',
        ];
  return head + lines(plan);
}

/** The expand/contract files of one faithful type change (statement `s`, one subcommand). */
function expandContract(ctx: TransformContext, s: Statement, cmd: any, viaText: boolean, edits: Edit[], added: AddedStatement[]): boolean {
  const rel: RangeVar = s.node.relation;
  const tokens = s.tokens;
  const relAt = tokenAt(tokens, ctx.sql.offset(rel.location ?? 0));
  const typeName = cmd.def?.ColumnDef?.typeName;
  const typeStart = typeName?.location >= 0 ? ctx.sql.offset(typeName.location) : -1;
  const group = relAt < 0 ? [] : splitTopLevel(tokens, skipQualifiedName(tokens, relAt))[0];
  if (!group?.length || typeStart <= group[0].start || typeStart >= s.end) return false;
  const using = usingAt(s, typeStart);
  const type = typeSource(ctx, s, typeName);
  const names = typeChangeNames(rel.relname, cmd.name);
  const table = relSql(rel);
  // The statement itself becomes the ADD COLUMN of the new type: `ALTER COLUMN "c" SET DATA TYPE` -> `ADD COLUMN IF NOT EXISTS "c_dg_new"`, USING ... removed.
  edits.push({ start: group[0].start, end: typeStart, text: `ADD COLUMN IF NOT EXISTS ${quoteIdent(names.column)} `, by: ID });
  if (using >= 0) edits.push({ start: removableFrom(tokens, using), end: s.end, text: "", by: ID });
  const final = ctx.snapshot?.tables?.[relKey(rel)]?.columns?.[cmd.name];
  const sync = typeChangeSync(rel, cmd.name, type, viaText);
  const at = (phase: AddedStatement["phase"], order: number, text: string) => added.push({ phase, text, order });
  if (final?.default !== undefined) at("expand", s.index + 0.1, `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(names.column)} SET DEFAULT ${final.default};`);
  at("expand", s.index + 0.2, sync.createFunction);
  at("expand", s.index + 0.3, sync.createTrigger);
  const pk = primaryKeyOf(ctx.previousSnapshot, relKey(rel))!;
  at("backfill", s.index, backfillBlock(rel, names.column, castSql(cmd.name, type, viaText), pk, ctx.backfillBatchSize ?? DEFAULT_BATCH_SIZE));
  if (final?.notNull) {
    const path = notNullPath(rel, names.column);
    for (const text of [path.check, path.validate, path.setNotNull]) at("validate", s.index, text);
    at("contract", s.index, path.contract);
  }
  at("contract", s.index + 0.1, sync.dropTrigger);
  at("contract", s.index + 0.2, sync.dropFunction);
  at("contract", s.index + 0.3, typeChangeSwap(rel, cmd.name));
  return true;
}

export const expandContractTemplate: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "a table-rewriting type change or a rename: BLOCKED, with the expand/contract plan written above it",
    docs: "docs/transforms.md#expand-contract-template",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const notes: Note[] = [];
    const added: AddedStatement[] = [];
    const replaced: number[] = [];
    if (!ctx.newMigration) return { edits };
    const insertAbove = (s: Statement, text: string) => edits.push({ start: s.start, end: s.start, text, by: ID });
    // A statement that already has its template (a file rewritten before) keeps it as it is.
    const hasTemplate = (s: Statement, name: string) => directivesAbove(ctx.sql, s, name).length > 0;
    // Columns whose type changes more than once in this file (drizzle-kit's enum value removal).
    const typeChanges = new Map<string, number>();
    for (const s of ctx.sql.statements) {
      if (s.kind !== "AlterTableStmt") continue;
      for (const c of s.node.cmds ?? []) {
        const cmd = c.AlterTableCmd;
        if (cmd?.subtype === "AT_AlterColumnType") typeChanges.set(`${relKey(s.node.relation)}.${cmd.name}`, (typeChanges.get(`${relKey(s.node.relation)}.${cmd.name}`) ?? 0) + 1);
      }
    }
    for (const s of ctx.sql.statements) {
      const n = s.node;
      if (s.kind === "RenameStmt" && (n.renameType === "OBJECT_COLUMN" || n.renameType === "OBJECT_TABLE") && n.relation) {
        if (hasTemplate(s, "rename")) continue;
        const column = n.renameType === "OBJECT_COLUMN";
        insertAbove(s, renameTemplate(column ? "column" : "table", relSql(n.relation), column ? n.subname : n.relation.relname, n.newname));
        continue;
      }
      if (s.kind !== "AlterTableStmt" || ctx.createdTables.has(relKey(n.relation)) || hasTemplate(s, "table-rewrite")) continue;
      const cmds: any[] = (n.cmds ?? []).map((c: any) => c.AlterTableCmd);
      for (const cmd of cmds) {
        if (cmd?.subtype !== "AT_AlterColumnType") continue;
        const to = typeOf(cmd.def?.ColumnDef?.typeName);
        const table = relKey(n.relation);
        const oldText: string | undefined = ctx.previousSnapshot?.tables?.[table]?.columns?.[cmd.name]?.type;
        const from = oldText ? parseTypeText(oldText) : undefined;
        const raw = cmd.def?.ColumnDef?.raw_default;
        if (to && from && !raw && isSafeTypeChange(from, to)) continue;
        if (!from) notes.push({ statement: s.index, transform: ID, message: `previous type of ${cmd.name} unknown: treated as a table rewrite` });
        const cast = raw ? usingCast(raw, cmd.name, to) : { viaText: false };
        const reason = !from
          ? "its previous type is not in drizzle-kit's snapshot"
          : cmds.length !== 1
            ? "the statement changes more than one thing"
            : !to
              ? "drizzle-guard does not read the new type"
              : (typeChanges.get(`${table}.${cmd.name}`) ?? 0) > 1
                ? "the column changes type more than once in this migration"
                : !cast
                  ? "the USING expression is not a plain cast of the column"
                  : !ctx.snapshot?.tables?.[table]?.columns?.[cmd.name]
                    ? "the column is not in drizzle-kit's snapshot after the migration (its default and NOT NULL are unknown)"
                    : notFaithful([ctx.previousSnapshot, ctx.snapshot], table, cmd.name, typeChangeNames(n.relation.relname, cmd.name).column);
        if (!reason && cast && expandContract(ctx, s, cmd, cast.viaText, edits, added)) {
          replaced.push(s.index);
          break;
        }
        insertAbove(s, typeChangeTemplate(relSql(n.relation), cmd.name, oldText ?? "its current type", typeSource(ctx, s, cmd.def?.ColumnDef?.typeName), reason ?? "the statement's text is not where drizzle-guard expects it"));
        break;
      }
    }
    return { edits, notes, added, replaced };
  },
};

export default expandContractTemplate;
