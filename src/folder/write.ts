/**
 * Atomic changes to a migrations folder, as a small write-ahead plan:
 *   1. every new content is written and fsynced in `<out>/.drizzle-guard-staging/`;
 *   2. the plan (an ordered list of renames and deletes) is written there and committed by an
 *      atomic rename of `plan.json.tmp` to `plan.json`;
 *   3. the operations run in order (each one is idempotent); the staging folder is removed.
 * A process killed before the commit leaves the folder untouched (the staging folder is discarded
 * on the next run); killed after it, the next run of any drizzle-guard command rolls the plan
 * forward. The caller orders the operations so that every intermediate state is readable by
 * drizzle-kit: new files first, snapshots newest first, the journal last but for the deletes.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { GuardError } from "../errors.js";

export const STAGING = ".drizzle-guard-staging";

export type Op =
  /** Move staged content into place (replacing what is there). */
  | { op: "put"; staged: string; to: string }
  /** Rename a file inside the folder. */
  | { op: "rename"; from: string; to: string }
  | { op: "delete"; path: string };

interface PlanFile {
  version: 1;
  ops: Op[];
}

/**
 * Test hooks for crash trials: `DRIZZLE_GUARD_FAULT_AT=<step>` kills the process at that step;
 * `DRIZZLE_GUARD_FAULT_DELAY_MS=<n>` sleeps n ms at every step, so that a kill at a random moment
 * lands inside a write as often as outside it; `DRIZZLE_GUARD_FAULT_TRACE=<file>` appends the name of
 * every step passed (the fault points a trial can choose from).
 */
const faultDelay = Number(process.env.DRIZZLE_GUARD_FAULT_DELAY_MS ?? 0);
const faultTrace = process.env.DRIZZLE_GUARD_FAULT_TRACE;
export const faultHook: ((step: string) => void) | undefined =
  process.env.DRIZZLE_GUARD_FAULT_AT || faultDelay > 0 || faultTrace
    ? (step) => {
        if (faultTrace) appendFileSync(faultTrace, step + "\n");
        if (faultDelay > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, faultDelay);
        if (step === process.env.DRIZZLE_GUARD_FAULT_AT) process.kill(process.pid, "SIGKILL");
      }
    : undefined;

export function writeDurable(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename order still holds.
  }
}

function runOps(dir: string, ops: Op[]): void {
  const stagingDir = join(dir, STAGING);
  ops.forEach((o, i) => {
    faultHook?.(`op:${i}`);
    if (o.op === "put") {
      const from = join(stagingDir, o.staged);
      if (existsSync(from)) {
        mkdirSync(dirname(join(dir, o.to)), { recursive: true });
        renameSync(from, join(dir, o.to));
      } else if (!existsSync(join(dir, o.to))) {
        throw new GuardError(`interrupted write cannot be completed: staged ${o.staged} for ${o.to} is missing`, {
          file: join(dir, STAGING),
        });
      }
    } else if (o.op === "rename") {
      if (existsSync(join(dir, o.from))) renameSync(join(dir, o.from), join(dir, o.to));
    } else if (existsSync(join(dir, o.path))) {
      unlinkSync(join(dir, o.path));
    }
  });
  syncDir(dir);
  syncDir(join(dir, "meta"));
  faultHook?.("cleanup");
  rmSync(stagingDir, { recursive: true, force: true });
}

/**
 * Finishes or discards an interrupted write, then undoes what an interrupted `generate` left
 * (see beginGenerate). Returns "rolled-forward", "discarded" or "clean".
 */
export function recoverFolder(dir: string): "rolled-forward" | "discarded" | "clean" {
  const r = recoverStaging(dir);
  return undoGenerate(dir) && r === "clean" ? "discarded" : r;
}

function recoverStaging(dir: string): "rolled-forward" | "discarded" | "clean" {
  const stagingDir = join(dir, STAGING);
  if (!existsSync(stagingDir)) return "clean";
  const planPath = join(stagingDir, "plan.json");
  if (existsSync(planPath)) {
    let plan: PlanFile;
    try {
      plan = JSON.parse(readFileSync(planPath, "utf8"));
    } catch {
      throw new GuardError(`the interrupted write's plan is unreadable`, { file: planPath });
    }
    runOps(dir, plan.ops);
    return "rolled-forward";
  }
  rmSync(stagingDir, { recursive: true, force: true });
  return "discarded";
}

