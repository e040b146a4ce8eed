/**
 * index-replace: drizzle-kit changes an index by dropping it and creating it again, which leaves the
 * table without the index in between (every query that needs it scans). In the non-transactional
 * file the new index is built first and the old one dropped after: an index re-created under the
 * same name is built as `<name>_dg_new`, the old one dropped, and the new one renamed (a brief
 * SHARE UPDATE EXCLUSIVE lock). Other DROP INDEX statements also move after the CREATE INDEX ones.
 * Only for migrations generated now.
 */
import type { AddedStatement, Edit, MovedStatement, StatementTransform, TransformContext, TransformResult } from "../src/transform.js";
import { listKey, nameList, quoteIdent, quoteLiteral } from "../src/sql/names.js";
import { derivedName, doIf } from "../src/sql/phase-sql.js";
import { tokenAt } from "../src/sql/tokens.js";

const ID = "index-replace";

export const indexReplace: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "an index dropped and created again: the new one is built before the old one is dropped",
    docs: "docs/transforms.md#index-replace",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const added: AddedStatement[] = [];
    const moved: MovedStatement[] = [];
    if (!ctx.newMigration) return { edits };
    const statements = ctx.sql.statements;
    // Only indexes that are built concurrently (tables that exist) take part.
    const creates = statements.filter((s) => s.kind === "IndexStmt" && s.node.idxname && !ctx.createdTables.has(`${s.node.relation.schemaname ?? "public"}.${s.node.relation.relname}`));
    if (!creates.length) return { edits };
    const lastCreate = Math.max(...creates.map((s) => s.index));
    const createdAt = new Map(creates.map((s) => [`${s.node.relation.schemaname ?? "public"}.${s.node.idxname}`, s]));
    const replaced = new Set<number>();
    for (const d of statements) {
      if (d.kind !== "DropStmt" || d.node.removeType !== "OBJECT_INDEX" || d.index > lastCreate || (d.node.objects ?? []).length !== 1) continue;
      const names = nameList(d.node.objects[0].List?.items);
      const c = createdAt.get(listKey(names));
      // The same index dropped twice before it is created again: the first drop is the one replaced;
      // the second stays where it is (it runs before the new index exists, as it did).
      if (c && replaced.has(c.index)) continue;
      if (c && c.index > d.index) {
        replaced.add(c.index);
        // Same name: build under a temporary name, drop the old index, rename the new one.
        const at = tokenAt(c.tokens, ctx.sql.offset(c.node.relation.location ?? 0));
        const nameToken = c.tokens.slice(0, at < 0 ? c.tokens.length : at).filter((t) => t.kind === "IDENT").at(-1);
        if (!nameToken) continue;
        const temp = derivedName(c.node.idxname, "_dg_new");
        edits.push({ start: nameToken.start, end: nameToken.end, text: quoteIdent(temp), by: ID });
        moved.push({ statement: d.index, phase: "concurrent", order: c.index + 0.1 });
        const schema = c.node.relation.schemaname ? `${quoteIdent(c.node.relation.schemaname)}.` : "";
        const tempSql = `${schema}${quoteIdent(temp)}`;
        added.push({
          phase: "concurrent",
          text: doIf(`to_regclass(${quoteLiteral(tempSql)}) IS NOT NULL`, `ALTER INDEX ${tempSql} RENAME TO ${quoteIdent(c.node.idxname)}`),
          order: c.index + 0.2,
        });
      } else {
        moved.push({ statement: d.index, phase: "concurrent", order: lastCreate + 0.5 });
      }
    }
    return { edits, added, moved };
  },
};

export default indexReplace;
