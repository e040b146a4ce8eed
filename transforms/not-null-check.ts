/**
 * not-null-check: SET NOT NULL on a column of an existing table scans every row under ACCESS
 * EXCLUSIVE. Instead the statement moves to the validate file (no transaction: each statement its
 * own), after a `CHECK (col IS NOT NULL) NOT VALID` helper (brief lock) and its `VALIDATE
 * CONSTRAINT` (SHARE UPDATE EXCLUSIVE); PostgreSQL 12+ then proves NOT NULL from the validated check
 * without a scan. The contract file drops the helper.
 * Only for migrations generated now; a table created in the same migration is left alone.
 */
import type { AddedStatement, Edit, MovedStatement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
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
    const moved: MovedStatement[] = [];
    // A validate-phase file is where this transform put SET NOT NULL: it is the end of the path.
    if (!ctx.newMigration || ctx.sql.directives.some((d) => d.name === "phase" && d.args === "validate")) return { edits };
    for (const s of ctx.sql.statements) {
      if (s.kind !== "AlterTableStmt" || (s.node.cmds ?? []).length !== 1) continue;
      const cmd = s.node.cmds[0].AlterTableCmd;
      if (cmd.subtype !== "AT_SetNotNull" || !cmd.name) continue;
      if (ctx.createdTables.has(relKey(s.node.relation))) continue;
      const path = notNullPath(s.node.relation, cmd.name);
      // The statement itself moves, unchanged, after the helper check and its validation.
      added.push({ phase: "validate", text: path.check, order: s.index - 0.2 });
      added.push({ phase: "validate", text: path.validate, order: s.index - 0.1 });
      moved.push({ statement: s.index, phase: "validate" });
      added.push({ phase: "contract", text: path.contract, order: s.index });
    }
    return { edits, added, moved };
  },
};

export default notNullCheck;
