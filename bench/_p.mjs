import { collectSqlFiles } from "../dist/src/lint/lint.js";
import { lintFilesParallel } from "../dist/src/lint/parallel.js";
const files = collectSqlFiles([process.argv[2]]);
const res = { 1: [], 2: [] };
for (let i = 0; i < 6; i++) for (const t of [1, 2]) {
  const t0 = performance.now();
  await lintFilesParallel(files, [], process.cwd(), {}, t);
  res[t].push(Math.round(performance.now() - t0));
}
console.log(res);
