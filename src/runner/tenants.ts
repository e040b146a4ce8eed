/**
 * Tenant fan-out: the same migrations applied to many databases (database per tenant) or to many
 * schemas of one database (schema per tenant), by a pool of workers.
 *
 * Each tenant is one migrate() run with its own bookkeeping: a database tenant uses the configured
 * migrations table; a schema tenant keeps `<tenant>.__drizzle_migrations` and runs the files
 * retargeted to its schema (retarget.ts), with search_path set to that schema alone. A rerun applies
 * only what is pending per tenant. By default no new tenant starts after the first failure (running
 * ones finish); `continueOnError` goes on. A canary group runs first and stops everything if it fails.
 */
import { readFileSync } from "node:fs";
import { GuardError } from "../errors.js";
import { parseSql } from "../sql/parse.js";
import { quoteIdent } from "../sql/names.js";
import { jsonErrorOffset } from "../util/json-position.js";
import { passwordOf, redactSecrets, type Driver } from "./driver.js";
import { loadMigrations, migrate, type EntryState, type Loaded, type MigrateOptions } from "./migrate.js";
import { planRetarget, retarget, type Site } from "./retarget.js";

export interface Tenant {
  /** Shown in progress, the summary and the report. Never holds a password. */
  name: string;
  /** Database per tenant: the tenant's connection string. */
  url?: string;
  /** Schema per tenant: the tenant's schema. */
  schema?: string;
}

export type TenantOutcome = "migrated" | "failed" | "not-started";

export interface TenantResult {
  tenant: string;
  status: TenantOutcome;
  /** Migrations applied by this run. */
  applied: string[];
  /** Migrations found already applied, so not run again. */
  skipped: string[];
  durationMs: number;
  error?: string;
}

export interface TenantStatus {
  tenant: string;
  counts: Partial<Record<EntryState, number>>;
  /** Tags per state other than applied (pending, edited, ...). */
  details: Array<{ tag: string; state: EntryState; detail?: string }>;
  error?: string;
}

export type FanOutEvent =
  | { type: "start"; tenant: string }
  | { type: "log"; tenant: string; line: string }
  | { type: "done"; result: TenantResult };

/** The migrate() options every tenant shares (driver, folder and bookkeeping schema are per tenant). */
export type TenantMigrateOptions = Omit<MigrateOptions, "driver" | "migrations" | "log" | "dryRun">;

export interface FanOutOptions extends TenantMigrateOptions {
  tenants: Tenant[];
  /** Opens a connection for one tenant (closed after it). */
  connect(tenant: Tenant): Promise<Driver>;
  /** Tenants run at once (default 4). */
  concurrency?: number;
  /** Migrate this many tenants first; if any fails, start no other. */
  canary?: number;
  /** Go on starting tenants after a failure. */
  continueOnError?: boolean;
  /**
   * Schema tenants: schemas searched after the tenant's own (e.g. where extensions live). Unqualified
   * names that the tenant lacks then resolve there: `DROP TABLE IF EXISTS x` would drop theirs.
   */
  searchPath?: string[];
  onEvent?: (e: FanOutEvent) => void;
}

const DEFAULT_CONCURRENCY = 4;

function lineOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** A name for a database tenant without its password: the database name, else host and port. */
function nameFromUrl(url: string): string {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ""));
  return db || `${u.hostname}${u.port ? `:${u.port}` : ""}`;
}

function checkUrl(url: string, where: { file: string; line?: number; column?: number }): void {
  let ok = false;
  try {
    ok = /^postgres(ql)?:$/.test(new URL(url).protocol);
  } catch {}
  if (!ok) throw new GuardError("not a postgres:// connection string", { ...where, hint: "one postgres://user:password@host:port/db per line, or a JSON array of {name, url}" });
}

/** Names must be unique: the report and the summary are keyed by them. */
function uniqueNames(tenants: Tenant[]): Tenant[] {
  const counts = new Map<string, number>();
  for (const t of tenants) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  return tenants.map((t) => {
    if ((counts.get(t.name) ?? 0) < 2 || !t.url) return t;
    const u = new URL(t.url);
    return { ...t, name: `${t.name}@${u.hostname}${u.port ? `:${u.port}` : ""}` };
  });
}

