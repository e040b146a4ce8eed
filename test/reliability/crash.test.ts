/**
 * Crash trials: `rewrite` and `generate` SIGKILLed at every fault point between file operations and
 * at random moments (a seeded generator; the seed is printed). After each kill the folder must be
 * readable by drizzle-kit (`drizzle-kit check`) and by drizzle-guard, nothing outside `out` may
 * change, and a rerun must give exactly what an uninterrupted run gives (for generate: up to the
 * names, `when` values and ids that drizzle-kit draws anew on each run).
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFolder, snapshotPrefix } from "../../src/folder/folder.js";
import { GENERATE_MARKER, recoverFolder, STAGING } from "../../src/folder/write.js";
import { rewriteFolder } from "../../src/rewrite.js";
import { privateBuild, snapshot } from "../helpers/folder.js";
import { drizzleKit, makeProject, ROOT, run, useSchema } from "../helpers/project.js";
import { rng, SEED, trials } from "./trials.js";

const CORPUS = join(ROOT, "fixtures", "corpus", "shop");
/** Sleep at every fault point of a write in the random trials, so kills land inside writes too. */
const DELAY_MS = 8;
const RANDOM_TRIALS = { rewrite: 50, generate: 50 };

const roots: string[] = [];
let build: ReturnType<typeof privateBuild>;
beforeAll(() => {
  build = privateBuild();
  roots.push(build.root);
  console.log(`crash trials: DRIZZLE_GUARD_SEED=${SEED}`);
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), "dg-crash-"));
  roots.push(r);
  return r;
}

/** A project whose `drizzle/` is a fresh copy of the raw drizzle-kit corpus. */
function corpusProject(): { dir: string; out: string } {
  const dir = tempRoot();
  cpSync(CORPUS, join(dir, "drizzle"), { recursive: true });
  writeFileSync(join(dir, "drizzle.config.json"), JSON.stringify({ dialect: "postgresql", out: "./drizzle" }));
  return { dir, out: join(dir, "drizzle") };
}

interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the CLI in its own process group; with `killAfterMs`, SIGKILLs the whole group (drizzle-kit's
 * process too) at that moment, as a crash or a cancelled CI job does.
 */
function cli(cwd: string, args: string[], env: Record<string, string> = {}, killAfterMs?: number): Promise<Exit> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  for (const k of ["DRIZZLE_GUARD_FAULT_AT", "DRIZZLE_GUARD_FAULT_DELAY_MS", "DRIZZLE_GUARD_FAULT_TRACE"]) if (!(k in env)) delete childEnv[k];
  const started = performance.now();
  const child = spawn(process.execPath, [build.bin, ...args], { cwd, env: childEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => process.kill(-child.pid!, "SIGKILL"), killAfterMs);
  return new Promise((resolve) =>
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      // Whatever the group still holds (drizzle-kit outliving its parent) goes too.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      resolve({ status, signal, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

/** What drizzle-kit reads (journal, snapshots) passes its own `check`. */
function assertDrizzleKitReads(dir: string, config: string): void {
  const r = drizzleKit(dir, ["check", "--config", config]);
  expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0, out: expect.stringContaining("Everything's fine") });
}

/** Every entry of `tree` but the ones under `prefix/`. */
function outside(tree: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([k]) => k !== prefix && !k.startsWith(`${prefix}/`)));
}

/** Where a kill left the write: before it, staged, committed (plan.json), or done. */
function stateOf(out: string): "clean" | "staged" | "committed" {
  if (!existsSync(join(out, STAGING))) return "clean";
  return existsSync(join(out, STAGING, "plan.json")) ? "committed" : "staged";
}

