/**
 * `drizzle-guard generate`: runs the project's own `drizzle-kit generate` (stdio inherited, so its
 * rename prompts work in a terminal), finds the journal entries it added and rewrites only those.
 * New entries are found by comparing the journal before and after: drizzle-kit exits 0 on some
 * failures, so its exit code alone proves nothing.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { GuardError } from "./errors.js";
import { readFolder } from "./folder/folder.js";
import { beginGenerate, undoGenerate, faultHook, GENERATE_MARKER, recoverFolder } from "./folder/write.js";
import type { ResolvedConfig } from "./config.js";
import type { RewritePlan } from "./rewrite.js";

export function resolveDrizzleKit(cwd: string): string {
  const require = createRequire(join(cwd, "noop.js"));
  let pkg: string;
  try {
    // package.json is not exported: resolve the main entry, which sits beside bin.cjs.
    pkg = require.resolve("drizzle-kit");
  } catch {
    throw new GuardError("drizzle-kit is not installed in this project", { hint: "npm install -D drizzle-kit" });
  }
  const bin = join(dirname(pkg), "bin.cjs");
  if (!existsSync(bin)) throw new GuardError(`drizzle-kit at ${dirname(pkg)} has no bin.cjs`);
  return bin;
}

export function runDrizzleKit(cwd: string, args: string[], stdio: "inherit" | "pipe" = "inherit"): Promise<number> {
  const bin = resolveDrizzleKit(cwd);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolvePromise(signal ? 128 : (code ?? 1)));
  });
}

export interface GenerateResult {
  newTags: string[];
  plan?: RewritePlan;
  drizzleKitExit: number;
}

export async function generate(config: ResolvedConfig, passthrough: string[], opts: { stdio?: "inherit" | "pipe" } = {}): Promise<GenerateResult> {
  recoverFolder(config.out);
  const before = readFolder(config.out, { allowMissing: true });
  const known = new Set(before.journal.entries.map((e) => e.tag));
  const args = ["generate", ...(config.configPath ? ["--config", config.configPath] : []), ...passthrough];
  // Until the rewrite is committed, an interruption is undone by the next run (see beginGenerate).
  beginGenerate(config.out);
  faultHook?.("generate:before-drizzle-kit");
  const running = runDrizzleKit(config.cwd, args, opts.stdio ?? "inherit");
  // The rewrite's modules (the parser's WebAssembly, the transforms) load while drizzle-kit runs in its own process.
  const rewriting = import("./rewrite.js");
  rewriting.catch(() => undefined); // awaited below, or not needed when drizzle-kit made nothing
  const code = await running;
  faultHook?.("generate:after-drizzle-kit");
  if (!existsSync(join(config.out, "meta", "_journal.json"))) {
    undoGenerate(config.out);
    if (code !== 0) throw new GuardError(`drizzle-kit generate failed (exit ${code})`, { exitCode: code === 0 ? 2 : code });
    return { newTags: [], drizzleKitExit: code };
  }
  const after = readFolder(config.out);
  const newTags = after.journal.entries.map((e) => e.tag).filter((t) => !known.has(t));
  if (newTags.length === 0) {
    undoGenerate(config.out);
    if (code !== 0) throw new GuardError(`drizzle-kit generate failed (exit ${code})`, { exitCode: 2 });
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
