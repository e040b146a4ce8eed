/**
 * not-null-check: SET NOT NULL on a column of an existing table scans every row under ACCESS
 * EXCLUSIVE. Instead: a `CHECK (col IS NOT NULL) NOT VALID` helper now (brief lock), then in the
 * validate file `VALIDATE CONSTRAINT` (SHARE UPDATE EXCLUSIVE) and `SET NOT NULL`, which PostgreSQL
 * 12+ proves from the validated check without a scan; the contract file drops the helper.
 * Only for migrations generated now; a table created in the same migration is left alone.
 */
import type { AddedStatement, Edit, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { relKey } from "../src/sql/names.js";
import { notNullPath } from "../src/sql/phase-sql.js";

const ID = "not-null-check";

export const notNullCheck: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "SET NOT NULL on an existing table: CHECK (col IS NOT NULL) NOT VALID, VALIDATE, then SET NOT NULL without a scan",
    docs: "docs/transforms.md#not-null-check",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const added: AddedStatement[] = [];
    const replaced: number[] = [];
    // A validate-phase file is where this transform put SET NOT NULL: it is the end of the path.
    if (!ctx.newMigration || ctx.sql.directives.some((d) => d.name === "phase" && d.args === "validate")) return { edits };
    for (const s of ctx.sql.statements) {
      if (s.kind !== "AlterTableStmt" || (s.node.cmds ?? []).length !== 1) continue;
      const cmd = s.node.cmds[0].AlterTableCmd;
      if (cmd.subtype !== "AT_SetNotNull" || !cmd.name) continue;
      if (ctx.createdTables.has(relKey(s.node.relation))) continue;
      const path = notNullPath(s.node.relation, cmd.name);
      // The statement (without its `;`) becomes the helper check; SET NOT NULL moves to validate.
      edits.push({ start: s.start, end: s.end, text: path.expand.replace(/;$/, ""), by: ID });
      replaced.push(s.index);
      for (const v of path.validate) added.push({ phase: "validate", text: v, order: s.index });
      added.push({ phase: "contract", text: path.contract, order: s.index });
    }
    return { edits, added, replaced };
  },
};

export default notNullCheck;
