import { collectSqlFiles, lintFile } from "../dist/src/lint/lint.js";
import { serialize, deserialize } from "node:v8";
const files = collectSqlFiles([process.argv[2]]);
const reports = files.map((f) => lintFile(f));
for (let i = 0; i < 3; i++) {
  let t0 = performance.now(); const b = serialize(reports); const t1 = performance.now(); deserialize(b); const t2 = performance.now();
  const s = JSON.stringify(reports); const t3 = performance.now(); JSON.parse(s); const t4 = performance.now();
  console.log(`v8 ser ${(t1-t0).toFixed(0)} de ${(t2-t1).toFixed(0)}  json str ${(t3-t2).toFixed(0)} parse ${(t4-t3).toFixed(0)}  size ${b.length} ${s.length}`);
}
