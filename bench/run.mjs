// `npm run bench` (after `tsc`): drizzle-guard against squawk, node and drizzle-kit, each pair measured side by side
// in the same run (A, B, A, B ... so that load changes hit both), reported as ratios of medians. What each line
// measures and why: bench/README.md.
//
// Environment: BENCH_FILES (default 2000), BENCH_SEED (1), BENCH_ROUNDS (7; cold start and generate use 3x / 1x that),
// BENCH_ONLY (comma list of: lint, rewrite, start, generate, rss).
import { spawnSync } from "node:child_process";
import { cpSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { corpus } from "./corpus.mjs";
import { profileLint } from "./profile.mjs";
import { startupBreakdown } from "./startup.mjs";
import { defaultThreads } from "../dist/src/lint/parallel.js";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "drizzle-guard.js");
const SQUAWK = join(ROOT, "node_modules", ".bin", "squawk");
const DRIZZLE_KIT = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",")) : undefined;
const NULL = openSync("/dev/null", "w");

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;

/** Runs a command to completion (stdout to /dev/null); returns wall time in ms. Exit codes other than `ok` fail. */
function time(cmd, { cwd, env, ok = [0], before } = {}) {
  before?.();
  const t0 = performance.now();
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", NULL, "pipe"], maxBuffer: 1 << 26 });
  const t = performance.now() - t0;
  if (r.error) throw r.error;
  if (!ok.includes(r.status)) throw new Error(`${cmd.join(" ")} exited ${r.status}\n${r.stderr}`);
  return t;
}

/**
 * Interleaved rounds of several commands (after one untimed warm-up run of each, so that every command finds
 * its files in the page cache). Returns per-command times.
 */
function rounds(commands, n) {
  for (const c of commands) time(c.cmd, c);
  const times = commands.map(() => []);
  for (let i = 0; i < n; i++) commands.forEach((c, k) => times[k].push(time(c.cmd, c)));
  return times;
}

/** "a / b": the ratio of the medians, and the median and range of the per-round ratios as a cross-check. */
function ratio(a, b) {
  const per = a.map((x, i) => x / b[i]);
  return { ratio: median(a) / median(b), perRound: median(per), min: Math.min(...per), max: Math.max(...per) };
}
const fmt = (r) => `${r.ratio.toFixed(2)}x (per-round median ${r.perRound.toFixed(2)}x, range ${r.min.toFixed(2)}-${r.max.toFixed(2)})`;

const results = [];
function report(name, target, r, pass, detail) {
  results.push({ name, target, ratio: r.ratio, pass });
  console.log(`${name}: ${fmt(r)}  target ${target}: ${pass ? "met" : "NOT met"}`);
  for (const d of detail) console.log(`    ${d}`);
}

/** Peak RSS of a drizzle-guard run (all threads: getrusage of the process, read when it exits). */
function peakRss(args, cwd, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "dg-rss-"));
  const out = join(dir, "rss");
  const hook = join(ROOT, "bench", "rss-hook.mjs");
  const r = spawnSync(process.execPath, ["--import", hook, BIN, ...args], { cwd, env: { ...process.env, ...env, DRIZZLE_GUARD_RSS_FILE: out }, stdio: ["ignore", NULL, "pipe"] });
  if (r.status !== 0 && r.status !== 1) throw new Error(`drizzle-guard ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
  const kib = Number(readFileSync(out, "utf8")); // maxRSS is in KiB
  rmSync(dir, { recursive: true, force: true });
  return kib / 1024;
}

const want = (k) => !ONLY || ONLY.has(k);
console.log("drizzle-guard benchmarks (ratios of medians of interleaved runs; absolute times only describe this run)");
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${process.platform} ${process.arch}, node ${process.version}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (other processes share the cores: compare ratios, not times)`);

