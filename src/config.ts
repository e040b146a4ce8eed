/**
 * Reads drizzle.config.ts (or .js/.mjs/.cjs/.json, or --config PATH) the way drizzle-kit does:
 * the default export, paths relative to the working directory. TypeScript is loaded with jiti.
 * An optional drizzle-guard.config.{ts,js,mjs,json} beside it holds drizzle-guard's own options.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { GuardError } from "./errors.js";
import type { Naming } from "./transform.js";
import type { ConfigApproval, RuleLevels } from "./lint/forbidden.js";

export interface DbCredentials {
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: unknown;
}

export interface GuardOptions {
  naming: Naming;
  lockTimeout: string;
  statementTimeout: string;
  /** Rows per transaction in the backfill files of new migrations. */
  backfillBatchSize: number;
  /** Approved forbidden operations: `{ rule, target?, reason }`. */
  approve: ConfigApproval[];
  /** Level of each forbidden-operation rule: "error" (default: blocks), "warn" (reported only) or "off". */
  rules: RuleLevels;
}

/** drizzle-guard.config.ts: `export default defineConfig({ ... })`. Every key is optional. */
export type GuardConfig = Partial<GuardOptions>;

export function defineConfig(config: GuardConfig): GuardConfig {
  return config;
}

const GUARD_KEYS = new Set(["naming", "lockTimeout", "statementTimeout", "backfillBatchSize", "approve", "rules"]);

export interface ResolvedConfig {
  /** The config file that was read (absolute), or undefined when none was found. */
  configPath?: string;
  cwd: string;
  out: string;
  schema?: string | string[];
  /** drizzle-kit's `casing`, `schemaFilter`, `tablesFilter`, `extensionsFilters` (drift pushes the schema with them). */
  casing?: "camelCase" | "snake_case";
  schemaFilter?: string[];
  tablesFilter?: string[];
  extensionsFilters?: string[];
  dialect: "postgresql";
  driver?: string;
  dbCredentials?: DbCredentials;
  migrationsTable: string;
  migrationsSchema: string;
  prefix: string;
  guard: GuardOptions;
}

const DEFAULT_NAMES = ["drizzle.config.ts", "drizzle.config.mts", "drizzle.config.js", "drizzle.config.mjs", "drizzle.config.cjs", "drizzle.config.json"];
const GUARD_NAMES = ["drizzle-guard.config.ts", "drizzle-guard.config.js", "drizzle-guard.config.mjs", "drizzle-guard.config.json"];

export const DEFAULT_GUARD: GuardOptions = { naming: "timestamp", lockTimeout: "5s", statementTimeout: "15min", backfillBatchSize: 1000, approve: [], rules: {} };

async function loadModule(path: string): Promise<any> {
  if (extname(path) === ".json") {
    try {
      return JSON.parse(readFileSync(path, "utf8"));
    } catch (e: any) {
      throw new GuardError(`malformed JSON: ${e.message}`, { file: path });
    }
  }
  const mod = await importFile(path, { interopDefault: true });
  return mod?.default ?? mod;
}

/** Imports a .ts/.js file of the user's project (TypeScript through jiti); a failure is a GuardError. */
export async function importFile(path: string, opts: { interopDefault: boolean }): Promise<any> {
  const { createJiti } = await import("jiti");
  const jiti = createJiti(import.meta.url, { interopDefault: opts.interopDefault, moduleCache: false });
  try {
    return await jiti.import(path);
  } catch (e: any) {
    throw new GuardError(`cannot load ${path}: ${e.message}`, { file: path, cause: e });
  }
}

/**
 * A module of the user's project (drizzle-kit, drizzle-orm: the project's versions, not drizzle-guard's),
 * resolved from its folder; when the package is missing, says so and how to install it. `why`: what needs it.
 */
export function resolveFromProject(cwd: string, id: string, pkg: string, why?: string): string {
  try {
    return createRequire(join(cwd, "noop.js")).resolve(id);
  } catch {
    throw new GuardError(`${pkg} is not installed in this project${why ? `: ${why}` : ""}`, { hint: `npm install -D ${pkg}` });
  }
}

/**
 * A duration as PostgreSQL's lock_timeout / statement_timeout take it (milliseconds, or a number
 * with us, ms, s, min, h or d). It is written into SET statements, so anything else is refused here
 * rather than failing in the database or breaking the SQL.
 */