describe("rewrite killed at each fault point of its write", () => {
  // The fault points, traced by an uninterrupted run.
  let steps: string[] = [];
  let reference: Record<string, string>;

  beforeAll(async () => {
    const { dir, out } = corpusProject();
    const trace = join(dir, "trace.txt");
    const r = await cli(dir, ["rewrite"], { DRIZZLE_GUARD_FAULT_TRACE: trace });
    expect(r.status).toBe(0);
    steps = readFileSync(trace, "utf8").trim().split("\n");
    reference = snapshot(out);
  });

  it("the write has the fault points these trials expect", () => {
    // 5 SQL files, 5 down files, the journal and the sum file staged; 5 snapshot renames and 5 deletes added.
    expect(steps.filter((s) => s.startsWith("stage:"))).toHaveLength(12);
    expect(steps.filter((s) => s.startsWith("op:"))).toHaveLength(22);
    expect(steps).toHaveLength(37);
  });

  it("killed at every fault point: readable, nothing else changed, the rerun finishes the job exactly", async () => {
    await trials("crash: rewrite at fault points", steps.length, 2, async (i) => {
      const step = steps[i];
      const { dir, out } = corpusProject();
      const original = snapshot(dir);
      const r = await cli(dir, ["rewrite"], { DRIZZLE_GUARD_FAULT_AT: step });
      expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: null, signal: "SIGKILL", stderr: "" });
      // Every fault point lies between creating the staging folder and removing it.
      expect(stateOf(out)).toBe(step.startsWith("stage:") || step === "before-commit" ? "staged" : "committed");
      if (stateOf(out) === "staged") expect(outside(snapshot(dir), `drizzle/${STAGING}`)).toEqual(original);
      assertDrizzleKitReads(dir, "drizzle.config.json");
      for (const e of readFolder(out).journal.entries) expect(existsSync(join(out, `${e.tag}.sql`))).toBe(true);
      const rerun = rewriteFolder(out);
      expect(snapshot(out)).toEqual(reference);
      expect(outside(snapshot(dir), "drizzle")).toEqual(outside(original, "drizzle"));
      expect(rerun.entries.map((e) => e.tags)).toEqual(readFolder(out).journal.entries.map((e) => [e.tag]));
      expect(rewriteFolder(out).unchanged).toBe(true);
    }, (i) => `killed at ${steps[i]}`);
  });
});

describe("rewrite killed at random moments", () => {
  let reference: Record<string, string>;
  let controlMs = 0;

  beforeAll(async () => {
    // Two control runs at once, as the trials run: the random moments spread over their duration.
    const [a, b] = [corpusProject(), corpusProject()];
    const runs = await Promise.all([a, b].map((p) => cli(p.dir, ["rewrite"], { DRIZZLE_GUARD_FAULT_DELAY_MS: String(DELAY_MS) })));
    for (const r of runs) expect(r.status).toBe(0);
    controlMs = Math.max(...runs.map((r) => r.ms));
    reference = snapshot(a.out);
    expect(snapshot(b.out)).toEqual(reference);
  });

  it(`${RANDOM_TRIALS.rewrite} kills at random moments of a run: readable, the rerun gives the uninterrupted result`, async () => {
    const random = rng(SEED);
    const at = Array.from({ length: RANDOM_TRIALS.rewrite }, () => Math.round(random() * controlMs * 1.2));
    const states: Record<string, number> = {};
    await trials("crash: rewrite at random moments", at.length, 2, async (i) => {
      const { dir, out } = corpusProject();
      const original = snapshot(dir);
      const r = await cli(dir, ["rewrite"], { DRIZZLE_GUARD_FAULT_DELAY_MS: String(DELAY_MS) }, at[i]);
      const state = r.signal === null ? "finished" : stateOf(out);
      states[state] = (states[state] ?? 0) + 1;
      if (r.signal === null) expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      else expect(r.signal).toBe("SIGKILL");
      const now = snapshot(dir);
      if (state === "finished") expect(snapshot(out)).toEqual(reference);
      // Killed before the commit: nothing outside the staging folder changed. Without a staging
      // folder, the write has not begun or is complete (killed before the process exited).
      else if (state === "staged") expect(outside(now, `drizzle/${STAGING}`)).toEqual(original);
      else if (state === "clean" && snapshot(out)["meta/_journal.json"] !== original["drizzle/meta/_journal.json"]) expect(snapshot(out)).toEqual(reference);
      else if (state === "clean") expect(now).toEqual(original);
      if (state === "committed" || state === "staged") assertDrizzleKitReads(dir, "drizzle.config.json");
      readFolder(out);
      rewriteFolder(out);
      expect(snapshot(out)).toEqual(reference);
      expect(outside(snapshot(dir), "drizzle")).toEqual(outside(original, "drizzle"));
    }, (i) => `killed after ${at[i]} ms`);
    console.log(`rewrite killed at random moments (control run ${Math.round(controlMs)} ms): ${JSON.stringify(states)}`);
    // The moments spread over the run: some kills land inside the write.
    expect((states.staged ?? 0) + (states.committed ?? 0)).toBeGreaterThan(0);
  });
});

