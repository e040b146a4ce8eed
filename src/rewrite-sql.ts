/**
 * Rewrites one migration file: runs the statement transforms, applies their edits through the
 * engine and lays the result out as one file, or (for migrations generated now) as a
 * transactional file followed by a non-transactional one.
 */
import { applyEdits, type Edit } from "./engine.js";
import { parseSql, isComment, type ParsedSql, type Statement } from "./sql/parse.js";
import { listKey, nameList, quoteLiteral, relKey } from "./sql/names.js";
import type { AddedStatement, Note, Phase, TransformContext } from "./transform.js";
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
  /** Set when a new migration was split into phase files. */
  phase?: Phase;
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

export function buildContext(sql: ParsedSql): Omit<TransformContext, "newMigration"> & { newMigration: boolean } {
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
  return { sql, createdTables, indexesOnCreatedTables, droppedTables, newMigration: false };
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
  /** A migration generated now: may be split into phase files and gets phase-only rewrites. */
  split: boolean;
  /** drizzle-kit's snapshots after and before this migration (new migrations). */
  snapshot?: Record<string, any>;
  previousSnapshot?: Record<string, any>;
  /** lock_timeout / statement_timeout written at the top of new migrations' files. */
  timeouts?: { lockTimeout: string; statementTimeout: string };
}

const PHASE_HEADER: Record<Phase, string> = {
  expand:
    "-- drizzle-guard: phase=expand\n" +
    "-- Expand: additive changes with brief locks; the files after it finish this migration.\n" +
    "-- Deploy application code that works with both the old and the new schema before them.\n",
  concurrent: NON_TX_HEADER + "-- drizzle-guard: phase=expand\n-- Expand (concurrent): indexes built and dropped without blocking writes.\n",
  validate:
    "-- drizzle-guard: phase=validate\n" +
    "-- Validate: constraints added NOT VALID are checked against existing rows under SHARE UPDATE EXCLUSIVE\n" +
    "-- (reads and writes go on). Rows that violate them make this file fail: fix the data, then run it again.\n",
};

const isTimeoutSet = (s: Statement) => s.kind === "VariableSetStmt" && ["lock_timeout", "statement_timeout"].includes(s.node.name);

function timeoutLines(t: NonNullable<RewriteSqlOptions["timeouts"]>, transactional: boolean): string {
  const statement = transactional ? t.statementTimeout : "0";
  return `SET lock_timeout = ${quoteLiteral(t.lockTimeout)};${BREAKPOINT}\nSET statement_timeout = ${quoteLiteral(statement)};${BREAKPOINT}\n`;
}

export function rewriteSql(input: string, file: string, options: RewriteSqlOptions): SqlRewrite {
  const parsed = parseSql(input, file);
  const ctx = {
    ...buildContext(parsed),
    newMigration: options.split,
    snapshot: options.snapshot,
    previousSnapshot: options.previousSnapshot,
  };
  const edits: Edit[] = [];
  const notes: Note[] = [];
  const nonTx = new Set<number>();
  const added: AddedStatement[] = [];
  for (const t of statementTransforms) {
    const r = t.apply(ctx);
    edits.push(...r.edits);
    notes.push(...(r.notes ?? []));
    for (const i of r.nonTransactional ?? []) nonTx.add(i);
    added.push(...(r.added ?? []));
  }
  const statements = parsed.statements;
  const touched = new Set<number>();
  for (const e of edits) {
    const s = statements.find((x) => e.start >= x.start && e.start <= x.end);
    if (s) touched.add(s.index);
  }
  // New migrations set their timeouts first, unless the file already does.
  const timeouts = options.split && options.timeouts && !statements.slice(0, 2).some(isTimeoutSet) ? options.timeouts : undefined;

  const appended = (list: AddedStatement[]) => list.map((a) => a.text).join(`${BREAKPOINT}\n`);
  const whole = (nonTransactional: boolean, header: boolean): SqlPart[] => {
    const head = (header ? NON_TX_HEADER : "") + (timeouts && statements.length ? timeoutLines(timeouts, !nonTransactional) : "");
    const all = head ? [{ start: 0, end: 0, text: head, by: "rewrite" }, ...edits] : edits;
    let text = applyEdits(input, all, 0, input.length, file);
    if (added.length) text = text.replace(/;?\s*$/, (m) => (m.includes(";") ? ";" : "") + `${BREAKPOINT}\n` + appended(added));
    return [{ text, nonTransactional, statements: statements.map((s) => s.index) }];
  };

  let parts: SqlPart[];
  const mixed = nonTx.size > 0 && nonTx.size < statements.length;
  if (parsed.nonTransactional || (!options.split && nonTx.size === 0)) {
    parts = whole(parsed.nonTransactional, false);
  } else if (!options.split && nonTx.size === statements.length) {
    parts = whole(true, true);
  } else {
    const blocker = !options.split ? "this migration already exists and is never split" : mixed ? hoistBlocker(parsed, nonTx) : undefined;
    if (blocker) {
      notes.push({
        statement: Math.min(...nonTx),
        transform: "concurrent-index",
        message: `whole file runs without a transaction (${blocker})`,
      });
      parts = whole(true, true);
    } else {
      const expand = statements.filter((s) => !nonTx.has(s.index));
      const concurrent = statements.filter((s) => nonTx.has(s.index));
      const validate = added.filter((a) => a.phase === "validate");
      const phases = [expand.length ? "expand" : "", concurrent.length ? "concurrent" : "", validate.length ? "validate" : ""].filter(Boolean) as Phase[];
      if (phases.length <= 1 && validate.length === 0) {
        parts = whole(concurrent.length > 0, concurrent.length > 0);
      } else {
        const many = phases.length > 1;
        const group = (members: Statement[], phase: Phase): SqlPart => {
          const transactional = phase !== "concurrent";
          let text = (many || phase === "concurrent" ? PHASE_HEADER[phase] : "") + (timeouts ? timeoutLines(timeouts, transactional) : "");
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
          return { text: stripTrailingBreakpoint(text), nonTransactional: !transactional, statements: members.map((s) => s.index), phase };
        };
        parts = [];
        if (expand.length) parts.push(group(expand, "expand"));
        if (concurrent.length) parts.push(group(concurrent, "concurrent"));
        if (validate.length) {
          parts.push({
            text: PHASE_HEADER.validate + (timeouts ? timeoutLines(timeouts, true) : "") + appended(validate),
            nonTransactional: false,
            statements: [],
            phase: "validate",
          });
        }
      }
    }
  }
  const changed = parts.length !== 1 || parts[0].text !== input;
  return { file, input, parsed, parts, edits, notes, changedStatements: touched.size, changed };
}
