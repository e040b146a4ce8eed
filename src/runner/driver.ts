/**
 * Database drivers for the runner: node-postgres for a server, PGlite for an embedded database.
 * Both are imported lazily so commands that do not touch a database do not pay for them.
 * Connection strings are never printed: use redactUrl() for anything shown to a person.
 */
import type { PGlite } from "@electric-sql/pglite";
import { GuardError } from "../errors.js";
import type { DbCredentials } from "../config.js";

export interface QueryResult {
  rows: any[];
}

export interface Driver {
  readonly kind: "pg" | "pglite";
  /** One statement per call (extended protocol when params are given). */
  query(sql: string, params?: unknown[]): Promise<QueryResult>;
  /** The backend's process id (0 for PGlite). */
  pid(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Replaces the password of a connection string (and of any URL in a message) with `***`. The
 * password runs to the last `@` of the authority, as URL parsers read it, so one holding a raw `@`
 * is hidden whole.
 */
export function redactUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/?#\s@]*:)([^\s/?#]*)@/gi, "$1***@").replace(/(password=)([^\s&]+)/gi, "$1***");
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrl(text);
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}

export function credentialsToUrl(c: DbCredentials): string {
  if (c.url) return c.url;
  const user = c.user ? encodeURIComponent(c.user) + (c.password ? `:${encodeURIComponent(c.password)}` : "") + "@" : "";
  return `postgres://${user}${c.host ?? "localhost"}:${c.port ?? 5432}/${encodeURIComponent(c.database ?? "postgres")}`;
}

export function passwordOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Imports a database driver the project installs itself (an optional peer dependency). When it is
 * missing, says which one to install instead of Node's resolution stack.
 */
export async function importDriver<T>(pkg: string, load: () => Promise<T>, use: string): Promise<T> {
  try {
    return await load();
  } catch (e: any) {
    if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes(`'${pkg}'`)) {
      throw new GuardError(`${use} needs the package ${pkg}, which is not installed in this project`, { hint: `npm install ${pkg}` });
    }
    throw e;
  }
}

/**
 * node-postgres' `ssl` for drizzle-kit's `dbCredentials.ssl`, read the way drizzle-kit reads it:
 * "require" / "allow" / "prefer" encrypt without verifying the certificate, "verify-full" verifies
 * it, a boolean or an options object is passed as it is.
 */
export function sslOption(ssl: unknown): unknown {
  if (ssl === "require" || ssl === "allow" || ssl === "prefer") return { rejectUnauthorized: false };
  if (ssl === "verify-full") return {};
  return ssl;
}

export async function connectPg(url: string, opts: { applicationName?: string; ssl?: unknown } = {}): Promise<Driver> {
  const pg = (await importDriver("pg", () => import("pg"), "a PostgreSQL connection (--url, dbCredentials, DATABASE_URL)")).default;
  const ssl = sslOption(opts.ssl);
  const client = new pg.Client({ connectionString: url, application_name: opts.applicationName ?? "drizzle-guard", ...(ssl === undefined ? {} : { ssl: ssl as any }) });
  // An error event on an idle client must not crash the process; the next query reports it.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (e: any) {
    const secret = passwordOf(url);
    throw new GuardError(`cannot connect to ${redactUrl(url)}: ${redactSecrets(String(e.message ?? e), secret ? [secret] : [])}`, {
      hint: "check the URL, that the server is running and that it accepts connections from here",
    });
  }
  // PostgreSQL 14+: a statement whose client went away (a killed runner) is cancelled instead of
  // running on; an interrupted CREATE INDEX CONCURRENTLY then leaves an INVALID index that the
  // next run repairs, rather than a build nobody waits for.
  await client.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
  let backendPid: number | undefined;
  return {
    kind: "pg",
    async query(sql, params) {
      const r = await client.query(params ? { text: sql, values: params } : sql);
      return { rows: Array.isArray(r) ? (r.at(-1)?.rows ?? []) : r.rows };
    },
    async pid() {
      backendPid ??= (await client.query("select pg_backend_pid() as pid")).rows[0].pid as number;
      return backendPid;
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

export async function openPglite(dir?: string): Promise<Driver> {
  return pgliteDriver(await newPglite(dir));
}

/** A PGlite instance itself, for code that needs the client (drizzle-orm/pglite); wrap it with pgliteDriver. */
export async function newPglite(dir?: string): Promise<PGlite> {
  const { PGlite } = await importDriver("@electric-sql/pglite", () => import("@electric-sql/pglite"), "an embedded database (PGlite: --pglite, drift)");
  const db = dir ? new PGlite(dir) : new PGlite();
  await db.waitReady;
  return db;
}

export function pgliteDriver(db: PGlite): Driver {
  return {
    kind: "pglite",
    async query(sql, params) {
      if (params) return { rows: (await db.query(sql, params)).rows };
      const results = await db.exec(sql);
      return { rows: results.at(-1)?.rows ?? [] };
    },
    async pid() {
      return 0;
    },
    async close() {
      await db.close();
    },
  };
}
