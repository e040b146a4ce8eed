#!/usr/bin/env node
// Runs the vitest suite, then prints the reliability suite's counts per category
// ("reliability: <category> trials=N failures=N", from the JSON lines its tests append to
// DRIZZLE_GUARD_RELIABILITY_LOG) and the plain closing line CI reads: "tests: N passed, N failed, N skipped".
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const tmp = mkdtempSync(join(tmpdir(), "dg-vitest-"));
const report = join(tmp, "report.json");
const reliabilityLog = join(tmp, "reliability.jsonl");
const vitest = join(import.meta.dirname, "..", "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, DRIZZLE_GUARD_RELIABILITY_LOG: reliabilityLog },
});
if (existsSync(reliabilityLog)) {
  const totals = new Map();
  const seeds = new Set();
  for (const line of readFileSync(reliabilityLog, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const { category, trials, failures, seed } = JSON.parse(line);
    if (seed !== undefined) seeds.add(seed);
    const t = totals.get(category) ?? { trials: 0, failures: 0 };
    totals.set(category, { trials: t.trials + trials, failures: t.failures + failures });
  }
  const width = Math.max(...[...totals.keys()].map((k) => k.length));
  for (const [category, t] of [...totals].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    console.log(`reliability: ${category.padEnd(width)}  trials=${t.trials} failures=${t.failures}`);
  }
  if (seeds.size) console.log(`reliability: random trials seeded with DRIZZLE_GUARD_SEED=${[...seeds].join(", ")}`);
}
let line = "tests: 0 passed, 1 failed (no report written)";
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  line = `tests: ${j.numPassedTests} passed, ${j.numFailedTests + (j.numFailedTestSuites && !j.numFailedTests ? j.numFailedTestSuites : 0)} failed, ${skipped} skipped`;
} catch {}
console.log(line);
process.exit(r.status ?? 1);
