/**
 * `drizzle-guard generate`: runs the project's own `drizzle-kit generate` (stdio inherited, so its
 * rename prompts work in a terminal), finds the journal entries it added and rewrites only those.
 * New entries are found by comparing the journal before and after: drizzle-kit exits 0 on some
 * failures, so its exit code alone proves nothing.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { GuardError } from "./errors.js";
import { readFolder } from "./folder/folder.js";
import { beginGenerate, undoGenerate, faultHook, GENERATE_MARKER, recoverFolder } from "./folder/write.js";
import { resolveFromProject, type ResolvedConfig } from "./config.js";
import type { RewritePlan } from "./rewrite.js";
import { stampToMs } from "../transforms/timestamp-names.js";

export function resolveDrizzleKit(cwd: string): string {
  // package.json is not exported: resolve the main entry, which sits beside bin.cjs.
  const pkg = resolveFromProject(cwd, "drizzle-kit", "drizzle-kit");
  const bin = join(dirname(pkg), "bin.cjs");
  if (!existsSync(bin)) throw new GuardError(`drizzle-kit at ${dirname(pkg)} has no bin.cjs`);
  return bin;
}

export interface DrizzleKitRun {
  code: number;
  /** The end of what it wrote to stderr (it is also passed on as it comes). */
  stderr: string;
}

/**
 * Runs the project's drizzle-kit. stdin and stdout stay the terminal's, which its rename prompts
 * need; stderr is passed on as it comes and its end kept, because drizzle-kit exits 0 after some
 * failures (a rename prompt without a terminal) and the message is the only sign of them.
 */
export function runDrizzleKit(cwd: string, args: string[], stdio: "inherit" | "pipe" = "inherit"): Promise<DrizzleKitRun> {
  const bin = resolveDrizzleKit(cwd);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: [stdio, stdio, "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      if (stdio === "inherit") process.stderr.write(chunk);
      stderr = (stderr + chunk.toString("utf8")).slice(-16_384);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code: signal ? 128 : (code ?? 1), stderr }));
  });
}

/** The error drizzle-kit reported on stderr (its first `Error: ...` line), if any. */
export function drizzleKitError(stderr: string): string | undefined {
  return /^\s*(?:\w*Error|error)\b:?\s*(.*)$/m.exec(stderr)?.[0].trim();
}

/** A failure drizzle-kit exited 0 after: a hint for the one users meet, the rename prompt without a terminal. */
function silentFailure(stderr: string): GuardError | undefined {
  const error = drizzleKitError(stderr);
  if (!error) return undefined;
  const prompt = /TTY/.test(error);
  return new GuardError(`drizzle-kit generate failed (it exited 0): ${error}`, {
    hint: prompt
      ? "drizzle-kit asks whether a table or column was renamed or is new, and needs a terminal for that: run drizzle-guard generate in an interactive terminal"
      : undefined,
  });
}

/**
 * Milliseconds to wait before drizzle-kit runs, so that the name it gives its migration is newer
 * than every name in the folder. With `migrations.prefix: "timestamp"` (or `"supabase"`) that name
 * is the current UTC second and its snapshot `meta/<second>_snapshot.json`; drizzle-guard's phase
 * files take the seconds after their migration's, so a generate within those seconds had
 * drizzle-kit write its snapshot over one of theirs. No wait for other prefixes, or when the newest
 * name is further ahead than a phase split puts it (a hand-made name: the wait would not end).
 */
export function waitBeforeGenerate(tags: readonly string[], prefix: string, now: number): number {
  if (prefix !== "timestamp" && prefix !== "supabase") return 0;
  let newest = -Infinity;
  for (const tag of tags) {
    const m = /^(\d{14})_/.exec(tag);
    if (m) newest = Math.max(newest, stampToMs(m[1]));
  }
  const wait = newest + 1000 - now;
  return wait > 0 && wait <= 60_000 ? wait : 0;
}

/** The value of a drizzle-kit flag among the passed-through arguments (`--out dir` or `--out=dir`). */
export function passedFlag(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) value = args[++i];
    else if (args[i].startsWith(`--${name}=`)) value = args[i].slice(name.length + 3);
  }
  return value;
}

/** Without a config file drizzle-kit takes its options as flags: the folder and prefix it uses are then theirs. */
export function withPassedFlags(config: ResolvedConfig, passthrough: readonly string[]): ResolvedConfig {
  const out = passedFlag(passthrough, "out");
  const prefix = passedFlag(passthrough, "prefix");
  if (out === undefined && prefix === undefined) return config;
  return { ...config, out: out === undefined ? config.out : resolve(config.cwd, out), prefix: prefix ?? config.prefix };
}

export interface GenerateResult {
  newTags: string[];
  plan?: RewritePlan;
  drizzleKitExit: number;
}

export async function generate(config: ResolvedConfig, passthrough: string[], opts: { stdio?: "inherit" | "pipe" } = {}): Promise<GenerateResult> {
  config = withPassedFlags(config, passthrough);
  recoverFolder(config.out);
  const before = readFolder(config.out, { allowMissing: true });
  const known = new Set(before.journal.entries.map((e) => e.tag));
  const wait = waitBeforeGenerate([...known], config.prefix, Date.now());
  if (wait) await new Promise((r) => setTimeout(r, wait));
  const args = ["generate", ...(config.configPath ? ["--config", config.configPath] : []), ...passthrough];
  // Until the rewrite is committed, an interruption is undone by the next run (see beginGenerate).
  beginGenerate(config.out);
  faultHook?.("generate:before-drizzle-kit");
  const running = runDrizzleKit(config.cwd, args, opts.stdio ?? "inherit");
  // The rewrite's modules (the parser's WebAssembly, the transforms) load while drizzle-kit runs in its own process.
  const rewriting = import("./rewrite.js");
  rewriting.catch(() => undefined); // awaited below, or not needed when drizzle-kit made nothing
  const { code, stderr } = await running;
  faultHook?.("generate:after-drizzle-kit");
  const after = existsSync(join(config.out, "meta", "_journal.json")) ? readFolder(config.out) : undefined;
  const newTags = (after?.journal.entries ?? []).map((e) => e.tag).filter((t) => !known.has(t));
  if (!after || newTags.length === 0) {
    // No migration added: drizzle-kit failed, or found no change.
    undoGenerate(config.out);
    if (code !== 0) throw new GuardError(`drizzle-kit generate failed (exit ${code})`, { exitCode: 2 });
    const failure = silentFailure(stderr);
    if (failure) throw failure;
    return { newTags, drizzleKitExit: code };
  }
  const { applyPlan, planRewrite } = await rewriting;
  const plan = planRewrite(after, {
    newTags: new Set(newTags),
    only: new Set(newTags),
    naming: config.guard.naming,
    timeouts: { lockTimeout: config.guard.lockTimeout, statementTimeout: config.guard.statementTimeout },
    backfillBatchSize: config.guard.backfillBatchSize,
  });
  // The marker goes in the same atomic change, last: committed, the new migrations are complete.
  plan.change.ops.push({ op: "delete", path: GENERATE_MARKER });
  plan.unchanged = false;
  applyPlan(plan);
  return { newTags, plan, drizzleKitExit: code };
}
