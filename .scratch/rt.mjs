import { readFileSync, readdirSync } from "node:fs";
import { parseSql } from "../dist/src/sql/parse.js";
import { planRetarget, retarget } from "../dist/src/runner/retarget.js";
const dir = process.argv[2];
for (const f of readdirSync(dir).filter(f => f.endsWith(".sql")).sort()) {
  const p = parseSql(readFileSync(`${dir}/${f}`, "utf8"), f);
  try {
    const sites = planRetarget(p);
    console.log("=== " + f, sites.length);
    console.log(retarget(p, sites, process.argv[3] ?? 'x"; drop table y; --$$'));
  } catch (e) { console.log("=== " + f, "ERR", e.format ? e.format() : e); }
}
