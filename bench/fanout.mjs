// Tenant fan-out: drizzle-guard's fan-out (database per tenant, concurrent workers) against a loop
// that calls drizzle-orm's own migrate() (drizzle-orm/node-postgres/migrator) once per tenant, in
// the same run, on the same corpus and the same number of fresh databases.
//
//   npx tsc -p . && BENCH_PG_URL=postgres://postgres@127.0.0.1:54329/postgres node bench/fanout.mjs
//   (or: npm run build && npm run bench:fanout; DRIZZLE_GUARD_TEST_PG_URL or DATABASE_URL work too; without
//   any, bench/pg.mjs starts a throwaway cluster from the machine's PostgreSQL binaries, or the bench says it skipped)
//
// Env knobs (all optional): BENCH_TENANTS (default 20 databases per contender), BENCH_CONCURRENCY
// (default 4), BENCH_ROUNDS (default 3; fresh databases every round, the order of the contenders
// alternates).
//
// The corpus is fixtures/corpus/shop: unmodified drizzle-kit output. drizzle-orm's migrate() runs
// every pending migration in one transaction, so it cannot apply drizzle-guard's rewritten folders
// (CREATE INDEX CONCURRENTLY files): both contenders apply the raw drizzle-kit files.
// Each round creates 3 x BENCH_TENANTS databases (not timed) and drops them at the end.
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as drizzleMigrate } from "drizzle-orm/node-postgres/migrator";
import { connectPg, redactUrl } from "../dist/src/runner/driver.js";
import { fanOut } from "../dist/src/runner/tenants.js";
import { benchServer } from "./pg.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const corpus = join(here, "..", "fixtures", "corpus", "shop");
const TENANTS = Number(process.env.BENCH_TENANTS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const server = await benchServer();
if (!server) {
  // Loud, and not a failure of the other benchmarks: this one alone needs a server.
  console.log("\n[5] tenant fan-out: SKIPPED, no PostgreSQL here (set BENCH_PG_URL, or install PostgreSQL: a throwaway cluster is started when its binaries are found)");
  process.exit(0);
}
const URL_ = server.url;
// The approvals the corpus needs (its last migration drops the billing schema and table).
const approvals = [
  { rule: "ban-drop-table", target: "billing.invoices", reason: "bench" },
  { rule: "ban-drop-schema", target: "billing", reason: "bench" },
];

const dbUrl = (name) => {
  const u = new URL(URL_);
  u.pathname = `/${name}`;
  return u.toString();
};

async function admin(sql) {
  const c = new pg.Client({ connectionString: URL_ });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function createDbs(label, n) {
  const names = [];
  for (let i = 0; i < n; i++) {
    const name = `dg_bench_${label}_${randomBytes(4).toString("hex")}`;
    await admin(`CREATE DATABASE "${name}"`);
    names.push(name);
  }
  return names;
}

async function drizzleLoop(names) {
  for (const name of names) {
    const client = new pg.Client({ connectionString: dbUrl(name) });
    await client.connect();
    try {
      await drizzleMigrate(drizzle(client), { migrationsFolder: corpus });
    } finally {
      await client.end();
    }
  }
}

async function guardFanOut(names, concurrency) {
  const results = await fanOut({
    out: corpus,
    approvals,
    tenants: names.map((name) => ({ name, url: dbUrl(name) })),
    connect: (t) => connectPg(t.url),
    concurrency,
  });
  const bad = results.filter((r) => r.status !== "migrated" || r.applied.length !== 5);
  if (bad.length) throw new Error(`drizzle-guard fan-out failed: ${JSON.stringify(bad[0])}`);
}

/** The columns of a database's tables, to check that both contenders built the same schema. */
async function catalog(name) {
  const c = new pg.Client({ connectionString: dbUrl(name) });
  await c.connect();
  try {
    const r = await c.query(
      `select table_schema, table_name, column_name, data_type, is_nullable, column_default
         from information_schema.columns where table_schema not in ('pg_catalog', 'information_schema', 'drizzle') order by 1, 2, 3`,
    );
    return JSON.stringify(r.rows);
  } finally {
    await c.end();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

console.log(`\n[5] tenant fan-out: drizzle-guard migrate --tenants against a loop of drizzle-orm's migrate()`);
console.log(`server: ${redactUrl(URL_)}${server.started ? " (a throwaway cluster started for this run)" : ""}`);
console.log(`corpus: fixtures/corpus/shop (5 unmodified drizzle-kit migrations); ${TENANTS} databases per contender; ${ROUNDS} round(s)`);
const times = { loop: [], fan: [], one: [] };
const created = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const loopDbs = await createDbs("loop", TENANTS);
    const fanDbs = await createDbs("fan", TENANTS);
    const oneDbs = await createDbs("one", TENANTS);
    created.push(...loopDbs, ...fanDbs, ...oneDbs);
    const contenders = [
      ["loop", () => drizzleLoop(loopDbs)],
      ["fan", () => guardFanOut(fanDbs, CONCURRENCY)],
      ["one", () => guardFanOut(oneDbs, 1)],
    ];
    if (round % 2 === 1) contenders.reverse();
    for (const [key, fn] of contenders) {
      const t0 = performance.now();
      await fn();
      times[key].push(performance.now() - t0);
    }
    if ((await catalog(loopDbs[0])) !== (await catalog(fanDbs[0]))) throw new Error("drizzle-orm and drizzle-guard built different schemas");
    console.log(
      `round ${round + 1}: drizzle-orm migrate() loop ${s(times.loop.at(-1))}; drizzle-guard fan-out concurrency ${CONCURRENCY} ${s(times.fan.at(-1))}, concurrency 1 ${s(times.one.at(-1))}`,
    );
    for (const name of [...loopDbs, ...fanDbs, ...oneDbs]) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    created.length = 0;
  }
} finally {
  for (const name of created) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
}
const loop = median(times.loop);
const fan = median(times.fan);
const one = median(times.one);
console.log(`median: drizzle-orm loop ${s(loop)} (${s(loop / TENANTS)} per tenant); drizzle-guard concurrency ${CONCURRENCY} ${s(fan)}; concurrency 1 ${s(one)}`);
console.log(`ratio (drizzle-orm migrate() loop / drizzle-guard fan-out, concurrency ${CONCURRENCY}): ${(loop / fan).toFixed(2)}x`);
console.log(`ratio (drizzle-orm migrate() loop / drizzle-guard fan-out, concurrency 1): ${(loop / one).toFixed(2)}x`);
