// Where the cold start of `drizzle-guard lint one.sql` goes: a child process loads what the CLI loads, step by step
// and in the CLI's order, stamping the time after each step, then runs the CLI's main() (everything already loaded,
// so that step is the lint itself and its output). The parent adds the process start (spawn to the child's time
// origin) and the teardown (the child's `exit` event to the end of the process). Medians over the rounds.
//
//   node bench/startup.mjs FILE [rounds]      (after `tsc`)
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");

const CHILD = `
const stamps = [["node start, to the first line of user code", performance.now()]];
const stamp = (what) => stamps.push([what, performance.now()]);
const { main } = await import(${JSON.stringify(join(ROOT, "dist", "src", "cli.js"))});
stamp("cli.js: cac, picocolors, errors");
const { setFlagsFromString } = await import("node:v8");
setFlagsFromString("--liftoff-only");
const pg = await import("libpg-query");
stamp("libpg-query's JavaScript (the Emscripten glue; compiling the WebAssembly starts)");
await pg.loadModule();
stamp("the WebAssembly compiled and instantiated");
await import(${JSON.stringify(join(ROOT, "dist", "src", "lint", "run.js"))});
stamp("the lint modules (run, lint, rules, forbidden, format, parallel, parse)");
const { parseSql } = await import(${JSON.stringify(join(ROOT, "dist", "src", "sql", "parse.js"))});
parseSql("SELECT 1;");
stamp("the first parse (the parser's own one-time set-up)");
await main([process.argv[0], "drizzle-guard", "lint", process.env.BENCH_FILE]);
stamp("main(): lint the file, print the report");
process.on("exit", () => {
  stamp("exit event");
  process.stderr.write("STAMPS " + JSON.stringify({ origin: performance.timeOrigin, stamps }) + "\\n");
});
`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Median duration of each step over `rounds` runs: [{ step, ms }], ending with the teardown, the total, and
 * `node -e 0` run in the same rounds for comparison.
 */
export function startupBreakdown(file, rounds = 15) {
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ["-e", "0"], { stdio: "ignore" });
    const bare = performance.now() - t0;
    const start = performance.timeOrigin + performance.now();
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD], {
      cwd: ROOT,
      env: { ...process.env, BENCH_FILE: file, NO_COLOR: "1" },
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
    });
    const end = performance.timeOrigin + performance.now();
    const m = /STAMPS (.*)/.exec(r.stderr);
    if (!m) throw new Error(`startup child failed (${r.status}):\n${r.stderr}`);
    const { origin, stamps } = JSON.parse(m[1]);
    const steps = [["process start (spawn to the child's time origin)", origin - start]];
    let prev = 0;
    for (const [what, at] of stamps) {
      if (what !== "exit event") steps.push([what, at - prev]);
      prev = at;
    }
    steps.push(["teardown (exit event to the end of the process)", end - (origin + prev)]);
    steps.push(["total", end - start]);
    steps.push(["for comparison, node -e 0 (same rounds)", bare]);
    runs.push(steps);
  }
  return runs[0].map(([step], k) => ({ step, ms: median(runs.map((s) => s[k][1])) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: node bench/startup.mjs FILE [rounds]");
  for (const { step, ms } of startupBreakdown(file, Number(process.argv[3] ?? 15))) console.log(`${ms.toFixed(1).padStart(7)} ms  ${step}`);
}
