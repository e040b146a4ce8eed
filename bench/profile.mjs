// Where `drizzle-guard lint DIR` spends its time: one run on one thread under `node --cpu-prof`, every sample
// attributed to a part of the work (the innermost frame that names one). The profiler slows the run down a little;
// the shares are what to read.
//
//   node bench/profile.mjs DIR      (after `tsc`)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");

/** Parts of the work, tried from the innermost frame outwards; the first that matches a frame takes the sample. */
const PARTS = [
  ["libpg-query parse (WebAssembly, then JSON.parse of its output)", (f) => f.functionName === "parseSync" && f.url.includes("libpg-query")],
  ["libpg-query scanner (tokens)", (f) => f.functionName === "scanSync" && f.url.includes("libpg-query")],
  ["libpg-query PL/pgSQL parse (DO blocks)", (f) => f.functionName === "parsePlPgSQLSync"],
  ["statement spans, comments, positions (src/sql)", (f) => f.url.includes("/dist/src/sql/")],
  ["lock/risk classification (src/lint/rules.ts)", (f) => f.url.includes("/dist/src/lint/rules.js")],
  ["forbidden operations (src/lint/forbidden.ts)", (f) => f.url.includes("/dist/src/lint/forbidden.js")],
  ["report output: format and write (src/lint/format.ts, run.ts)", (f) => f.url.includes("/dist/src/lint/format.js") || ["emit", "print"].includes(f.functionName)],
  ["reading files, listing the folder", (f) => ["readFileSync", "collectSqlFiles", "readdirSync", "statSync"].includes(f.functionName)],
  ["per-file report assembly (src/lint/lint.ts)", (f) => f.url.includes("/dist/src/lint/lint.js")],
];

const LINT = new Set(["runLint", "lintFilesParallel", "lintFile", "lintText", "emit", "collectSqlFiles"]);

export function profileLint(dir) {
  const out = mkdtempSync(join(tmpdir(), "dg-prof-"));
  const r = spawnSync(process.execPath, ["--cpu-prof", "--cpu-prof-dir", out, join(ROOT, "bin", "drizzle-guard.js"), "lint", dir, "--format", "json"], {
    env: { ...process.env, DRIZZLE_GUARD_THREADS: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`lint exited ${r.status}: ${r.stderr}`);
  const file = readdirSync(out).find((f) => f.endsWith(".cpuprofile"));
  const profile = JSON.parse(readFileSync(join(out, file), "utf8"));
  rmSync(out, { recursive: true, force: true });

  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map();
  const classify = (id) => {
    const leaf = nodes.get(id).callFrame.functionName;
    if (leaf === "(garbage collector)") return "garbage collection";
    if (leaf === "(idle)") return "idle (waiting for I/O or for WebAssembly compiling on background threads)";
    if (leaf === "(program)") return "V8 and Node.js internals";
    // The lint's own frames (after an `await` a stack starts at the resumed function, not at runLint).
    let underLint = false;
    for (let x = id; x !== undefined; x = parent.get(x)) if (LINT.has(nodes.get(x).callFrame.functionName)) underLint = true;
    if (!underLint) return "start-up: loading modules, compiling the WebAssembly";
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const part = PARTS.find(([, test]) => test(nodes.get(x).callFrame));
      if (part) return part[0];
    }
    return "other";
  };
  const ms = new Map();
  profile.samples.forEach((id, i) => {
    if (!partOf.has(id)) partOf.set(id, classify(id));
    const part = partOf.get(id);
    ms.set(part, (ms.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = (profile.endTime - profile.startTime) / 1000;
  return { total, parts: [...ms].sort((a, b) => b[1] - a[1]).map(([part, t]) => ({ part, ms: t, share: t / total })) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { total, parts } = profileLint(process.argv[2]);
  for (const p of parts) console.log(`${p.ms.toFixed(0).padStart(6)} ms ${(p.share * 100).toFixed(0).padStart(3)}%  ${p.part}`);
  console.log(`${total.toFixed(0).padStart(6)} ms       profiled run`);
}
