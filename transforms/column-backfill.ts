/**
 * column-backfill: ADD COLUMN with a volatile default (gen_random_uuid(), random(), clock_timestamp(),
 * ...) rewrites the whole table under ACCESS EXCLUSIVE: every row gets its own value. Instead the
 * column is added without default and nullable (instant), the default is set for new rows, a
 * backfill file fills existing rows in batches (each batch its own transaction), and a NOT NULL
 * column then goes through the check-constraint path (validate file, helper dropped in contract).
 * NOT NULL without any default on an existing table fails on the first row. The same path is
 * written, but drizzle-guard cannot know the value for existing rows: the backfill file sets NULL
 * under a `-- drizzle-guard: backfill-value` directive, which the ban-unfilled-backfill rule blocks
 * until someone writes the value in its place and removes the directive.
 * Only for migrations generated now; a table created in the same migration is left alone.
 */
import type { AddedStatement, Edit, Note, Statement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { oneLine, quoteIdent, relKey, relSql } from "../src/sql/names.js";
import { backfillBlock, notNullPath } from "../src/sql/phase-sql.js";
import { removableFrom, tokenAt } from "../src/sql/tokens.js";
import { isComment } from "../src/sql/parse.js";
import { hasVolatileCall } from "../src/sql/volatile.js";

const ID = "column-backfill";

export const DEFAULT_BATCH_SIZE = 1000;

/** The single-column primary key of a table in drizzle-kit's snapshot, if it has one. */
export function primaryKeyOf(snapshot: Record<string, any> | undefined, table: string): string | undefined {
  const t = snapshot?.tables?.[table];
  if (!t) return undefined;
  const composite = Object.values<any>(t.compositePrimaryKeys ?? {});
  if (composite.length) return composite.length === 1 && composite[0].columns?.length === 1 ? composite[0].columns[0] : undefined;
  const pk = Object.values<any>(t.columns ?? {}).filter((c) => c.primaryKey);
  return pk.length === 1 ? pk[0].name : undefined;
}

/** [start, end) of each column constraint's text, with the whitespace before it. */
function constraintSpans(ctx: TransformContext, s: Statement, constraints: any[]): Array<[number, number]> | undefined {
  const tokens = s.tokens;
  const starts = constraints.map((c) => tokenAt(tokens, ctx.sql.offset(c.Constraint.location)));
  if (starts.some((i) => i <= 0)) return undefined;
  return starts.map((first, k) => {
    let last = (k + 1 < starts.length ? starts[k + 1] : tokens.length) - 1;
    while (last > first && isComment(tokens[last])) last--;
    return [removableFrom(tokens, first), tokens[last].end];
  });
}

export const columnBackfill: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "ADD COLUMN with a volatile default, or NOT NULL without one: add it nullable, set the default, backfill in batches, then NOT NULL",
    docs: "docs/transforms.md#column-backfill",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const added: AddedStatement[] = [];
    const notes: Note[] = [];
    if (!ctx.newMigration) return { edits };
    for (const s of ctx.sql.statements) {
      if (s.kind !== "AlterTableStmt" || (s.node.cmds ?? []).length !== 1) continue;
      const cmd = s.node.cmds[0].AlterTableCmd;
      const col = cmd.subtype === "AT_AddColumn" ? cmd.def?.ColumnDef : undefined;
      if (!col) continue;
      const rel = s.node.relation;
      if (ctx.createdTables.has(relKey(rel))) continue;
      const constraints: any[] = col.constraints ?? [];
      const def = constraints.find((c) => c.Constraint?.contype === "CONSTR_DEFAULT");
      const notNull = constraints.some((c) => c.Constraint?.contype === "CONSTR_NOTNULL");
      const volatile = !!def && hasVolatileCall(def.Constraint.raw_expr);
      if (!volatile && !(notNull && !def)) continue;
      const others = constraints.filter((c) => !["CONSTR_DEFAULT", "CONSTR_NOTNULL", "CONSTR_NULL"].includes(c.Constraint?.contype));
      const spans = constraintSpans(ctx, s, constraints);
      if (others.length || !spans) {
        notes.push({ statement: s.index, transform: ID, message: "column with other constraints than DEFAULT / NOT NULL; left as is" });
        continue;
      }
      const table = relSql(rel);
      const column = quoteIdent(col.colname);
      let expression = "NULL";
      let head = "";
      if (def) {
        const defSpan = spans[constraints.indexOf(def)];
        expression = ctx.sql.text.slice(defSpan[0], defSpan[1]).replace(/^\s*DEFAULT\s+/i, "");
        added.push({ phase: "expand", text: `ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${expression};`, order: s.index + 0.1 });
      } else {
        head =
          `-- drizzle-guard: backfill-value ${oneLine(`${relKey(rel)}.${col.colname}`)}\n` +
          `-- ${oneLine(`${table}.${column}`)} is NOT NULL without a default: write the value existing rows get in place of NULL\n` +
          `-- in the UPDATE below, then remove the directive above (until then the migration is BLOCKED).\n`;
      }
      // The column is added bare: drop the text of DEFAULT and NOT NULL (contiguous spans merge).
      const start = Math.min(...spans.map((x) => x[0]));
      const end = Math.max(...spans.map((x) => x[1]));
      edits.push({ start, end, text: "", by: ID });
      const pk = primaryKeyOf(ctx.snapshot, relKey(rel));
      if (!pk) notes.push({ statement: s.index, transform: ID, message: "no one-column primary key in the snapshot: the backfill takes batches of rows still NULL" });
      added.push({ phase: "backfill", text: head + backfillBlock(rel, col.colname, expression, pk, ctx.backfillBatchSize ?? DEFAULT_BATCH_SIZE), order: s.index });
      if (notNull) {
        const path = notNullPath(rel, col.colname);
        for (const text of [path.check, path.validate, path.setNotNull]) added.push({ phase: "validate", text, order: s.index });
        added.push({ phase: "contract", text: path.contract, order: s.index });
      }
    }
    return { edits, added, notes };
  },
};

export default columnBackfill;
