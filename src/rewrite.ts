/**
 * Folder-level rewrite: every journal entry through rewriteSql, tags through the folder
 * transforms, snapshots chained, the sum file updated, all written as one atomic change.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GuardError } from "./errors.js";
import {
  JOURNAL,
  SUM,
  readFolder,
  readSnapshotFile,
  readSql,
  sha256,
  snapshotFile,
  type Folder,
  type JournalEntry,
  type SumEntry,
  type SumFile,
} from "./folder/folder.js";
import { deriveDown, downFile } from "./down/down.js";
import { commitChange, recoverFolder, type Change, type Op } from "./folder/write.js";
import { rewriteSql, type SqlRewrite } from "./rewrite-sql.js";
import { relKey, listKey, nameList } from "./sql/names.js";
import type { EntryName, Naming, Note } from "./transform.js";
import { folderTransforms } from "../transforms/index.js";

export interface RewriteOptions {
  /** Tags generated in this run: only these may be split into several entries. */
  newTags?: ReadonlySet<string>;
  /** Only these tags are rewritten (default: all). */
  only?: ReadonlySet<string>;
  naming?: Naming;
  /** lock_timeout / statement_timeout written at the top of new migrations' files. */
  timeouts?: { lockTimeout: string; statementTimeout: string };
  /** Rows per transaction in backfill files. */
  backfillBatchSize?: number;
}

export interface FileDiff {
  before: { path: string; text: string } | null;
  after: { path: string; text: string } | null;
}

export interface EntryReport {
  oldTag: string;
  tags: string[];
  statements: number;
  changedStatements: number;
  split: boolean;
  notes: Array<Note & { file: string; line: number; column: number }>;
}

export interface RewritePlan {
  folder: Folder;
  entries: EntryReport[];
  change: Change;
  diffs: FileDiff[];
  /** True when applying the plan would change nothing on disk. */
  unchanged: boolean;
  /** Migration files changed by hand since the sum file recorded them; the plan records them again. */
  handEdited: string[];
  /** Down files kept beside a hand-edited migration that differ from what would be derived from it now. */
  staleDowns: string[];
}

interface NewEntry {
  source: JournalEntry;
  part: number;
  parts: number;
  text: string;
  nonTransactional: boolean;
  existing: boolean;
  tag: string;
  when: number;
  /** The migration file as it was. */
  input: string;
  /** The rewrite of a split entry (its parts' statements build the intermediate snapshots); unset otherwise, so
   *  that a folder of thousands of files does not keep every parse tree until the plan is done. */
  rewrite?: SqlRewrite;
}

const ZERO_ID = "00000000-0000-0000-0000-000000000000";
/** Snapshots kept in memory while planning (see readSnapshot in planRewrite). */
const SNAPSHOT_CACHE = 4;

/** Snapshot after the transactional part of a split migration: the final one without the index changes of the later part. */
function intermediateSnapshot(finalSnap: Record<string, any>, prevSnap: Record<string, any> | undefined, rw: SqlRewrite, later: number[]) {
  const snap = JSON.parse(JSON.stringify(finalSnap));
  // Creations first, then drops: an index a later part drops and creates again (a changed index)
  // is there in its old form.
  const isIndex = (i: number) => rw.parsed.statements[i].kind === "IndexStmt";
  for (const i of [...later.filter(isIndex), ...later.filter((i) => !isIndex(i))]) {
    const s = rw.parsed.statements[i];
    if (s.kind === "IndexStmt") {
      delete snap.tables?.[relKey(s.node.relation)]?.indexes?.[s.node.idxname];
    } else if (s.kind === "DropStmt" && prevSnap) {
      for (const o of s.node.objects ?? []) {
        const names = nameList(o.List?.items);
        const schema = listKey(names).split(".")[0];
        const name = names[names.length - 1];
        for (const [key, table] of Object.entries<any>(prevSnap.tables ?? {})) {
          if (key.startsWith(`${schema}.`) && table.indexes?.[name] && snap.tables?.[key]) {
            snap.tables[key].indexes = { ...(snap.tables[key].indexes ?? {}), [name]: table.indexes[name] };
          }
        }
      }
    }
  }
  return snap;
}

