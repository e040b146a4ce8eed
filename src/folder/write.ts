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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
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

/** Test hook: `DRIZZLE_GUARD_FAULT_AT=<step>` kills the process at that step (crash trials). */
const faultHook: ((step: string) => void) | undefined = process.env.DRIZZLE_GUARD_FAULT_AT
  ? (step) => {
      if (step === process.env.DRIZZLE_GUARD_FAULT_AT) process.kill(process.pid, "SIGKILL");
    }
  : undefined;

function writeDurable(path: string, content: string): void {
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
 * Finishes or discards an interrupted write. Returns "rolled-forward", "discarded" or "clean".
 */
export function recoverFolder(dir: string): "rolled-forward" | "discarded" | "clean" {
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
  recoverFolder(dir);
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
