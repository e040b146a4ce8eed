/**
 * unique-using-index: ADD CONSTRAINT ... UNIQUE / PRIMARY KEY on an existing table builds its index
 * under ACCESS EXCLUSIVE (no reads or writes until every row is indexed). Instead the index is built
 * with CREATE UNIQUE INDEX CONCURRENTLY in the non-transactional file, and the validate file turns
 * it into the constraint with `ADD CONSTRAINT ... USING INDEX`, which only takes a brief lock.
 * Only for migrations generated now; a table created in the same migration is left alone.
 */
import type { AddedStatement, Edit, Note, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { quoteIdent, relKey, relSql } from "../src/sql/names.js";
import { constraintMissing, doIf } from "../src/sql/phase-sql.js";

const ID = "unique-using-index";

const keyOf = (table: string, columns: string[]) => `${table}(${[...columns].sort().join(",")})`;

export const uniqueUsingIndex: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "UNIQUE / PRIMARY KEY on an existing table: CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX",
    docs: "docs/transforms.md#unique-using-index",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const added: AddedStatement[] = [];
    const notes: Note[] = [];
    const replaced: number[] = [];
    const nonTransactional: number[] = [];
    if (!ctx.newMigration) return { edits };
    const statements = ctx.sql.statements;
    // A foreign key added in this file may need the constraint to exist already: leave those tables.
    const referenced = new Set<string>();
    const walk = (x: any): void => {
      if (!x || typeof x !== "object") return;
      const k = x.Constraint;
      if (k?.contype === "CONSTR_FOREIGN" && k.pktable) referenced.add(keyOf(relKey(k.pktable), (k.pk_attrs ?? []).map((a: any) => a.String?.sval)));
      for (const v of Object.values(x)) walk(v);
    };
    for (const s of statements) walk(s.node);
    for (const s of statements) {
      if (s.kind !== "AlterTableStmt" || (s.node.cmds ?? []).length !== 1) continue;
      const cmd = s.node.cmds[0].AlterTableCmd;
      const k = cmd.subtype === "AT_AddConstraint" ? cmd.def?.Constraint : undefined;
      if (!k || (k.contype !== "CONSTR_UNIQUE" && k.contype !== "CONSTR_PRIMARY") || k.indexname) continue;
      const rel = s.node.relation;
      if (ctx.createdTables.has(relKey(rel))) continue;
      const primary = k.contype === "CONSTR_PRIMARY";
      const name: string | undefined = k.conname ?? (primary ? `${rel.relname}_pkey` : undefined);
      const columns: string[] = (k.keys ?? []).map((x: any) => x.String?.sval);
      if (referenced.has(keyOf(relKey(rel), columns)) || (primary && referenced.has(keyOf(relKey(rel), [])))) {
        notes.push({ statement: s.index, transform: ID, message: "a foreign key in this migration needs this constraint; left in place" });
        continue;
      }
      const unusual = k.deferrable || k.initdeferred || k.including?.length || k.options?.length || k.indexspace || k.where_clause;
      if (!name || !columns.length || columns.some((c) => !c) || unusual) {
        notes.push({ statement: s.index, transform: ID, message: "constraint form not rebuilt through a concurrent index (unnamed, or with options); left as is" });
        continue;
      }
      const table = relSql(rel);
      const index =
        `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)} ON ${table} USING btree (${columns.map(quoteIdent).join(",")})` +
        (k.nulls_not_distinct ? " NULLS NOT DISTINCT" : "");
      edits.push({ start: s.start, end: s.end, text: index, by: ID });
      replaced.push(s.index);
      nonTransactional.push(s.index);
      // After every SET NOT NULL of the validate file (a primary key needs its columns NOT NULL).
      added.push({
        phase: "validate",
        text: doIf(constraintMissing(rel, name), `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(name)} ${primary ? "PRIMARY KEY" : "UNIQUE"} USING INDEX ${quoteIdent(name)}`),
        order: statements.length + s.index,
      });
    }
    return { edits, added, notes, replaced, nonTransactional };
  },
};

export default uniqueUsingIndex;
