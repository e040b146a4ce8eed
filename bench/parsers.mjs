// Parser comparison: libpg-query (what drizzle-guard uses) vs node-sql-parser, on real
// drizzle-kit 0.31 PostgreSQL output and on drizzle-guard's own rewritten output.
//
//   npx tsc -p . && node bench/parsers.mjs      (or: npm run build && npm run bench:parsers)
//
// Env knobs (all optional): BENCH_ROUNDS (default 21), BENCH_TARGET_MS (default 400: the
// wall time one round of the slower parser should take), BENCH_WARMUP_MS (default 2000).
//
// "Accepted" below only means "parsed without throwing"; it says nothing about whether the AST
// is complete or right (node-sql-parser, for example, is not the PostgreSQL grammar).
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadModule, parseSync } from "libpg-query";
import nodeSqlParser from "node-sql-parser";
import { parseSql } from "../dist/src/sql/parse.js";
import { rewriteSql } from "../dist/src/rewrite-sql.js";

const { Parser } = nodeSqlParser;
const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, "..", "fixtures", "corpus", "shop");

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 400);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2000);

// ---------------------------------------------------------------------------------------------
// 1. Statements
// ---------------------------------------------------------------------------------------------

/** Statements of `text`, split by drizzle-guard's own parser (text between first and last token, no `;`). */
function split(text, file) {
  return parseSql(text, file).statements.map((s) => text.slice(s.start, s.end));
}

/** Output shapes of phased migrations, written by hand (not produced by the shop corpus). */
const HAND_WRITTEN = [
  `ALTER TABLE "orders" ADD CONSTRAINT "orders_note_not_null" CHECK ("note" IS NOT NULL) NOT VALID`,
  `ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_note_not_null"`,
  `ALTER TABLE "products" ADD CONSTRAINT "products_title_unique" UNIQUE USING INDEX "products_title_unique"`,
];

const origin = new Map(); // statement text -> where it was first seen
let total = 0;
const add = (sql, from) => {
  total++;
  if (!origin.has(sql)) origin.set(sql, from);
};

const files = readdirSync(corpusDir).filter((f) => f.endsWith(".sql")).sort();
if (files.length === 0) throw new Error(`no .sql files in ${corpusDir}`);
for (const file of files) {
  const text = readFileSync(join(corpusDir, file), "utf8");
  for (const sql of split(text, file)) add(sql, `${file} (drizzle-kit)`);
  const rewrite = rewriteSql(text, file, { split: true });
  rewrite.parts.forEach((part, i) => {
    for (const sql of split(part.text, file)) add(sql, `${file} (rewritten, part ${i + 1})`);
  });
}
for (const sql of HAND_WRITTEN) add(sql, "hand-written phased-migration shape");

const statements = [...origin.keys()];
const count = (from) => statements.filter((s) => origin.get(s).includes(from)).length;
console.log(
  `${statements.length} distinct statements (${total} before de-duplication) from ${files.length} files: ` +
    `${count("drizzle-kit")} drizzle-kit, ${count("rewritten")} only in rewritten output, ${count("hand-written")} hand-written`,
);

// ---------------------------------------------------------------------------------------------
// 2. Acceptance
// ---------------------------------------------------------------------------------------------

await loadModule();
const nsp = new Parser();
const NSP_OPT = { database: "PostgresQL" }; // case-insensitive in node-sql-parser; "PostgresQL" per its README

const parsers = {
  "libpg-query": (sql) => parseSync(sql),
  "node-sql-parser": (sql) => nsp.astify(sql, NSP_OPT),
};

// Guard against a wrong option silently turning into "every statement fails".
for (const [name, parse] of Object.entries(parsers)) parse("SELECT 1");

const firstLine = (err) => String(err?.message ?? err).split("\n")[0];
const oneLine = (sql) => sql.replace(/\s+/g, " ");
/** Peggy errors list every expected token on one line; keep the head and the `but "x" found` tail. */
const shorten = (msg, max = 200) => {
  if (msg.length <= max) return msg;
  const tail = msg.match(/ but .* found\.$/)?.[0] ?? "";
  return `${msg.slice(0, max - tail.length - 5)} ... ${tail.trim()}`;
};

const failures = {};
for (const [name, parse] of Object.entries(parsers)) {
  failures[name] = [];
  for (const sql of statements) {
    try {
      parse(sql);
    } catch (err) {
      failures[name].push({ sql, error: firstLine(err), location: err?.location?.start });
    }
  }
}

for (const [name, list] of Object.entries(failures)) {
  console.log(`\n${name}: ${statements.length - list.length} accepted, ${list.length} failed`);
  for (const f of list) {
    const at = f.location ? ` [line ${f.location.line}, col ${f.location.column}]` : "";
    console.log(`  - ${oneLine(f.sql).slice(0, 80)}`);
    console.log(`      from: ${origin.get(f.sql)}`);
    console.log(`      error${at}: ${shorten(f.error)}`);
  }
}