const files = Number(process.env.BENCH_FILES ?? 2000);
const c = await corpus({ files, seed: Number(process.env.BENCH_SEED ?? 1), log: (l) => console.log(l) });
const sqlFiles = readdirSync(c.dir).filter((f) => f.endsWith(".sql")).sort();
console.log(`corpus: ${c.dir}\n  ${c.files} migrations, ${c.statements} statements, ${(c.bytes / 1e6).toFixed(1)} MB of SQL (drizzle-kit ${c.drizzleKit} output)`);
const empty = mkdtempSync(join(tmpdir(), "dg-bench-cwd-")); // no drizzle config here: lint and rewrite use their defaults

if (want("lint")) {
  console.log(`\n[1] lint over the corpus, ${ROUNDS} rounds`);
  const cores = String(availableParallelism());
  const threads = await defaultThreads(c.files);
  const [dg, dg1, dgN, sq] = rounds(
    [
      { cmd: [process.execPath, BIN, "lint", c.dir, "--format", "json"], cwd: empty, ok: [0, 1] },
      { cmd: [process.execPath, BIN, "lint", c.dir, "--format", "json"], cwd: empty, ok: [0, 1], env: { DRIZZLE_GUARD_THREADS: "1" } },
      { cmd: [process.execPath, BIN, "lint", c.dir, "--format", "json"], cwd: empty, ok: [0, 1], env: { DRIZZLE_GUARD_THREADS: cores } },
      { cmd: [SQUAWK, "--reporter", "json", ...sqlFiles], cwd: c.dir, ok: [0, 1, 2] },
    ],
    ROUNDS,
  );
  const r = ratio(sq, dg);
  report("lint throughput, squawk / drizzle-guard lint (higher is faster)", ">= 1.0", r, r.ratio >= 1, [
    `drizzle-guard lint DIR --format json: median ${ms(median(dg))} (${(c.statements / (median(dg) / 1000)).toFixed(0)} statements/s)`,
    `squawk --reporter json FILES:         median ${ms(median(sq))}`,
    `default threads (one per idle core): ${threads} when the rounds started`,
    `one thread (DRIZZLE_GUARD_THREADS=1):     squawk / drizzle-guard ${fmt(ratio(sq, dg1))}`,
    `${cores} threads (DRIZZLE_GUARD_THREADS=${cores}):     squawk / drizzle-guard ${fmt(ratio(sq, dgN))}`,
    "where the time goes (bench/profile.mjs: one run on one thread under --cpu-prof):",
    ...(({ total, parts }) => [
      ...parts.filter((p) => p.share >= 0.01).map((p) => `  ${(p.share * 100).toFixed(0).padStart(3)}%  ${p.part}`),
      `  (${ms(total)} profiled)`,
    ])(profileLint(c.dir)),
  ]);
}

if (want("rewrite")) {
  console.log(`\n[1b] rewrite --dry-run over the corpus (every file rewritten, diff printed), ${ROUNDS} rounds`);
  const [rw, sq] = rounds(
    [
      { cmd: [process.execPath, BIN, "rewrite", "--dry-run", "--out", c.dir], cwd: empty },
      { cmd: [SQUAWK, "--reporter", "json", ...sqlFiles], cwd: c.dir, ok: [0, 1, 2] },
    ],
    ROUNDS,
  );
  const r = ratio(sq, rw);
  report("rewrite throughput, squawk / drizzle-guard rewrite --dry-run (higher is faster)", "none (informational)", r, true, [
    `drizzle-guard rewrite --dry-run: median ${ms(median(rw))}; squawk: median ${ms(median(sq))}`,
  ]);
}

if (want("start")) {
  const one = join(empty, "one.sql");
  // The file of median size: a typical migration.
  const bySize = sqlFiles.map((f) => ({ f, size: statSync(join(c.dir, f)).size })).sort((a, b) => a.size - b.size || (a.f < b.f ? -1 : 1));
  const pick = bySize[Math.floor(bySize.length / 2)].f;
  cpSync(join(c.dir, pick), one);
  const { parseSql } = await import("../dist/src/sql/parse.js");
  const count = parseSql(readFileSync(one, "utf8")).statements.length;
  const n = ROUNDS * 3;
  console.log(`\n[2] cold start: lint one file (${pick}, ${count} statements) vs node -e 0, ${n} rounds`);
  const [dg, node] = rounds(
    [
      { cmd: [process.execPath, BIN, "lint", one], cwd: empty, ok: [0, 1] },
      { cmd: [process.execPath, "-e", "0"], cwd: empty },
    ],
    n,
  );
  const r = ratio(dg, node);
  report("cold start, drizzle-guard lint one.sql / node -e 0 (lower is faster)", "<= 2.0", r, r.ratio <= 2, [
    `drizzle-guard lint one.sql: median ${ms(median(dg))}; node -e 0: median ${ms(median(node))}`,
    "where the time goes (bench/startup.mjs, medians of separate runs):",
    ...startupBreakdown(one, n).map(({ step, ms }) => `  ${ms.toFixed(1).padStart(6)} ms  ${step}`),
  ]);
}