/** `--tenants FILE`: one connection string per line (blank lines and `#` comments skipped), or a JSON array of {name, url}. */
export function readTenantsFile(path: string, display = path): Tenant[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e: any) {
    throw new GuardError(`cannot read the tenants file: ${e?.code ?? e?.message ?? e}`, { file: display });
  }
  const tenants: Tenant[] = [];
  if (text.trimStart().startsWith("[")) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e: any) {
      let offset = 0;
      try {
        offset = jsonErrorOffset(text);
      } catch (o) {
        offset = typeof o === "number" ? o : 0;
      }
      throw new GuardError(`invalid JSON: ${e?.message ?? e}`, { file: display, ...lineOf(text, offset) });
    }
    if (!Array.isArray(data)) throw new GuardError("expected a JSON array of {name, url}", { file: display });
    data.forEach((x: any, i) => {
      if (!x || typeof x.url !== "string" || (x.name !== undefined && typeof x.name !== "string"))
        throw new GuardError(`entry ${i}: expected {"name": string, "url": string}`, { file: display });
      checkUrl(x.url, { file: display });
      tenants.push({ name: x.name ?? nameFromUrl(x.url), url: x.url });
    });
  } else {
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      checkUrl(line, { file: display, line: i + 1, column: raw.indexOf(line) + 1 });
      tenants.push({ name: nameFromUrl(line), url: line });
    });
  }
  if (tenants.length === 0) throw new GuardError("the tenants file lists no tenant", { file: display });
  return uniqueNames(tenants);
}

/** `--tenants-query SQL` against the platform database: a `url` column and optionally `name`. */
export async function queryTenants(driver: Driver, sql: string): Promise<Tenant[]> {
  const rows = (await driver.query(sql)).rows;
  return uniqueNames(
    rows.map((r, i) => {
      if (typeof r.url !== "string") throw new GuardError(`--tenants-query: row ${i + 1} has no text column named url`);
      checkUrl(r.url, { file: "--tenants-query" });
      return { name: r.name != null ? String(r.name) : nameFromUrl(r.url), url: r.url };
    }),
  );
}

/**
 * `--schemas PATTERN`: with a `%`, a LIKE pattern over the database's schemas (system schemas
 * excluded); otherwise a comma list of schema names (created when missing).
 */
export async function listSchemas(driver: Driver, pattern: string): Promise<Tenant[]> {
  if (pattern.includes("%")) {
    const rows = (await driver.query(`select nspname from pg_catalog.pg_namespace
          where nspname like $1 and nspname not like 'pg\_%' and nspname <> 'information_schema' order by nspname`, [pattern])).rows;
    return rows.map((r) => ({ name: r.nspname, schema: r.nspname }));
  }
  const names = pattern.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new GuardError("--schemas: no schema named", { hint: "a LIKE pattern such as tenant_% or a comma list" });
  return [...new Set(names)].map((n) => ({ name: n, schema: n }));
}

/** Reads the folder once and plans the schema retargeting of every file (refusals surface here, before anything runs). */
interface Prepared {
  loaded: Loaded;
  /** Per file, the places to retarget (schema tenants only). */
  plans?: Map<string, Site[]>;
}

export function prepare(out: string, schemaTenants: boolean): Prepared {
  const loaded = loadMigrations(out);
  if (!schemaTenants) return { loaded };
  const plans = new Map<string, Site[]>();
  for (const [tag, f] of loaded.files) plans.set(tag, planRetarget(f.parsed));
  return { loaded, plans };
}

/** The folder as one schema tenant runs it: same files and hashes, SQL retargeted to its schema. */
function forSchema(loaded: Loaded, plans: Map<string, Site[]>, schema: string): Loaded {
  const files: Loaded["files"] = new Map();
  for (const [tag, f] of loaded.files) {
    const sites = plans.get(tag)!;
    files.set(tag, sites.length ? { ...f, run: parseSql(retarget(f.parsed, sites, schema), f.parsed.file) } : f);
  }
  return { folder: loaded.folder, files };
}

/** Connects and, for a schema tenant, points search_path at its schema alone. */
async function open(connect: FanOutOptions["connect"], t: Tenant, searchPath: string[] = []): Promise<Driver> {
  const driver = await connect(t);
  if (t.schema !== undefined) {
    try {
      // pg_catalog is always searched first; by default nothing else: no other schema's objects are in reach.
      await driver.query(`SET search_path TO ${[t.schema, ...searchPath].map(quoteIdent).join(", ")}`);
      await driver.query(`SET standard_conforming_strings = on`);
    } catch (e) {
      await driver.close();
      throw e;
    }
  }
  return driver;
}

function secretsOf(tenants: Tenant[], given: string[] = []): string[] {
  const out = new Set(given);
  for (const t of tenants) {
    const p = t.url ? passwordOf(t.url) : undefined;
    if (p) out.add(p);
  }
  return [...out];
}

function errorText(e: unknown, secrets: string[]): string {
  const text = e instanceof GuardError ? e.format() : e instanceof Error ? e.message : String(e);
  return redactSecrets(text, secrets);
}

/** The migrate() options of one tenant: its folder view, its bookkeeping schema, its connection. */
function tenantOptions(runner: TenantMigrateOptions, prepared: Prepared, t: Tenant, driver: Driver, secrets: string[]): MigrateOptions {
  return {
    ...runner,
    driver,
    secrets,
    migrations: t.schema !== undefined ? forSchema(prepared.loaded, prepared.plans!, t.schema) : prepared.loaded,
    migrationsSchema: t.schema ?? runner.migrationsSchema,
  };
}