// Accepting a statement is not understanding it. A cheap fidelity check: print node-sql-parser's
// AST back to SQL (its own sqlify) and ask libpg-query whether that SQL has the same parse tree as
// the original. Informational only; not part of the summary counts. Locations are ignored, and so
// is the order of a column's constraints (`DEFAULT 0 NOT NULL` = `NOT NULL DEFAULT 0`).
const stripLocations = (tree) =>
  JSON.stringify(tree, (k, v) => {
    if (k === "location" || k === "stmt_location" || k === "stmt_len") return undefined;
    if (k === "constraints" && Array.isArray(v)) return v.map((c) => [stripLocations(c), c]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
    return v;
  });
const nspFailed = new Set(failures["node-sql-parser"].map((f) => f.sql));
const roundTrip = { same: 0, differs: [] };
for (const sql of statements.filter((s) => !nspFailed.has(s))) {
  let printed = "";
  try {
    printed = nsp.sqlify(nsp.astify(sql, NSP_OPT), NSP_OPT);
    if (stripLocations(parseSync(printed)) === stripLocations(parseSync(sql))) {
      roundTrip.same++;
      continue;
    }
    roundTrip.differs.push({ sql, printed, why: "different parse tree" });
  } catch (err) {
    roundTrip.differs.push({ sql, printed, why: firstLine(err) });
  }
}
console.log(
  `\nnode-sql-parser round trip (astify -> sqlify -> libpg-query, same tree as the original): ` +
    `${roundTrip.same} of ${statements.length - nspFailed.size} accepted statements`,
);
for (const d of roundTrip.differs) {
  console.log(`  - ${oneLine(d.sql).slice(0, 80)}`);
  console.log(`      printed: ${oneLine(d.printed).slice(0, 80) || "(nothing)"}`);
  console.log(`      ${shorten(d.why)}`);
}

// ---------------------------------------------------------------------------------------------
// 3. Speed, on the statements both parsers accept
// ---------------------------------------------------------------------------------------------

const failed = new Set(Object.values(failures).flatMap((l) => l.map((f) => f.sql)));
const common = statements.filter((s) => !failed.has(s));
console.log(`\nspeed: ${common.length} statements accepted by both parsers`);

let sink = 0; // keeps the results observable so the work cannot be skipped
const pass = (parse, n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) for (const sql of common) sink ^= parse(sql) ? 1 : 0;
  return performance.now() - t0;
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

let ratio = NaN;
if (common.length === 0) {
  console.log("speed: nothing to compare");
} else {
  const A = parsers["libpg-query"];
  const B = parsers["node-sql-parser"];

  // Warm-up (JIT, first WASM calls, caches), interleaved.
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) {
    pass(A, 1);
    pass(B, 1);
  }
  // Same N for both so a round is the same work; sized (on warm code, 10 passes each) so the
  // slower one takes ~TARGET_MS.
  const slowest = Math.max(pass(A, 10), pass(B, 10)) / 10;
  const N = Math.max(1, Math.round(TARGET_MS / Math.max(slowest, 1e-3)));

  const times = { A: [], B: [] };
  for (let r = 0; r < ROUNDS; r++) {
    times.A.push(pass(A, N));
    times.B.push(pass(B, N));
  }
  const mA = median(times.A);
  const mB = median(times.B);
  ratio = mB / mA;
  const perParse = (ms) => ((ms * 1000) / (N * common.length)).toFixed(1);
  console.log(
    `speed: ${ROUNDS} rounds after ${WARMUP_MS} ms warm-up; each round parses the ${common.length} statements ${N} times (interleaved A, B, A, B ...)`,
  );
  console.log(`  libpg-query      median ${mA.toFixed(1)} ms/round (${perParse(mA)} µs/statement)  [min ${Math.min(...times.A).toFixed(1)}, max ${Math.max(...times.A).toFixed(1)}]`);
  console.log(`  node-sql-parser  median ${mB.toFixed(1)} ms/round (${perParse(mB)} µs/statement)  [min ${Math.min(...times.B).toFixed(1)}, max ${Math.max(...times.B).toFixed(1)}]`);
  console.log(`  median of per-round ratios: ${median(times.B.map((b, i) => b / times.A[i])).toFixed(2)}x`);
}

// ---------------------------------------------------------------------------------------------
// 4. Summary
// ---------------------------------------------------------------------------------------------

console.log(
  `\nstatements: ${statements.length} distinct; ` +
    `libpg-query failures: ${failures["libpg-query"].length}; ` +
    `node-sql-parser failures: ${failures["node-sql-parser"].length}; ` +
    `speed ratio (node-sql-parser / libpg-query): ${Number.isFinite(ratio) ? ratio.toFixed(1) + "x" : "n/a"}`,
);
if (sink === -1) console.log(sink);
