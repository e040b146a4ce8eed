/**
 * Rewrites one migration file: runs the statement transforms, applies their edits through the
 * engine and lays the result out as one file, or (for migrations generated now) as a
 * transactional file followed by a non-transactional one.
 */
import { applyEdits, type Edit } from "./engine.js";
import { parseSql, isComment, type ParsedSql, type Statement } from "./sql/parse.js";
import { listKey, nameList, relKey } from "./sql/names.js";
import type { Note, TransformContext } from "./transform.js";
import { statementTransforms } from "../transforms/index.js";

export const NON_TX_HEADER =
  "-- drizzle-guard: transaction=off\n" +
  "-- CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block: each statement runs on its own.\n";

const BREAKPOINT = "--> statement-breakpoint";

export interface SqlPart {
  text: string;
  nonTransactional: boolean;
  /** Indexes (in the input) of the statements in this part. */
  statements: number[];
}

export interface SqlRewrite {
  file: string;
  input: string;
  parsed: ParsedSql;
  parts: SqlPart[];
  edits: Edit[];
  notes: Note[];
  /** Statements that received at least one edit. */
  changedStatements: number;
  changed: boolean;
}

export function buildContext(sql: ParsedSql): TransformContext {
  const createdTables = new Set<string>();
  const indexesOnCreatedTables = new Set<string>();
  const droppedTables = new Map<string, number>();
  for (const s of sql.statements) {
    const n = s.node;
    if (s.kind === "CreateStmt") createdTables.add(relKey(n.relation));
    else if (s.kind === "CreateTableAsStmt" && n.into?.rel) createdTables.add(relKey(n.into.rel));
    else if (s.kind === "IndexStmt" && n.idxname && createdTables.has(relKey(n.relation)))
      indexesOnCreatedTables.add(`${n.relation.schemaname ?? "public"}.${n.idxname}`);
    else if (s.kind === "DropStmt" && n.removeType === "OBJECT_TABLE")
      for (const o of n.objects ?? []) droppedTables.set(listKey(nameList(o.List?.items)), s.index);
  }
  return { sql, createdTables, indexesOnCreatedTables, droppedTables };
}

/** The text from statement i's start (file start for i = 0) to the next statement's start. */
function chunkRange(sql: ParsedSql, i: number): [number, number] {
  const st = sql.statements;
  return [i === 0 ? 0 : st[i].start, i === st.length - 1 ? sql.text.length : st[i + 1].start];
}

/**
 * Moving the non-transactional statements after the transactional ones is safe unless a later
 * transactional statement names an index that an earlier non-transactional one creates or drops.
 */
function hoistBlocker(sql: ParsedSql, nonTx: Set<number>): string | undefined {
  const names = new Map<string, number>();
  for (const s of sql.statements) {
    if (nonTx.has(s.index)) {
      if (s.kind === "IndexStmt" && s.node.idxname) names.set(s.node.idxname, s.index);
      if (s.kind === "DropStmt") for (const o of s.node.objects ?? []) names.set(nameList(o.List?.items).at(-1) ?? "", s.index);
      continue;
    }
    for (const t of s.tokens) {
      if (isComment(t) || t.kind !== "IDENT") continue;
      const ident = t.text.startsWith('"') ? t.text.slice(1, -1).replace(/""/g, '"') : t.text.toLowerCase();
      const at = names.get(ident);
      if (at !== undefined && at < s.index) return `statement ${s.index + 1} uses index "${ident}" touched by statement ${at + 1}`;
    }
  }
  return undefined;
}

function stripTrailingBreakpoint(text: string): string {
  return text.replace(/\n?--> statement-breakpoint\s*$/, "");
}

export interface RewriteSqlOptions {
  /** May the statements be split into a transactional and a non-transactional file? */
  split: boolean;
}

export function rewriteSql(input: string, file: string, options: RewriteSqlOptions): SqlRewrite {
  const parsed = parseSql(input, file);
  const ctx = buildContext(parsed);
  const edits: Edit[] = [];
  const notes: Note[] = [];
  const nonTx = new Set<number>();
  for (const t of statementTransforms) {
    const r = t.apply(ctx);
    edits.push(...r.edits);
    notes.push(...(r.notes ?? []));
    for (const i of r.nonTransactional ?? []) nonTx.add(i);
  }
  const statements = parsed.statements;
  const touched = new Set<number>();
  for (const e of edits) {
    const s = statements.find((x) => e.start >= x.start && e.start <= x.end);
    if (s) touched.add(s.index);
  }

  const whole = (nonTransactional: boolean, header: boolean): SqlPart[] => {
    const all = header ? [{ start: 0, end: 0, text: NON_TX_HEADER, by: "concurrent-index" }, ...edits] : edits;
    return [{ text: applyEdits(input, all, 0, input.length, file), nonTransactional, statements: statements.map((s) => s.index) }];
  };

  let parts: SqlPart[];
  if (nonTx.size === 0 || parsed.nonTransactional) {
    parts = whole(parsed.nonTransactional, false);
  } else if (nonTx.size === statements.length) {
    parts = whole(true, true);
  } else {
    const blocker = options.split ? hoistBlocker(parsed, nonTx) : "this migration already exists and is never split";
    if (blocker) {
      notes.push({
        statement: Math.min(...nonTx),
        transform: "concurrent-index",
        message: `whole file runs without a transaction (${blocker})`,
      });
      parts = whole(true, true);
    } else {
      const group = (wantNonTx: boolean): SqlPart => {
        const members = statements.filter((s) => nonTx.has(s.index) === wantNonTx);
        let text = wantNonTx ? NON_TX_HEADER : "";
        members.forEach((s: Statement, k) => {
          const [from, to] = chunkRange(parsed, s.index);
          let chunk = applyEdits(
            input,
            edits.filter((e) => e.start >= from && e.end <= to && !(e.start === to && to !== input.length)),
            from,
            to,
            file,
          );
          if (k < members.length - 1 && !chunk.trimEnd().endsWith(BREAKPOINT)) {
            chunk = chunk.replace(/\s*$/, "") + BREAKPOINT + "\n";
          }
          text += chunk;
        });
        return { text: stripTrailingBreakpoint(text), nonTransactional: wantNonTx, statements: members.map((s) => s.index) };
      };
      parts = [group(false), group(true)];
    }
  }
  const changed = parts.length !== 1 || parts[0].text !== input;
  return { file, input, parsed, parts, edits, notes, changedStatements: touched.size, changed };
}
