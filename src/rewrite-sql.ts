/**
 * Rewrites one migration file: runs the statement transforms, applies their edits through the
 * engine and lays the result out as one file, or (for migrations generated now) as a
 * transactional file followed by a non-transactional one.
 */
import { applyEdits, type Edit } from "./engine.js";
import { parseSql, isComment, type ParsedSql, type Statement } from "./sql/parse.js";
import { listKey, nameList, quoteLiteral, relKey } from "./sql/names.js";
import { NON_TRANSACTIONAL_PHASES, PHASES, type AddedStatement, type MovedStatement, type Note, type Phase, type TransformContext } from "./transform.js";
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

/** Names of objects a statement creates, drops or renames (what a statement moved past it must not use). */
function touchedNames(s: Statement): string[] {
  const n = s.node;
  switch (s.kind) {
    case "IndexStmt":
      return n.idxname ? [n.idxname] : [];
    case "DropStmt":
      // Tables, indexes, views: a List of names; schemas: a String; types and domains: a TypeName.
      return (n.objects ?? [])
        .map((o: any) => (o.List ? nameList(o.List.items).at(-1) : o.TypeName ? nameList(o.TypeName.names).at(-1) : o.String?.sval) ?? "")
        .filter(Boolean);
    case "AlterTableStmt":
      return (n.cmds ?? [])
        .map((c: any) => c.AlterTableCmd)
        .filter((c: any) => ["AT_DropColumn", "AT_DropConstraint"].includes(c.subtype))
        .map((c: any) => c.name)
        .filter(Boolean);
    default:
      return [];
  }
}

/**
 * Moving statements (`later`) after the ones that stay before them is safe unless one of those
 * names an object that a moved statement creates or drops.
 */