/**
 * A generated project's migrations folder with drizzle-kit's per-run draws replaced by their order:
 * tags, snapshot prefixes, `when` values and snapshot ids.
 */
function normalized(out: string): Record<string, string> {
  const tree = snapshot(out);
  const journal = JSON.parse(tree["meta/_journal.json"]);
  const subs: Array<[string, string]> = [];
  journal.entries.forEach((e: any, i: number) => {
    subs.push([e.tag, `<tag ${i}>`], [String(e.when), `<when ${i}>`]);
    if (snapshotPrefix(e.tag)) subs.push([snapshotPrefix(e.tag), `<prefix ${i}>`]);
  });
  subs.sort((a, b) => b[0].length - a[0].length);
  const ids: string[] = [];
  const norm = (s: string) => {
    for (const [from, to] of subs) s = s.split(from).join(to);
    return s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
      if (!ids.includes(id)) ids.push(id);
      return `<id ${ids.indexOf(id)}>`;
    });
  };
  const out2: Record<string, string> = {};
  for (const k of Object.keys(tree).sort()) out2[norm(k)] = tree[k];
  // Ids numbered in the order of the journal's snapshots, then the rest.
  for (const k of Object.keys(out2).sort()) out2[k] = norm(out2[k]);
  return out2;
}

describe("generate killed", () => {
  /** The example project with v1 generated and schema v2 in place: every trial generates v2. */
  let prepared: string;
  let reference: Record<string, string>;
  let steps: string[] = [];
  let controlMs = 0;

  beforeAll(async () => {
    prepared = makeProject();
    roots.push(prepared);
    useSchema(prepared, "v1");
    expect(run(prepared, ["generate", "--name", "v1"]).status).toBe(0);
    useSchema(prepared, "v2");
    // Two control runs at once, as the trials run: the random moments spread over their duration.
    const dir = copyPrepared();
    const trace = join(tempRoot(), "trace.txt");
    const [r, r2] = await Promise.all([
      cli(dir, ["generate", "--name", "v2"], { DRIZZLE_GUARD_FAULT_TRACE: trace, DRIZZLE_GUARD_FAULT_DELAY_MS: String(DELAY_MS) }),
      cli(copyPrepared(), ["generate", "--name", "v2"], { DRIZZLE_GUARD_FAULT_DELAY_MS: String(DELAY_MS) }),
    ]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect({ status: r2.status, stderr: r2.stderr }).toEqual({ status: 0, stderr: "" });
    controlMs = Math.max(r.ms, r2.ms);
    steps = readFileSync(trace, "utf8").trim().split("\n");
    reference = normalized(join(dir, "drizzle"));
  });

  function copyPrepared(): string {
    const dir = tempRoot();
    cpSync(prepared, dir, { recursive: true, verbatimSymlinks: true });
    return dir;
  }

  /**
   * After a kill: drizzle-kit reads the folder (killed before the marker was written: it is the
   * original, byte for byte); recovery leaves it readable; the rerun gives the reference.
   */
  async function finish(dir: string, original: Record<string, string>): Promise<void> {
    const out = join(dir, "drizzle");
    if (existsSync(join(out, GENERATE_MARKER)) || existsSync(join(out, STAGING))) assertDrizzleKitReads(dir, "drizzle.config.ts");
    else if (snapshot(out)["meta/_journal.json"] === original["drizzle/meta/_journal.json"]) expect(snapshot(dir)).toEqual(original);
    else expect(normalized(out)).toEqual(reference);
    recoverFolder(out);
    expect(existsSync(join(out, GENERATE_MARKER))).toBe(false);
    readFolder(out);
    const r = await cli(dir, ["generate", "--name", "v2"]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(normalized(out)).toEqual(reference);
    expect(outside(snapshot(dir), "drizzle")).toEqual(outside(original, "drizzle"));
  }

  it("an uninterrupted generate has the fault points these trials expect", () => {
    expect(reference["meta/_journal.json"].match(/"tag"/g)).toHaveLength(4); // v1, and v2 split in three
    expect(steps.slice(0, 2)).toEqual(["generate:before-drizzle-kit", "generate:after-drizzle-kit"]);
    expect(steps.filter((s) => s.startsWith("stage:")).length).toBeGreaterThanOrEqual(8);
    expect(steps.filter((s) => s.startsWith("op:")).length).toBeGreaterThanOrEqual(10);
    expect(steps.slice(-1)).toEqual(["cleanup"]);
  });

  it("killed at every fault point (and with drizzle-kit's own writes cut short): the rerun gives the uninterrupted result", async () => {
    // drizzle-kit writes the snapshot, then the journal, then the SQL file, with nothing atomic: a
    // kill between them is made by cutting its finished output back (after generate:after-drizzle-kit).
    const cuts: Record<string, (out: string, before: Record<string, string>) => void> = {
      "drizzle-kit wrote the snapshot only": (out, before) => {
        writeFileSync(join(out, "meta/_journal.json"), before["drizzle/meta/_journal.json"]);
        for (const f of newFiles(out, before)) if (f.endsWith(".sql")) rmSync(join(out, f));
      },
      "drizzle-kit wrote the snapshot and the journal": (out, before) => {
        for (const f of newFiles(out, before)) if (f.endsWith(".sql")) rmSync(join(out, f));
      },
      "drizzle-kit's SQL file is empty": (out, before) => {
        for (const f of newFiles(out, before)) if (f.endsWith(".sql")) writeFileSync(join(out, f), "");
      },
    };
    const cases = [...steps.map((s) => ({ step: s, cut: undefined as string | undefined })), ...Object.keys(cuts).map((c) => ({ step: "generate:after-drizzle-kit", cut: c }))];
    await trials("crash: generate at fault points", cases.length, 2, async (i) => {
      const { step, cut } = cases[i];
      const dir = copyPrepared();
      const original = snapshot(dir);
      const r = await cli(dir, ["generate", "--name", "v2"], { DRIZZLE_GUARD_FAULT_AT: step });
      expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: null, signal: "SIGKILL", stderr: "" });
      // The marker goes with the commit's last operation: only a kill at the cleanup after it finds it gone.
      expect(existsSync(join(dir, "drizzle", GENERATE_MARKER))).toBe(step !== "cleanup");
      if (cut) cuts[cut](join(dir, "drizzle"), original);
      await finish(dir, original);
    }, (i) => `killed at ${cases[i].step}${cases[i].cut ? ` (${cases[i].cut})` : ""}`);
  });

  it(`${RANDOM_TRIALS.generate} kills at random moments of a run: the rerun gives the uninterrupted result`, async () => {
    const random = rng(SEED + 1);
    const at = Array.from({ length: RANDOM_TRIALS.generate }, () => Math.round(random() * controlMs * 1.2));
    const states: Record<string, number> = {};
    await trials("crash: generate at random moments", at.length, 2, async (i) => {
      const dir = copyPrepared();
      const original = snapshot(dir);
      const r = await cli(dir, ["generate", "--name", "v2"], { DRIZZLE_GUARD_FAULT_DELAY_MS: String(DELAY_MS) }, at[i]);
      const out = join(dir, "drizzle");
      const state = r.signal === null ? "finished" : existsSync(join(out, GENERATE_MARKER)) ? `marker, ${stateOf(out)}` : stateOf(out);
      states[state] = (states[state] ?? 0) + 1;
      if (r.signal === null) expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      else expect(r.signal).toBe("SIGKILL");
      await finish(dir, original);
    }, (i) => `killed after ${at[i]} ms`);
    console.log(`generate killed at random moments (control run ${Math.round(controlMs)} ms): ${JSON.stringify(states)}`);
    // The moments spread over the run: some kills land inside drizzle-kit's run or the rewrite's write.
    expect(Object.keys(states).filter((s) => s.startsWith("marker")).length).toBeGreaterThan(0);
  });
});

/** Files under `out` that the project copy `before` (keys relative to the project) did not have. */
function newFiles(out: string, before: Record<string, string>): string[] {
  return Object.entries(snapshot(out))
    .filter(([k, v]) => v !== "<dir>" && !(`drizzle/${k}` in before))
    .map(([k]) => k);
}