if (want("generate")) {
  const n = ROUNDS;
  console.log(`\n[3] generate: drizzle-guard generate vs drizzle-kit generate, examples/shop schema v1 -> v2, ${n} rounds`);
  const project = mkdtempSync(join(tmpdir(), "dg-bench-project-"));
  cpSync(join(ROOT, "examples", "shop"), project, { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"), "dir");
  cpSync(join(project, "schemas", "v1.ts"), join(project, "schema.ts"));
  time([process.execPath, DRIZZLE_KIT, "generate", "--name", "init"], { cwd: project });
  const baseline = mkdtempSync(join(tmpdir(), "dg-bench-baseline-"));
  cpSync(join(project, "drizzle"), baseline, { recursive: true });
  cpSync(join(project, "schemas", "v2.ts"), join(project, "schema.ts"));
  const reset = () => {
    rmSync(join(project, "drizzle"), { recursive: true, force: true });
    cpSync(baseline, join(project, "drizzle"), { recursive: true });
  };
  const [dg, kit] = rounds(
    [
      { cmd: [process.execPath, BIN, "generate", "--name", "change"], cwd: project, before: reset },
      { cmd: [process.execPath, DRIZZLE_KIT, "generate", "--name", "change"], cwd: project, before: reset },
    ],
    n,
  );
  const r = ratio(dg, kit);
  report("generate, drizzle-guard generate / drizzle-kit generate (lower is faster)", "<= 1.15", r, r.ratio <= 1.15, [
    `drizzle-guard generate: median ${ms(median(dg))}; drizzle-kit generate: median ${ms(median(kit))}`,
  ]);
  rmSync(project, { recursive: true, force: true });
  rmSync(baseline, { recursive: true, force: true });
}

if (want("rss")) {
  console.log("\n[4] peak RSS (all threads) over the corpus");
  const runs = [0, 1, 2].map(() => peakRss(["lint", c.dir, "--format", "json"], empty));
  const lint = median(runs);
  const single = peakRss(["lint", c.dir, "--format", "json"], empty, { DRIZZLE_GUARD_THREADS: "1" });
  const rewrite = peakRss(["rewrite", "--dry-run", "--out", c.dir], empty);
  results.push({ name: "peak RSS, lint", target: "< 300 MB", ratio: lint, pass: lint < 300 });
  console.log(`peak RSS, drizzle-guard lint DIR: median ${lint.toFixed(0)} MB, max ${Math.max(...runs).toFixed(0)} MB of 3 runs  target < 300 MB: ${lint < 300 ? "met" : "NOT met"}`);
  console.log(`    single thread (DRIZZLE_GUARD_THREADS=1): ${single.toFixed(0)} MB`);
  console.log(`    drizzle-guard rewrite --dry-run: ${rewrite.toFixed(0)} MB (informational: it keeps every rewritten file and diff in memory until the one atomic write)`);
}

rmSync(empty, { recursive: true, force: true });
closeSync(NULL);
console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log("summary:");
for (const r of results) console.log(`  ${r.name}: ${r.name.startsWith("peak") ? `${r.ratio.toFixed(0)} MB` : `${r.ratio.toFixed(2)}x`} (target ${r.target}: ${r.pass ? "met" : "NOT met"})`);
writeFileSync(join(tmpdir(), "drizzle-guard-bench-results.json"), JSON.stringify({ when: new Date().toISOString(), results }, null, 2));
