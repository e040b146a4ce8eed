/**
 * enum-value-position: `ALTER TYPE ... ADD VALUE` gets an explicit `BEFORE` / `AFTER`, taken from
 * drizzle-kit's snapshot of the enum, so the position does not depend on what the database
 * already holds. Only for migrations generated now: an applied migration keeps its meaning.
 * The statement goes to the non-transactional file (a new enum value cannot be used in the
 * transaction that adds it).
 */
import type { Edit, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { listKey, nameList, quoteLiteral } from "../src/sql/names.js";

const ID = "enum-value-position";

export const enumValuePosition: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "ALTER TYPE ... ADD VALUE gets BEFORE/AFTER from the snapshot and runs outside a transaction",
    docs: "docs/transforms.md#enum-value-position",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const nonTransactional: number[] = [];
    if (!ctx.newMigration) return { edits };
    for (const s of ctx.sql.statements) {
      const n = s.node;
      if (s.kind !== "AlterEnumStmt" || !n.newVal || n.oldVal) continue;
      nonTransactional.push(s.index);
      if (n.newValNeighbor) continue;
      const values: string[] | undefined = ctx.snapshot?.enums?.[listKey(nameList(n.typeName))]?.values;
      const at = values?.indexOf(n.newVal) ?? -1;
      if (!values || at < 0 || values.length < 2) continue;
      const text = at > 0 ? ` AFTER ${quoteLiteral(values[at - 1])}` : ` BEFORE ${quoteLiteral(values[1])}`;
      edits.push({ start: s.end, end: s.end, text, by: ID });
    }
    return { edits, nonTransactional };
  },
};

export default enumValuePosition;
