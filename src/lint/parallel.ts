/**
 * `lint` over many files: the files are spread over worker threads (the main thread takes its share
 * too), each worker with its own parser. Reports come back in file order, so the result is the
 * same as lintFiles' (a test compares them); on bad SQL the error is the one lintFiles would throw
 * (the first bad file in order).
 */
import { GuardError } from "../errors.js";
import { lintFile, verdictOf, type FileReport, type LintResult } from "./lint.js";
import type { ConfigApproval, RuleLevels } from "./forbidden.js";

/** Files handed to a worker at a time: small enough to balance, large enough that messages cost little. */
const CHUNK = 16;
/** Files the main thread lints between looks at the workers' replies (a worker waits for its next chunk meanwhile). */
const MAIN_CHUNK = 4;
/** Below this many files a worker's start-up (its own parser) costs more than it saves. */
const MIN_FILES_PER_THREAD = 64;

export interface WorkerData {
  approvals: readonly ConfigApproval[];
  cwd: string;
  levels: RuleLevels;
}
export type WorkerRequest = { from: number; files: string[] };
export type WorkerReply =
  | { from: number; reports: FileReport[] }
  | { from: number; failedAt: number; error: { message: string; file?: string; line?: number; column?: number; hint?: string; exitCode?: number; stack?: string; guard: boolean } };

/**
 * Threads for `files` files: one per idle core (the cores less the 1-minute load average, as `make -l` reads it),
 * at most 4, fewer for few files. Measured in bench/README.md: on cores other processes keep busy, a worker costs
 * its start-up (its own parser) and gains nothing. DRIZZLE_GUARD_THREADS=N asks for N (1: no workers), still no
 * more than there are chunks of files.
 */
export function threadCount(files: number, env: string | undefined, cores: number, load: number): number {
  const asked = env && /^\d+$/.test(env) && Number(env) > 0 ? Number(env) : undefined;
  const idle = Math.round(cores - load);
  const limit = asked ?? Math.min(idle, 4, Math.floor(files / MIN_FILES_PER_THREAD));
  return Math.max(1, Math.min(limit, Math.ceil(files / CHUNK)));
}

/** threadCount for this machine now; node:os is loaded only when there are enough files to ask it. */
export async function defaultThreads(files: number, env = process.env.DRIZZLE_GUARD_THREADS): Promise<number> {
  if (!env && files < 2 * MIN_FILES_PER_THREAD) return 1;
  const { availableParallelism, loadavg } = await import("node:os");
  return threadCount(files, env, availableParallelism(), loadavg()[0]);
}

export function serializeError(e: unknown): Extract<WorkerReply, { failedAt: number }>["error"] {
  if (e instanceof GuardError) return { message: e.message, file: e.file, line: e.line, column: e.column, hint: e.hint, exitCode: e.exitCode, guard: true };
  return { message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined, guard: false };
}

function deserializeError(e: Extract<WorkerReply, { failedAt: number }>["error"]): Error {
  if (e.guard) return new GuardError(e.message, e);
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

export async function lintFilesParallel(
  files: readonly string[],
  approvals: readonly ConfigApproval[] = [],
  cwd = process.cwd(),
  levels: RuleLevels = {},
  threads?: number,
): Promise<LintResult> {
  threads ??= await defaultThreads(files.length);
  const reports: FileReport[] = new Array(files.length);
  const failures: Array<{ at: number; error: Error }> = [];
  let next = 0;
  const take = (size: number): { from: number; to: number } | undefined => {
    if (next >= files.length || failures.length) return undefined;
    const from = next;
    next = Math.min(files.length, next + size);
    return { from, to: next };
  };

  const data: WorkerData = { approvals, cwd, levels };
  const { Worker } = threads > 1 ? await import("node:worker_threads") : { Worker: undefined };
  const workers = Array.from({ length: threads - 1 }, () => new Worker!(new URL("./worker.js", import.meta.url), { workerData: data }));
  const finished = workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        let inFlight = 0;
        const send = () => {
          const chunk = take(CHUNK);
          if (chunk) {
            inFlight++;
            w.postMessage({ from: chunk.from, files: files.slice(chunk.from, chunk.to) } satisfies WorkerRequest);
          } else if (inFlight === 0) resolve();
        };
        w.on("message", (m: WorkerReply) => {
          inFlight--;
          if ("reports" in m) m.reports.forEach((r, i) => (reports[m.from + i] = r));
          else failures.push({ at: m.failedAt, error: deserializeError(m.error) });
          send();
        });
        w.on("error", reject);
        w.on("exit", (code) => reject(new Error(`lint worker exited (${code}) before its work was done`)));
        // Two chunks in flight: the worker starts on the second while its reply to the first waits for the main thread.
        send();
        send();
      }),
  );

  // The main thread's share, a chunk at a time, letting the workers' replies in between.
  for (let chunk = take(MAIN_CHUNK); chunk; chunk = take(MAIN_CHUNK)) {
    for (let i = chunk.from; i < chunk.to; i++) {
      try {
        reports[i] = lintFile(files[i], approvals, cwd, levels);
      } catch (e) {
        failures.push({ at: i, error: e as Error });
        break;
      }
    }
    if (workers.length) await new Promise((r) => setImmediate(r));
  }
  try {
    await Promise.all(finished);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failures.length) {
    // The first bad file in order; files before it were all handed out, so none is missing.
    const first = failures.reduce((a, b) => (b.at < a.at ? b : a));
    throw first.error;
  }
  return { files: reports, ...verdictOf(reports) };
}
