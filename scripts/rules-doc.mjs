#!/usr/bin/env node
// Writes docs/rules.md from the rule registries (src/lint/rules.ts, src/lint/forbidden.ts) and
// their examples. `--check` exits 1 when the file is out of date (the tests also check it).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderRulesDoc } from "../dist/src/lint/doc.js";

const path = join(import.meta.dirname, "..", "docs", "rules.md");
const text = renderRulesDoc();
if (process.argv.includes("--check")) {
  if (readFileSync(path, "utf8") !== text) {
    console.error("docs/rules.md is out of date: npm run docs:rules");
    process.exit(1);
  }
} else writeFileSync(path, text);