export function checkDuration(value: unknown, what: string, file?: string): string {
  if ((typeof value === "string" || typeof value === "number") && /^\d+(\.\d+)?\s*(us|ms|s|min|h|d)?$/.test(String(value))) return String(value);
  throw new GuardError(`${what} must be a duration such as 5s, 500ms or 15min, got ${JSON.stringify(value)}`, { file });
}

export async function loadConfig(opts: { config?: string; cwd?: string } = {}): Promise<ResolvedConfig> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  let configPath: string | undefined;
  if (opts.config) {
    configPath = resolve(cwd, opts.config);
    if (!existsSync(configPath)) throw new GuardError(`config file not found: ${opts.config}`);
  } else {
    configPath = DEFAULT_NAMES.map((n) => join(cwd, n)).find((p) => existsSync(p));
  }
  const raw: any = configPath ? await loadModule(configPath) : {};
  if (!raw || typeof raw !== "object") throw new GuardError("the config has no default export object", { file: configPath });
  const dialect = raw.dialect ?? "postgresql";
  if (dialect !== "postgresql") {
    throw new GuardError(`dialect "${dialect}" is not supported: drizzle-guard works with PostgreSQL only`, { file: configPath });
  }
  const guardPath = GUARD_NAMES.map((n) => join(configPath ? dirname(configPath) : cwd, n)).find((p) => existsSync(p));
  const guardRaw: any = guardPath ? await loadModule(guardPath) : {};
  const guardFile = guardPath ?? configPath;
  if (!guardRaw || typeof guardRaw !== "object") throw new GuardError("drizzle-guard config has no default export object", { file: guardFile });
  const unknown = Object.keys(guardRaw).filter((k) => !GUARD_KEYS.has(k));
  if (unknown.length) {
    throw new GuardError(`unknown drizzle-guard option(s): ${unknown.join(", ")}`, { file: guardFile, hint: `known options: ${[...GUARD_KEYS].join(", ")}` });
  }
  const guard: GuardOptions = { ...DEFAULT_GUARD, ...guardRaw };
  const { FORBIDDEN } = await import("./lint/forbidden.js");
  for (const [id, level] of Object.entries(guard.rules ?? {})) {
    if (!FORBIDDEN.some((r) => r.id === id)) throw new GuardError(`rules: unknown rule ${id}`, { file: guardFile, hint: `rules: ${FORBIDDEN.map((r) => r.id).join(", ")}` });
    if (!["error", "warn", "off"].includes(level)) throw new GuardError(`rules: ${id} must be "error", "warn" or "off"`, { file: guardFile });
  }
  if (guard.naming !== "timestamp" && guard.naming !== "timestamp-underscore") {
    throw new GuardError(`naming must be "timestamp" or "timestamp-underscore", not ${JSON.stringify(guard.naming)}`, {
      file: guardPath ?? configPath,
    });
  }
  checkDuration(guard.lockTimeout, "lockTimeout", guardFile);
  checkDuration(guard.statementTimeout, "statementTimeout", guardFile);
  if (!Number.isInteger(guard.backfillBatchSize) || guard.backfillBatchSize < 1) {
    throw new GuardError(`backfillBatchSize must be a positive integer, not ${JSON.stringify(guard.backfillBatchSize)}`, { file: guardPath ?? configPath });
  }
  if (!Array.isArray(guard.approve) || guard.approve.some((a) => !a || typeof a.rule !== "string" || !String(a.reason ?? "").trim())) {
    throw new GuardError("approve must be a list of { rule, target?, reason } with a reason for each", { file: guardPath ?? configPath });
  }
  return {
    configPath,
    cwd,
    out: resolve(cwd, raw.out ?? "drizzle"),
    schema: raw.schema,
    casing: raw.casing,
    schemaFilter: typeof raw.schemaFilter === "string" ? [raw.schemaFilter] : raw.schemaFilter,
    tablesFilter: typeof raw.tablesFilter === "string" ? [raw.tablesFilter] : raw.tablesFilter,
    extensionsFilters: raw.extensionsFilters,
    dialect: "postgresql",
    driver: raw.driver,
    dbCredentials: raw.dbCredentials,
    migrationsTable: raw.migrations?.table ?? "__drizzle_migrations",
    migrationsSchema: raw.migrations?.schema ?? "drizzle",
    prefix: raw.migrations?.prefix ?? "index",
    guard,
  };
}
