/**
 * constraint-not-valid: a FOREIGN KEY or CHECK added to an existing table is added `NOT VALID`
 * (no scan of existing rows, brief lock), and `VALIDATE CONSTRAINT` runs in a later, separate
 * validate-phase file (SHARE UPDATE EXCLUSIVE: reads and writes go on while rows are checked).
 * Only for migrations generated now; a table created in the same migration is left alone.
 */
import type { AddedStatement, Edit, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { quoteIdent, relKey, relSql } from "../src/sql/names.js";

const ID = "constraint-not-valid";

export const constraintNotValid: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "FOREIGN KEY / CHECK on an existing table: NOT VALID now, VALIDATE CONSTRAINT in a later file",
    docs: "docs/transforms.md#constraint-not-valid",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const added: AddedStatement[] = [];
    if (!ctx.newMigration) return { edits };
    for (const s of ctx.sql.statements) {
      if (s.kind !== "AlterTableStmt" || (s.node.cmds ?? []).length !== 1) continue;
      const cmd = s.node.cmds[0].AlterTableCmd;
      const k = cmd.subtype === "AT_AddConstraint" ? cmd.def?.Constraint : undefined;
      if (!k || !k.conname || k.skip_validation) continue;
      if (k.contype !== "CONSTR_FOREIGN" && k.contype !== "CONSTR_CHECK") continue;
      if (ctx.createdTables.has(relKey(s.node.relation))) continue;
      edits.push({ start: s.end, end: s.end, text: " NOT VALID", by: ID });
      added.push({ phase: "validate", text: `ALTER TABLE ${relSql(s.node.relation)} VALIDATE CONSTRAINT ${quoteIdent(k.conname)};` });
    }
    return { edits, added };
  },
};

export default constraintNotValid;
