/**
 * contract-drops: statements that destroy data (DROP COLUMN, DROP TABLE, DROP TYPE, DROP SEQUENCE,
 * DROP VIEW, DROP SCHEMA, ...) move into a contract file at the end of the migration, so they run
 * after the application that no longer uses them is deployed (`migrate --phase expand` stops before
 * it). Still BLOCKED where a ban rule says so (DROP TABLE, DROP SCHEMA) until approved.
 * A drop that a later statement of the same migration depends on stays where it is (reported).
 * Only for migrations generated now.
 */
import type { Edit, MovedStatement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { relKey } from "../src/sql/names.js";

const ID = "contract-drops";

const DESTRUCTIVE_DROPS = new Set([
  "OBJECT_TABLE", "OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_SEQUENCE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SCHEMA", "OBJECT_FOREIGN_TABLE",
]);

export const contractDrops: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "DROP COLUMN / TABLE / TYPE / ...: moved into a contract file that runs last",
    docs: "docs/transforms.md#contract-drops",
  },
  apply(ctx: TransformContext): TransformResult {
    const moved: MovedStatement[] = [];
    const edits: Edit[] = [];
    // A contract-phase file (rewritten before) is already where these statements go.
    if (!ctx.newMigration || ctx.sql.directives.some((d) => d.name === "phase" && d.args === "contract")) return { edits };
    for (const s of ctx.sql.statements) {
      const n = s.node;
      if (s.kind === "DropStmt" && DESTRUCTIVE_DROPS.has(n.removeType)) {
        moved.push({ statement: s.index, phase: "contract" });
      } else if (
        s.kind === "AlterTableStmt" &&
        (n.cmds ?? []).length > 0 &&
        n.cmds.every((c: any) => c.AlterTableCmd?.subtype === "AT_DropColumn") &&
        !ctx.createdTables.has(relKey(n.relation))
      ) {
        moved.push({ statement: s.index, phase: "contract" });
      }
    }
    return { edits, moved };
  },
};

export default contractDrops;
