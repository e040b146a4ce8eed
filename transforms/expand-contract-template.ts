/**
 * expand-contract-template: changes that no brief-lock rewrite can make safe are BLOCKED with the
 * expand/contract plan written above them as a commented template:
 * - ALTER COLUMN ... SET DATA TYPE that rewrites the table (int -> bigint, text -> int, USING ...).
 *   Changes PostgreSQL makes without a rewrite (varchar(n) to a larger n or to text, numeric
 *   precision widening with the same scale, varbit widening, cidr to inet) are recognised from the
 *   previous snapshot and left alone.
 * - RENAME COLUMN / RENAME TABLE (blocked by ban-rename-column / ban-rename-table).
 * The type-change block is the `-- drizzle-guard: table-rewrite` directive, read by the
 * ban-table-rewrite rule; approving the rule keeps the statement as drizzle-kit wrote it.
 * Only for migrations generated now. (Its id sorts before `guards`: the template goes above the
 * guard's DO block, not inside it, where the directive would not be a comment of the file.)
 */
import type { Edit, Note, Statement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { nameList, oneLine, quoteIdent, relKey, relSql } from "../src/sql/names.js";
import { directivesAbove, parseSql } from "../src/sql/parse.js";

const ID = "expand-contract-template";

interface SqlType {
  name: string;
  mods: number[];
  array: number;
}

/** A type as PostgreSQL parses it (`character varying(20)` and `varchar(20)` agree). */
function typeOf(typeName: any): SqlType | undefined {
  const names = nameList(typeName?.names);
  const mods: number[] = (typeName?.typmods ?? []).map((m: any) => m?.A_Const?.ival?.ival ?? NaN);
  if (!names.length || mods.some((m) => Number.isNaN(m))) return undefined;
  return { name: names[names.length - 1], mods, array: (typeName.arrayBounds ?? []).length };
}

function parseTypeText(text: string): SqlType | undefined {
  try {
    const s = parseSql(`SELECT NULL::${text}`, "<snapshot type>").statements[0];
    return typeOf(s?.node?.targetList?.[0]?.ResTarget?.val?.TypeCast?.typeName);
  } catch {
    return undefined;
  }
}

/** True when PostgreSQL changes `from` to `to` without rewriting the table (binary-coercible, no narrowing). */
export function isSafeTypeChange(from: SqlType, to: SqlType): boolean {
  if (from.array !== to.array) return false;
  const widens = (a: number | undefined, b: number | undefined) => b === undefined || (a !== undefined && b >= a);
  if (from.name === to.name) {
    switch (from.name) {
      case "varchar":
      case "varbit":
        return widens(from.mods[0], to.mods[0]);
      case "numeric":
        return to.mods.length === 0 || (from.mods.length > 0 && widens(from.mods[0], to.mods[0]) && (from.mods[1] ?? 0) === (to.mods[1] ?? 0));
      default:
        return from.mods.join() === to.mods.join();
    }
  }
  if (from.name === "varchar" && to.name === "text") return true;
  if (from.name === "text" && to.name === "varchar" && to.mods.length === 0) return true;
  if (from.name === "cidr" && to.name === "inet") return true;
  return false;
}

/** The new type as the statement spells it (from the type name to USING or the end). */
function typeSource(ctx: TransformContext, s: Statement, typeName: any): string {
  const start = typeName?.location >= 0 ? ctx.sql.offset(typeName.location) : -1;
  if (start < s.start) return "the new type";
  const using = s.tokens.find((t) => t.start > start && t.upper === "USING");
  return ctx.sql.text.slice(start, using ? using.start : s.end).trim();
}

function lines(text: string[]): string {
  return text.map((l) => `-- ${l}`.trimEnd() + "\n").join("");
}

function typeChangeTemplate(tableName: string, column: string, fromType: string, toType: string): string {
  // Every line is a comment: names and types from the statement are kept on one line.
  const [table, from, to] = [tableName, fromType, toType].map(oneLine);
  const col = oneLine(quoteIdent(column));
  const next = oneLine(quoteIdent(`${column}_new`));
  return (
    `-- drizzle-guard: table-rewrite ${table}.${col} ${from} -> ${to}\n` +
    lines([
      `Changing ${table}.${col} from ${from} to ${to} rewrites the whole table under ACCESS EXCLUSIVE`,
      "(no reads or writes until it is done). Expand/contract instead, as separate migrations:",
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
    if (!ctx.newMigration) return { edits };
    const insertAbove = (s: Statement, text: string) => edits.push({ start: s.start, end: s.start, text, by: ID });
    // A statement that already has its template (a file rewritten before) keeps it as it is.
    const hasTemplate = (s: Statement, name: string) => directivesAbove(ctx.sql, s, name).length > 0;
    for (const s of ctx.sql.statements) {
      const n = s.node;
      if (s.kind === "RenameStmt" && (n.renameType === "OBJECT_COLUMN" || n.renameType === "OBJECT_TABLE") && n.relation) {
        if (hasTemplate(s, "rename")) continue;
        const column = n.renameType === "OBJECT_COLUMN";
        insertAbove(s, renameTemplate(column ? "column" : "table", relSql(n.relation), column ? n.subname : n.relation.relname, n.newname));
        continue;
      }
      if (s.kind !== "AlterTableStmt" || ctx.createdTables.has(relKey(n.relation)) || hasTemplate(s, "table-rewrite")) continue;
      for (const c of n.cmds ?? []) {
        const cmd = c.AlterTableCmd;
        if (cmd?.subtype !== "AT_AlterColumnType") continue;
        const to = typeOf(cmd.def?.ColumnDef?.typeName);
        const oldText: string | undefined = ctx.previousSnapshot?.tables?.[relKey(n.relation)]?.columns?.[cmd.name]?.type;
        const from = oldText ? parseTypeText(oldText) : undefined;
        const using = !!cmd.def?.ColumnDef?.raw_default;
        if (to && from && !using && isSafeTypeChange(from, to)) continue;
        if (!from) notes.push({ statement: s.index, transform: ID, message: `previous type of ${cmd.name} unknown: treated as a table rewrite` });
        insertAbove(s, typeChangeTemplate(relSql(n.relation), cmd.name, oldText ?? "its current type", typeSource(ctx, s, cmd.def?.ColumnDef?.typeName)));
        break;
      }
    }
    return { edits, notes };
  },
};

export default expandContractTemplate;