function hoistBlocker(sql: ParsedSql, later: ReadonlySet<number>, staysBefore: (i: number) => boolean): string | undefined {
  const names = new Map<string, number>();
  for (const s of sql.statements) {
    if (later.has(s.index)) {
      for (const name of touchedNames(s)) names.set(name, s.index);
      continue;
    }
    if (!staysBefore(s.index) || names.size === 0) continue;
    for (const t of s.tokens) {
      if (isComment(t) || t.kind !== "IDENT") continue;
      const ident = t.text.startsWith('"') ? t.text.slice(1, -1).replace(/""/g, '"') : t.text.toLowerCase();
      const at = names.get(ident);
      if (at !== undefined && at < s.index) return `statement ${s.index + 1} uses "${ident}", which statement ${at + 1} touches`;
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
  /** Rows per transaction in backfill files. */
  backfillBatchSize?: number;
}

const PHASE_HEADER: Record<Phase, string> = {
  expand:
    "-- drizzle-guard: phase=expand\n" +
    "-- Expand: additive changes with brief locks; the files after it finish this migration.\n" +
    "-- Deploy application code that works with both the old and the new schema before them.\n",
  concurrent: NON_TX_HEADER + "-- drizzle-guard: phase=expand\n-- Expand (concurrent): indexes built and dropped without blocking writes.\n",
  backfill:
    "-- drizzle-guard: transaction=off\n" +
    "-- drizzle-guard: phase=backfill\n" +
    "-- Backfill: data only, no schema change. Rows are updated in batches, each batch its own transaction,\n" +
    "-- so no lock is held for long; rows already set are skipped, so it can be stopped and run again.\n" +
    "-- The application must already write the new column (or the expand file gave it a default) before this runs.\n",
  validate:
    "-- drizzle-guard: transaction=off\n" +
    "-- drizzle-guard: phase=validate\n" +
    "-- Validate: each statement runs on its own, so no lock outlives it. VALIDATE CONSTRAINT checks existing rows\n" +
    "-- under SHARE UPDATE EXCLUSIVE (reads and writes go on); SET NOT NULL then needs no scan. Rows that violate\n" +
    "-- a constraint make this file fail: fix the data, then run it again.\n",
  contract:
    "-- drizzle-guard: phase=contract\n" +
    "-- Contract: removes what the new application code no longer uses. Deploy that code first;\n" +
    "-- `drizzle-guard migrate --phase expand` stops before this file.\n",
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
    backfillBatchSize: options.backfillBatchSize,
  };
  const statements = parsed.statements;
  // The statement whose span holds `offset` (ends included): a binary search, as a large file has many edits.
  const statementAt = (offset: number) => {
    let lo = 0;
    let hi = statements.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (statements[mid].start <= offset) lo = mid;
      else hi = mid - 1;
    }
    const s = statements[lo];
    return s && offset >= s.start && offset <= s.end ? s : undefined;
  };
  let edits: Edit[] = [];
  let notes: Note[] = [];
  const nonTx = new Set<number>();
  const added: AddedStatement[] = [];
  const moved = new Map<number, MovedStatement>();
  const replacedBy = new Map<number, string>();
  for (const t of statementTransforms) {
    const r = t.apply(ctx);
    edits.push(...r.edits);
    notes.push(...(r.notes ?? []));
    for (const i of r.nonTransactional ?? []) nonTx.add(i);
    added.push(...(r.added ?? []));
    for (const m of r.moved ?? []) moved.set(m.statement, m);
    for (const i of r.replaced ?? []) replacedBy.set(i, t.meta.id);
  }
  if (replacedBy.size) {
    edits = edits.filter((e) => {
      const s = statementAt(e.start);
      return !s || !replacedBy.has(s.index) || replacedBy.get(s.index) === e.by;
    });
    notes = notes.filter((n) => !replacedBy.has(n.statement) || replacedBy.get(n.statement) === n.transform);
  }
  const touched = new Set<number>();
  for (const e of edits) {
    const s = statementAt(e.start);
    if (s) touched.add(s.index);
  }
  // New migrations set their timeouts first, unless the file already does.
  const timeouts = options.split && options.timeouts && !statements.slice(0, 2).some(isTimeoutSet) ? options.timeouts : undefined;

  const appended = (list: AddedStatement[]) => list.map((a) => a.text).join(`${BREAKPOINT}\n`);
  /**
   * The file's last statement may have no `;`; one is inserted right after it (after the transforms' own
   * inserts there) when a statement follows it in the output, else the two would run together as one.
   */
  const terminate = (s: Statement | undefined): Edit[] => (s && s.semicolon < 0 ? [{ start: s.end, end: s.end, text: ";", by: "rewrite" }] : []);
  /** The timeout lines at the top of a file (none in an empty one). */
  const timeoutHead = (nonTransactional: boolean) => (timeouts && statements.length ? timeoutLines(timeouts, !nonTransactional) : "");
  /** The top of a file that is not split into phase files: the transaction=off marker when `header`, then the timeouts. */
  const plainHead = (nonTransactional: boolean, header: boolean) => (header ? NON_TX_HEADER : "") + timeoutHead(nonTransactional);
  const whole = (nonTransactional: boolean, header: boolean): SqlPart[] => {
    const head = plainHead(nonTransactional, header);
    const all = [...(head ? [{ start: 0, end: 0, text: head, by: "rewrite" }] : []), ...edits, ...(added.length ? terminate(statements.at(-1)) : [])];
    let text = applyEdits(input, all, 0, input.length, file);
    if (added.length) text = text.replace(/;?\s*$/, (m) => (m.includes(";") ? ";" : "") + `${BREAKPOINT}\n` + appended(added));
    return [{ text, nonTransactional, statements: statements.map((s) => s.index) }];
  };

  if (parsed.nonTransactional || (!options.split && nonTx.size === 0)) {
    return finish(whole(parsed.nonTransactional, false));
  }
  if (!options.split) {
    if (nonTx.size === statements.length) return finish(whole(true, true));
    notes.push({ statement: Math.min(...nonTx), transform: "concurrent-index", message: "whole file runs without a transaction (this migration already exists and is never split)" });
    return finish(whole(true, true));
  }

  // A new migration: every statement goes to a phase file; moves that would run a statement after
  // one that depends on it are cancelled (reported).
  const rank = (p: Phase) => PHASES.indexOf(p);
  const phaseOf = (i: number): Phase => moved.get(i)?.phase ?? (nonTx.has(i) ? "concurrent" : "expand");
  for (const phase of ["contract"] as Phase[]) {
    const later = new Set([...moved.values()].filter((m) => m.phase === phase).map((m) => m.statement));
    const blocker = later.size ? hoistBlocker(parsed, later, (i) => rank(phaseOf(i)) < rank(phase)) : undefined;
    if (blocker) {
      for (const i of later) moved.delete(i);
      notes.push({ statement: Math.min(...later), transform: "contract-drops", message: `kept in place, not moved to the contract file (${blocker})` });
    }
  }
  const concurrentSet = new Set(statements.filter((s) => phaseOf(s.index) === "concurrent").map((s) => s.index));
  const blocker = concurrentSet.size && concurrentSet.size < statements.length ? hoistBlocker(parsed, concurrentSet, (i) => phaseOf(i) === "expand") : undefined;
  if (blocker) {
    notes.push({ statement: Math.min(...concurrentSet), transform: "concurrent-index", message: `whole file runs without a transaction (${blocker})` });
    return finish(whole(true, true));
  }

  type Item = { order: number; seq: number; statement?: Statement; text?: string };
  const byPhase = new Map<Phase, Item[]>();
  let seq = 0;
  const put = (phase: Phase, item: Item) => byPhase.set(phase, [...(byPhase.get(phase) ?? []), item]);
  for (const s of statements) put(phaseOf(s.index), { order: moved.get(s.index)?.order ?? s.index, seq: seq++, statement: s });
  for (const a of added) put(a.phase, { order: a.order ?? Infinity, seq: seq++, text: a.text });
  const phases = PHASES.filter((p) => byPhase.has(p));
  /** The statements (and added ones) of one phase, in their order, after `head`. */
  const assemble = (phase: Phase, head: string): SqlPart => {
    const transactional = !NON_TRANSACTIONAL_PHASES.has(phase);
    const items = byPhase.get(phase)!.sort((a, b) => a.order - b.order || a.seq - b.seq);
    let text = head;
    items.forEach((item, k) => {
      let chunk: string;
      if (item.statement) {
        const [from, to] = chunkRange(parsed, item.statement.index);
        const own = edits.filter((e) => e.start >= from && e.end <= to && !(e.start === to && to !== input.length));
        chunk = applyEdits(
          input,
          k < items.length - 1 ? [...own, ...terminate(item.statement)] : own,
          from,
          to,
          file,
        );
      } else {
        chunk = item.text!;
      }
      if (k < items.length - 1 && !chunk.trimEnd().endsWith(BREAKPOINT)) chunk = chunk.replace(/\s*$/, "") + BREAKPOINT + "\n";
      text += chunk;
    });
    const members = items.filter((i) => i.statement).map((i) => i.statement!.index);
    return { text: stripTrailingBreakpoint(text), nonTransactional: !transactional, statements: members, phase };
  };
  // One phase, or none: an empty file (`drizzle-kit generate --custom`) stays one empty migration.
  // Statements moved within it (an index dropped after its replacement is built) keep their new order.
  if (phases.length <= 1) {
    const only = phases[0] ?? "expand";
    const nonTransactional = NON_TRANSACTIONAL_PHASES.has(only);
    if (!moved.size) return finish(whole(nonTransactional, only === "concurrent"));
    const { phase: _, ...part } = assemble(only, plainHead(nonTransactional, only === "concurrent"));
    return finish([part]);
  }
  const parts: SqlPart[] = phases.map((phase) => assemble(phase, PHASE_HEADER[phase] + timeoutHead(NON_TRANSACTIONAL_PHASES.has(phase))));
  return finish(parts);

  function finish(parts: SqlPart[]): SqlRewrite {
    const changed = parts.length !== 1 || parts[0].text !== input;
    return { file, input, parsed, parts, edits, notes, changedStatements: touched.size, changed };
  }
}
