/**
 * Counting for the reliability suite: every trial is recorded (category, failed or not) as a JSON line
 * in the file named by DRIZZLE_GUARD_RELIABILITY_LOG (scripts/test.mjs sets it and prints the totals
 * after vitest), and a failed trial still fails its test. Random choices come from a seeded generator;
 * the seed is printed, and DRIZZLE_GUARD_SEED=<n> replays a run.
 */
import { appendFileSync } from "node:fs";

export type Category =
  | "crash: rewrite at fault points"
  | "crash: rewrite at random moments"
  | "crash: generate at fault points"
  | "crash: generate at random moments"
  | "concurrent runners"
  | "killed runner"
  | "lock contention"
  | "fuzz: rewrite/lint/check"
  | "hostile folders"
  | "secrets"
  | "injection";

export function record(category: Category, failed: boolean, trials = 1): void {
  const log = process.env.DRIZZLE_GUARD_RELIABILITY_LOG;
  if (log) appendFileSync(log, JSON.stringify({ category, trials, failures: failed ? trials : 0, seed: SEED }) + "\n");
}

/** Runs one trial: recorded, and its error rethrown. */
export async function trial<T>(category: Category, fn: () => T | Promise<T>): Promise<T> {
  try {
    const r = await fn();
    record(category, false);
    return r;
  } catch (e) {
    record(category, true);
    throw e;
  }
}

/** Runs `n` trials made inside `fn` (a property test's runs): all recorded as failed if it throws. */
export function counted<T>(category: Category, n: number, fn: () => T): T {
  let failed = true;
  try {
    const r = fn();
    failed = false;
    return r;
  } finally {
    record(category, failed, n);
  }
}

/** The run's seed: DRIZZLE_GUARD_SEED, else a fresh one. */
export const SEED = process.env.DRIZZLE_GUARD_SEED ? Number(process.env.DRIZZLE_GUARD_SEED) : Math.floor(Math.random() * 2 ** 31);

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `n` trials, `concurrency` at a time, each recorded; the test fails afterwards with every failed
 * trial's label and error (and the seed), so one failure does not hide the others.
 */
export async function trials(category: Category, n: number, concurrency: number, fn: (i: number) => Promise<void>, label = (i: number) => `trial ${i}`): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        await trial(category, () => fn(i));
      } catch (e) {
        failures.push(`${label(i)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.length) throw new Error(`${category}: ${failures.length} of ${n} trial(s) failed (DRIZZLE_GUARD_SEED=${SEED})\n${failures.join("\n\n")}`);
}
