/**
 * concurrent-index: CREATE [UNIQUE] INDEX -> CREATE [UNIQUE] INDEX CONCURRENTLY, DROP INDEX ->
 * DROP INDEX CONCURRENTLY, so writes to the table are not blocked while the index is built or
 * dropped. Such statements cannot run in a transaction: they are marked non-transactional and the
 * rewrite puts them in a file of their own. Indexes of a table created in the same migration are
 * left alone (the table is empty and nobody can be blocked; the statement stays transactional).
 */
import type { Note, StatementTransform, TransformContext, TransformResult, Edit } from "../src/transform.js";
import { findWord, matchWords } from "../src/sql/tokens.js";
import { listKey, nameList, relKey } from "../src/sql/names.js";

const ID = "concurrent-index";

export const concurrentIndex: StatementTransform = {
  kind: "statement",
  meta: {
    id: ID,
    description: "CREATE/DROP INDEX become CONCURRENTLY, in a file that runs outside a transaction",
    docs: "docs/transforms.md#concurrent-index",
  },
  apply(ctx: TransformContext): TransformResult {
    const edits: Edit[] = [];
    const notes: Note[] = [];
    const nonTransactional: number[] = [];
    for (const s of ctx.sql.statements) {
      const n = s.node;
      if (s.kind === "IndexStmt") {
        if (n.concurrent) {
          nonTransactional.push(s.index);
          continue;
        }
        if (ctx.createdTables.has(relKey(n.relation))) continue;
        const at = findWord(s.tokens, "INDEX");
        if (at < 0) {
          notes.push({ statement: s.index, transform: ID, message: "INDEX keyword not found; left as is" });
          continue;
        }
        edits.push({ start: s.tokens[at].end, end: s.tokens[at].end, text: " CONCURRENTLY", by: ID });
        nonTransactional.push(s.index);
      } else if (s.kind === "DropStmt" && n.removeType === "OBJECT_INDEX") {
        if (n.concurrent) {
          nonTransactional.push(s.index);
          continue;
        }
        const names: string[][] = (n.objects ?? []).map((o: any) => nameList(o.List?.items));
        if (names.length === 1 && ctx.indexesOnCreatedTables.has(listKey(names[0]))) continue;
        if (names.length !== 1 || n.behavior === "DROP_CASCADE") {
          notes.push({
            statement: s.index,
            transform: ID,
            message: "DROP INDEX CONCURRENTLY takes exactly one index and no CASCADE; left transactional",
          });
          continue;
        }
        const at = matchWords(s.tokens, 0, ["DROP", "INDEX"]);
        if (at < 0) continue;
        edits.push({ start: s.tokens[at].end, end: s.tokens[at].end, text: " CONCURRENTLY", by: ID });
        nonTransactional.push(s.index);
      }
    }
    return { edits, notes, nonTransactional };
  },
};

export default concurrentIndex;