export function planRewrite(folder: Folder, options: RewriteOptions = {}): RewritePlan {
  const naming = options.naming ?? "timestamp";
  const newTags = options.newTags ?? new Set<string>();
  const entries: NewEntry[] = [];
  const reports: EntryReport[] = [];
  // Snapshots are read in journal order by each step below, and each is needed by its entry and the next
  // one: a few recent ones are kept, not the folder's (a legacy folder can hold hundreds of MB of them).
  const snapshots = new Map<string, Record<string, any> | undefined>();
  const readSnapshot = (name: string) => {
    if (snapshots.has(name)) return snapshots.get(name);
    const snap = readSnapshotFile(folder, name);
    snapshots.set(name, snap);
    if (snapshots.size > SNAPSHOT_CACHE) snapshots.delete(snapshots.keys().next().value!);
    return snap;
  };
  let previousSnapshotName: string | undefined;
  for (const source of folder.journal.entries) {
    const input = readSql(folder, source.tag);
    const existing = !newTags.has(source.tag);
    const selected = !options.only || options.only.has(source.tag);
    const rw = rewriteSql(
      input,
      `${source.tag}.sql`,
      selected && !existing
        ? {
            split: true,
            snapshot: readSnapshot(snapshotFile(source.tag)),
            previousSnapshot: previousSnapshotName ? readSnapshot(previousSnapshotName) : undefined,
            timeouts: options.timeouts,
            backfillBatchSize: options.backfillBatchSize,
          }
        : { split: false },
    );
    if (folder.snapshots.includes(snapshotFile(source.tag))) previousSnapshotName = snapshotFile(source.tag);
    const parts = selected ? rw.parts : [{ text: input, nonTransactional: rw.parsed.nonTransactional, statements: [] }];
    parts.forEach((p, k) =>
      entries.push({
        source,
        part: k,
        parts: parts.length,
        text: p.text,
        nonTransactional: p.nonTransactional,
        existing: existing && k === 0,
        tag: k === 0 ? source.tag : `${source.tag}_${p.phase ?? `part${k + 1}`}`,
        when: source.when + k,
        input,
        rewrite: parts.length > 1 ? rw : undefined,
      }),
    );
    if (selected) {
      reports.push({
        oldTag: source.tag,
        tags: [],
        statements: rw.parsed.statements.length,
        changedStatements: rw.changedStatements,
        split: parts.length > 1,
        notes: rw.notes.map((n) => {
          const s = rw.parsed.statements[n.statement];
          return { ...n, file: `${source.tag}.sql`, line: s?.line ?? 1, column: s?.column ?? 1 };
        }),
      });
    }
  }

  // Names and times.
  let names = entries.map<EntryName>((e) => ({ tag: e.tag, when: e.when, existing: e.existing }));
  for (const t of folderTransforms) {
    const renamed = t.apply(names, { naming });
    names = renamed.map((r, i) => ({ tag: r.tag, when: r.when, existing: names[i].existing }));
  }
  entries.forEach((e, i) => {
    // Entries outside `only` keep their names: `generate` touches only what it generated.
    if (options.only && !options.only.has(e.source.tag)) return;
    e.tag = names[i].tag;
    e.when = names[i].when;
  });
  const tagSet = new Set<string>();
  for (const e of entries) {
    if (tagSet.has(e.tag)) throw new GuardError(`two migrations would be named ${e.tag}`, { file: JOURNAL });
    tagSet.add(e.tag);
  }
  for (const r of reports) r.tags = entries.filter((e) => e.source.tag === r.oldTag).map((e) => e.tag);

  const files = new Map<string, string>();
  const ops: Op[] = [];
  const diffs: FileDiff[] = [];
  let stagedN = 0;
  const stage = (content: string, to: string) => {
    const name = `f${stagedN++}`;
    files.set(name, content);
    ops.push({ op: "put", staged: name, to });
  };

  // 1. SQL files under their new names (old ones stay until the journal points elsewhere).
  for (const e of entries) {
    const oldText = e.part === 0 && e.parts === 1 ? e.input : null;
    const renamed = e.tag !== e.source.tag;
    if (renamed || e.parts > 1 || oldText !== e.text) stage(e.text, `${e.tag}.sql`);
    if (e.part === 0) {
      diffs.push({
        before: { path: `${e.source.tag}.sql`, text: e.input },
        after: { path: `${e.tag}.sql`, text: e.text },
      });
    } else {
      diffs.push({ before: null, after: { path: `${e.tag}.sql`, text: e.text } });
    }
  }

  // 2. Snapshots, newest first, so the newest state is always last in string order and no two
  //    snapshots ever share a prevId.
  const snapshotOps: Op[] = [];
  const existingSnapshots = new Set(folder.snapshots);
  const targets = new Set<string>();
  // The snapshot before a split entry (its name; read only when an entry is split).
  let prevSnapName: string | undefined;
  const plans: Array<{ e: NewEntry; oldName?: string; content?: Record<string, any>; newName: string }> = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const oldName = snapshotFile(e.source.tag);
    const newName = snapshotFile(e.tag);
    if (e.parts === 1) {
      const has = existingSnapshots.has(oldName);
      plans.push({ e, oldName: has ? oldName : undefined, newName });
      if (has) prevSnapName = oldName;
      continue;
    }
    // A split entry: part 0 gets an intermediate snapshot, the last part drizzle-kit's own.
    if (e.part !== 0) continue;
    const finalSnap = readSnapshot(oldName);
    const group = entries.slice(i, i + e.parts);
    const rw = e.rewrite!;
    const prevSnapOfEntry = prevSnapName ? readSnapshot(prevSnapName) : undefined;
    if (!finalSnap) {
      for (const g of group) plans.push({ e: g, newName: snapshotFile(g.tag) });
      continue;
    }
    // Part k's snapshot: the final one without the index changes of the parts after it.
    let prevId = finalSnap.prevId ?? ZERO_ID;
    group.forEach((g, k) => {
      const last = k === group.length - 1;
      const later = group.slice(k + 1).flatMap((x) => rw.parts[x.part].statements);
      const snap = last ? { ...finalSnap } : intermediateSnapshot(finalSnap, prevSnapOfEntry, rw, later);
      if (!last) snap.id = randomUUID();
      snap.prevId = prevId;
      prevId = snap.id;
      plans.push({ e: g, oldName: last ? oldName : undefined, content: snap, newName: snapshotFile(g.tag) });
    });
    prevSnapName = oldName;
  }
  const movedAway = new Set<string>();
  for (const p of [...plans].reverse()) {
    if (targets.has(p.newName)) throw new GuardError(`two snapshots would be named meta/${p.newName}`, { file: JOURNAL });
    targets.add(p.newName);
    const occupied = existingSnapshots.has(p.newName) && p.oldName !== p.newName && !movedAway.has(p.newName);
    if (p.oldName && p.oldName !== p.newName) movedAway.add(p.oldName);
    if ((p.oldName !== p.newName || p.content) && occupied) {
      throw new GuardError(`meta/${p.newName} already exists and belongs to another migration`, {
        file: join("meta", p.newName),
        hint: "the folder has snapshots that do not match its journal; run drizzle-guard check",
      });
    }
    if (p.oldName && p.oldName !== p.newName) snapshotOps.push({ op: "rename", from: `meta/${p.oldName}`, to: `meta/${p.newName}` });
    if (p.content) {
      const name = `f${stagedN++}`;
      files.set(name, JSON.stringify(p.content, null, 2));
      snapshotOps.push({ op: "put", staged: name, to: `meta/${p.newName}` });
    }
  }
  ops.push(...snapshotOps);

  // 2b. Down files (drizzle's migrator never reads them), each derived from its entry's final text
  //     and the snapshot before it. Written when missing or when the entry itself changes; a kept
  //     entry keeps its down file (a hand-written reverse survives).
  //     A migration edited by hand keeps its down file too, but when that no longer matches what
  //     would be derived now, the plan says so (the reverse of the edit may be missing).
  const oldSum = new Map((folder.sum?.entries ?? []).map((s) => [s.tag, s]));
  const edited = entries.filter((e) => e.part === 0 && oldSum.has(e.source.tag) && oldSum.get(e.source.tag)!.sha256 !== sha256(e.input));
  const handEdited = edited.map((e) => `${e.source.tag}.sql`);
  const staleDowns: string[] = [];
  const snapshotOf = (p: (typeof plans)[number]) => p.content ?? (p.oldName ? readSnapshot(p.oldName) : undefined);
  entries.forEach((e, i) => {
    if (options.only && !options.only.has(e.source.tag)) return;
    const path = downFile(e.tag);
    const oldPath = e.part === 0 ? downFile(e.source.tag) : undefined;
    const unchanged = e.part === 0 && e.parts === 1 && e.tag === e.source.tag && e.text === e.input;
    // The snapshot before the migration (before its first part); before the first one there was nothing.
    const first = i - e.part;
    const derive = () => deriveDown(e.text, `${e.tag}.sql`, first > 0 ? snapshotOf(plans[first - 1]) : {}, snapshotOf(plans[i])).text;
    if (unchanged && existsSync(join(folder.dir, path))) {
      if (edited.includes(e) && readFileSync(join(folder.dir, path), "utf8") !== derive()) staleDowns.push(path);
      return;
    }
    const down = derive();
    const before = oldPath && existsSync(join(folder.dir, oldPath)) ? { path: oldPath, text: readFileSync(join(folder.dir, oldPath), "utf8") } : null;
    if (before?.path === path && before.text === down) return;
    stage(down, path);
    diffs.push({ before, after: { path, text: down } });
    if (before && before.path !== path) ops.push({ op: "delete", path: before.path });
  });

  // 3. Sum file, then the journal.
  const sum: SumFile = {
    version: 1,
    entries: entries.map<SumEntry>((e) => {
      const prior = oldSum.get(e.source.tag);
      const hash = sha256(e.text);
      const from = new Set(e.part === 0 ? (prior?.rewrittenFrom ?? []) : []);
      if (e.parts === 1) {
        const oldHash = sha256(e.input);
        if (oldHash !== hash) from.add(oldHash);
        if (prior && prior.sha256 !== hash) from.add(prior.sha256);
      }
      from.delete(hash);
      return { tag: e.tag, when: e.when, sha256: hash, rewrittenFrom: [...from] };
    }),
  };
  const sumText = JSON.stringify(sum, null, 2) + "\n";
  const oldSumText = folder.sum ? readFileSync(join(folder.dir, SUM), "utf8") : null;
  if (sumText !== oldSumText) stage(sumText, SUM);

  const journal = {
    ...folder.journal,
    entries: entries.map((e, idx) => ({ ...e.source, idx, when: e.when, tag: e.tag })),
  };
  const journalText = JSON.stringify(journal, null, 2);
  const oldJournalText = readFileSync(join(folder.dir, JOURNAL), "utf8");
  if (journalText !== oldJournalText) stage(journalText, JOURNAL);

  // 4. Files the journal no longer names.
  for (const e of folder.journal.entries) if (!tagSet.has(e.tag)) ops.push({ op: "delete", path: `${e.tag}.sql` });

  return { folder, entries: reports, change: { files, ops }, diffs, unchanged: ops.length === 0, handEdited, staleDowns };
}

export function applyPlan(plan: RewritePlan): void {
  if (!plan.unchanged) commitChange(plan.folder.dir, plan.change);
}

/** `drizzle-guard rewrite`: the whole folder, never splitting an existing entry. */
export function rewriteFolder(out: string, options: RewriteOptions & { dryRun?: boolean } = {}): RewritePlan {
  if (!options.dryRun) recoverFolder(out);
  const folder = readFolder(out);
  const plan = planRewrite(folder, options);
  if (!options.dryRun) applyPlan(plan);
  return plan;
}