export interface Change {
  /** Contents to stage, by staged name. */
  files: Map<string, string>;
  ops: Op[];
}

/** Applies a change atomically (see the module comment). */
export function commitChange(dir: string, change: Change): void {
  // Only an interrupted write: a generate marker here is the caller's own (generate commits its rewrite).
  recoverStaging(dir);
  const stagingDir = join(dir, STAGING);
  mkdirSync(stagingDir, { recursive: true });
  let n = 0;
  for (const [name, content] of change.files) {
    writeDurable(join(stagingDir, name), content);
    faultHook?.(`stage:${n++}`);
  }
  writeDurable(join(stagingDir, "plan.json.tmp"), JSON.stringify({ version: 1, ops: change.ops } satisfies PlanFile));
  faultHook?.("before-commit");
  renameSync(join(stagingDir, "plan.json.tmp"), join(stagingDir, "plan.json"));
  syncDir(stagingDir);
  faultHook?.("committed");
  runOps(dir, change.ops);
}

/**
 * `generate` runs drizzle-kit, which writes into the folder without any atomicity (snapshot, then
 * journal, then SQL file), and then rewrites what it added. Before drizzle-kit runs, this marker
 * records the folder as it was (journal text, file names); the rewrite's committed plan deletes it
 * as its last operation. A marker found later means a generate was interrupted before its rewrite
 * was committed: recoverFolder puts the journal back and removes the files drizzle-kit added, so
 * the next `generate` makes the same migration again (nothing half-written, nothing lost).
 */
export const GENERATE_MARKER = ".drizzle-guard-generate.json";

interface GenerateMarker {
  version: 1;
  /** The journal's text before drizzle-kit ran; null when there was none. */
  journal: string | null;
  /** Whether meta/ existed (drizzle-kit creates it with an empty journal). */
  meta: boolean;
  /** `*.sql` names in the folder and file names in meta/ before drizzle-kit ran. */
  files: string[];
}

function folderFiles(dir: string): string[] {
  const list = (d: string, prefix: string) =>
    existsSync(join(dir, d)) ? readdirSync(join(dir, d), { withFileTypes: true }).filter((e) => e.isFile()).map((e) => prefix + e.name) : [];
  return [...list(".", "").filter((n) => n.endsWith(".sql")), ...list("meta", "meta/")];
}

/** Writes the marker (durably) before drizzle-kit runs; creates the folder if needed. */
export function beginGenerate(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const journalPath = join(dir, "meta", "_journal.json");
  const marker: GenerateMarker = {
    version: 1,
    journal: existsSync(journalPath) ? readFileSync(journalPath, "utf8") : null,
    meta: existsSync(join(dir, "meta")),
    files: folderFiles(dir),
  };
  writeDurable(join(dir, `${GENERATE_MARKER}.tmp`), JSON.stringify(marker));
  renameSync(join(dir, `${GENERATE_MARKER}.tmp`), join(dir, GENERATE_MARKER));
  syncDir(dir);
}

/**
 * Undoes the drizzle-kit output of a generate that was interrupted (or that added no migration:
 * then there is nothing but the marker to remove); true when there was a marker. Idempotent.
 */
export function undoGenerate(dir: string): boolean {
  rmSync(join(dir, `${GENERATE_MARKER}.tmp`), { force: true });
  const path = join(dir, GENERATE_MARKER);
  if (!existsSync(path)) return false;
  let marker: GenerateMarker;
  try {
    marker = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new GuardError("the interrupted generate's marker is unreadable", { file: path, hint: `restore the folder from git and delete ${GENERATE_MARKER}` });
  }
  const journalPath = join(dir, "meta", "_journal.json");
  if (marker.journal === null) rmSync(journalPath, { force: true });
  else if (!existsSync(journalPath) || readFileSync(journalPath, "utf8") !== marker.journal) {
    writeDurable(`${journalPath}.tmp`, marker.journal);
    renameSync(`${journalPath}.tmp`, journalPath);
  }
  const before = new Set(marker.files);
  for (const f of folderFiles(dir)) {
    const added = !before.has(f) && (f.startsWith("meta/") ? !f.slice(5).startsWith("_") : true);
    if (added) unlinkSync(join(dir, f));
  }
  if (!marker.meta && existsSync(join(dir, "meta")) && readdirSync(join(dir, "meta")).length === 0) rmSync(join(dir, "meta"), { recursive: true });
  syncDir(dir);
  unlinkSync(path);
  return true;
}