/** What every tenant's run shares. */
interface Shared {
  runner: TenantMigrateOptions;
  connect: FanOutOptions["connect"];
  searchPath?: string[];
  onEvent?: FanOutOptions["onEvent"];
  prepared: Prepared;
  secrets: string[];
}

async function migrateOne({ runner, connect, searchPath, onEvent, prepared, secrets }: Shared, t: Tenant): Promise<TenantResult> {
  const started = performance.now();
  const result: TenantResult = { tenant: t.name, status: "failed", applied: [], skipped: [], durationMs: 0 };
  let driver: Driver | undefined;
  let before: Set<string> | undefined;
  let base: MigrateOptions | undefined;
  try {
    driver = await open(connect, t, searchPath);
    base = {
      ...tenantOptions(runner, prepared, t, driver, secrets),
      log: (line) => onEvent?.({ type: "log", tenant: t.name, line: redactSecrets(line, secrets) }),
    };
    const pre = await migrate({ ...base, dryRun: true, log: undefined });
    before = new Set(pre.statuses.filter((s) => s.state === "applied").map((s) => s.tag));
    result.skipped = [...before];
    const r = await migrate(base);
    result.applied = r.applied;
    result.status = "migrated";
  } catch (e) {
    result.error = errorText(e, secrets);
    if (base && before) {
      // What this run applied before it failed (each file commits with its bookkeeping row).
      const after = await migrate({ ...base, dryRun: true, log: undefined }).catch(() => undefined);
      if (after) result.applied = after.statuses.filter((s) => s.state === "applied" && !before!.has(s.tag)).map((s) => s.tag);
    }
  } finally {
    await driver?.close();
    result.durationMs = Math.round(performance.now() - started);
  }
  return result;
}

/** Runs `work` over `items` with `concurrency` workers; `stop()` true means no new item starts. */
async function pool<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>, stop: (r: R) => boolean): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(items.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
      if (stop(results[i]!)) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

/** Migrates every tenant; the results are in the tenants' order, one per tenant. */
export async function fanOut(o: FanOutOptions): Promise<TenantResult[]> {
  const { tenants, connect, concurrency = DEFAULT_CONCURRENCY, canary = 0, continueOnError, searchPath, onEvent, ...runner } = o;
  const shared: Shared = {
    runner,
    connect,
    searchPath,
    onEvent,
    prepared: prepare(o.out, tenants.some((t) => t.schema !== undefined)),
    secrets: secretsOf(tenants, o.secrets),
  };
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new GuardError("--concurrency must be a whole number of at least 1");
  if (!Number.isInteger(canary) || canary < 0) throw new GuardError("--canary must be a whole number");
  const run = async (t: Tenant) => {
    onEvent?.({ type: "start", tenant: t.name });
    const r = await migrateOne(shared, t);
    onEvent?.({ type: "done", result: r });
    return r;
  };
  const failed = (r: TenantResult) => r.status === "failed";
  const stop = (r: TenantResult) => failed(r) && !continueOnError;
  const results = await pool(tenants.slice(0, canary), concurrency, run, stop);
  if (!results.some((r) => r && failed(r))) results.push(...(await pool(tenants.slice(canary), concurrency, run, stop)));
  return tenants.map(
    (t, i) => results[i] ?? { tenant: t.name, status: "not-started" as const, applied: [], skipped: [], durationMs: 0 },
  );
}

/** `status` across tenants: what each tenant has applied, pending, edited ... */
export async function tenantsStatus(o: Omit<FanOutOptions, "canary" | "continueOnError" | "onEvent">): Promise<TenantStatus[]> {
  const { tenants, connect, concurrency, searchPath, ...runner } = o;
  const prepared = prepare(o.out, tenants.some((t) => t.schema !== undefined));
  const secrets = secretsOf(tenants, o.secrets);
  const one = async (t: Tenant): Promise<TenantStatus> => {
    let driver: Driver | undefined;
    try {
      driver = await open(connect, t, searchPath);
      const r = await migrate({ ...tenantOptions(runner, prepared, t, driver, secrets), dryRun: true });
      const counts: TenantStatus["counts"] = {};
      for (const s of r.statuses) counts[s.state] = (counts[s.state] ?? 0) + 1;
      const details = r.statuses.filter((s) => s.state !== "applied").map((s) => ({ tag: s.tag, state: s.state, detail: s.detail }));
      return { tenant: t.name, counts, details };
    } catch (e) {
      return { tenant: t.name, counts: {}, details: [], error: errorText(e, secrets) };
    } finally {
      await driver?.close();
    }
  };
  const results = await pool(tenants, concurrency ?? DEFAULT_CONCURRENCY, one, () => false);
  return results as TenantStatus[];
}
