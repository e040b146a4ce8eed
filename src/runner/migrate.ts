/**
 * The runner: applies the journal's pending migrations with drizzle's bookkeeping table
 * (`drizzle.__drizzle_migrations(id, hash, created_at)`), so drizzle-kit and drizzle-guard can take
 * turns on one database. A transactional file runs in one transaction together with its
 * bookkeeping row; a `transaction=off` file runs statement by statement, each its own round trip,
 * and its row is written after the last one. An advisory lock makes concurrent runners take turns.
 */
import { createHash } from "node:crypto";
import { GuardError } from "../errors.js";
import { readFolder, readSql, sha256, type Folder, type JournalEntry } from "../folder/folder.js";
import { faultHook, recoverFolder } from "../folder/write.js";
import { parseSql, type ParsedSql, type Statement } from "../sql/parse.js";
import { quoteIdent, quoteLiteral, relKey, relSql } from "../sql/names.js";
import { redactSecrets, type Driver } from "./driver.js";
import { approveDirective, findForbidden, type ConfigApproval, type ForbiddenFinding, type RuleLevels } from "../lint/forbidden.js";

export interface MigrateOptions {
  driver: Driver;
  out: string;
  migrationsTable?: string;
  migrationsSchema?: string;
  lockTimeout?: string;
  statementTimeout?: string;
  /** Retries after a lock timeout (55P03). */
  retries?: number;
  /** First backoff in ms (doubles each retry). */
  backoffMs?: number;
  /** How long to wait for another runner's advisory lock, in ms. */
  lockWaitMs?: number;
  dryRun?: boolean;
  allowOutOfOrder?: boolean;
  /** Approvals of forbidden operations from the config. */
  approvals?: ConfigApproval[];
  /** Levels of forbidden-operation rules from the config. */
  ruleLevels?: RuleLevels;
  /** `expand`: stop before the first file marked `-- drizzle-guard: phase=contract`. */
  phase?: "expand";
  /** Secrets to redact from every message (e.g. the connection password). */
  secrets?: string[];
  /** The folder already read (loadMigrations), e.g. once for many tenants; default: read `out`. */
  migrations?: Loaded;
  log?: (line: string) => void;
}

export type EntryState = "applied" | "pending" | "edited" | "out-of-order" | "blocked";

export interface EntryStatus {
  tag: string;
  when: number;
  state: EntryState;
  nonTransactional: boolean;
  detail?: string;
  /** Unapproved forbidden operations of a file not yet applied (its state is "blocked" unless out of order). */
  blocked?: ForbiddenFinding[];
}

export interface MigrateResult {
  applied: string[];
  statuses: EntryStatus[];
}

export interface Loaded {
  folder: Folder;
  /**
   * `parsed` and `hash` are the file on disk (classification, approvals, bookkeeping); `run`, when
   * set, is the SQL executed instead (e.g. retargeted to a tenant's schema).
   */
  files: Map<string, { text: string; parsed: ParsedSql; hash: string; run?: ParsedSql }>;
}

export function loadMigrations(out: string): Loaded {
  recoverFolder(out);
  const folder = readFolder(out);
  const files = new Map<string, { text: string; parsed: ParsedSql; hash: string }>();
  for (const e of folder.journal.entries) {
    const text = readSql(folder, e.tag);
    files.set(e.tag, { text, parsed: parseSql(text, `${e.tag}.sql`), hash: sha256(text) });
  }
  return { folder, files };
}

export function tableSql(opts: MigrateOptions): string {
  return `${quoteIdent(opts.migrationsSchema ?? "drizzle")}.${quoteIdent(opts.migrationsTable ?? "__drizzle_migrations")}`;
}

/**
 * The bookkeeping schema and table, created only when missing: `CREATE ... IF NOT EXISTS` needs the
 * CREATE privilege even when the object exists, which a role that only runs migrations (the owner
 * created the schema and table once) does not have. A failure is the user's to fix, not a crash.
 */
async function ensureBookkeeping(driver: Driver, opts: MigrateOptions, secrets: readonly string[]): Promise<void> {
  const schema = opts.migrationsSchema ?? "drizzle";
  try {
    const hasSchema = await driver.query("select 1 from pg_catalog.pg_namespace where nspname = $1", [schema]);
    if (!hasSchema.rows.length) await driver.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    const hasTable = await driver.query("select to_regclass($1) is not null as ok", [tableSql(opts)]);
    if (!hasTable.rows[0]?.ok) await driver.query(`CREATE TABLE IF NOT EXISTS ${tableSql(opts)} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
  } catch (e: any) {
    throw new GuardError(`cannot create the bookkeeping table ${tableSql(opts)}: ${redactSecrets(String(e?.message ?? e), secrets)}`, {
      hint: "run migrate as a role that may create it, or have the database owner create the schema and table once",
      cause: e,
    });
  }
}

/** A stable 63-bit advisory lock key for one migrations table. */
export function advisoryKey(schema: string, table: string): string {
  const h = createHash("sha256").update(`drizzle-guard:${schema}.${table}`).digest();
  return (h.readBigInt64BE(0) & 0x3fffffffffffffffn).toString();
}

interface AppliedRow {
  id: number;
  hash: string;
  created_at: string | number | null;
}

export async function readApplied(driver: Driver, opts: MigrateOptions): Promise<AppliedRow[] | null> {
  const schema = opts.migrationsSchema ?? "drizzle";
  const table = opts.migrationsTable ?? "__drizzle_migrations";
  const exists = await driver.query(`select to_regclass($1) is not null as ok`, [`${quoteIdent(schema)}.${quoteIdent(table)}`]);
  if (!exists.rows[0]?.ok) return null;
  return (await driver.query(`select id, hash, created_at from ${tableSql(opts)} order by created_at, id`)).rows;
}

/** Classifies every journal entry against the bookkeeping rows. */
export function classify(
  loaded: Loaded,
  rows: AppliedRow[],
  approvals: readonly ConfigApproval[] = [],
  levels: RuleLevels = {},
): EntryStatus[] {
  const byWhen = new Map<number, AppliedRow[]>();
  for (const r of rows) {
    const w = Number(r.created_at);
    byWhen.set(w, [...(byWhen.get(w) ?? []), r]);
  }
  const newest = rows.reduce((m, r) => Math.max(m, Number(r.created_at)), -Infinity);
  const sum = new Map((loaded.folder.sum?.entries ?? []).map((s) => [s.tag, s]));
  return loaded.folder.journal.entries.map((e: JournalEntry) => {
    const f = loaded.files.get(e.tag)!;
    const nonTransactional = f.parsed.nonTransactional;
    const matches = byWhen.get(e.when);
    if (matches && matches.length) {
      const known = new Set([f.hash]);
      const s = sum.get(e.tag);
      // Earlier versions count only while the file is the one drizzle-guard wrote.
      if (s && s.sha256 === f.hash) for (const h of s.rewrittenFrom) known.add(h);
      if (matches.some((m) => known.has(m.hash))) return { tag: e.tag, when: e.when, state: "applied", nonTransactional };
      return {
        tag: e.tag,
        when: e.when,
        state: "edited",
        nonTransactional,
        detail: `${e.tag}.sql was changed after it was applied (the database recorded sha256 ${matches[0].hash.slice(0, 12)}…, the file is ${f.hash.slice(0, 12)}…)`,
      };
    }
    const blocked = findForbidden(f.parsed, approvals, levels).filter((x) => !x.approved);
    if (e.when < newest) {
      return {
        tag: e.tag,
        when: e.when,
        state: "out-of-order",
        nonTransactional,
        detail: `${e.tag} is older than the newest applied migration and was never applied (drizzle-orm's migrator would skip it silently)`,
        blocked,
      };
    }
    if (blocked.length) {
      return {
        tag: e.tag,
        when: e.when,
        state: "blocked",
        nonTransactional,
        detail: blocked.map((b) => `${e.tag}.sql:${b.line}:${b.column} ${b.rule} (${b.target})`).join("; "),
        blocked,
      };
    }
    return { tag: e.tag, when: e.when, state: "pending", nonTransactional };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statementSql(p: ParsedSql, s: Statement): string {
  return p.text.slice(s.start, s.end);
}

/** Sessions holding locks on the table a statement touches, for the lock-timeout report. */
async function blockers(driver: Driver, s: Statement): Promise<string[]> {
  if (!s.node?.relation) return [];
  const r = await driver.query(
    `select l.pid, l.mode, a.state, left(a.query, 200) as query
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.relation = to_regclass($1) and l.granted and l.pid <> pg_backend_pid()
      order by l.pid`,
    [relSql(s.node.relation)],
  );
  return r.rows.map((x) => `pid ${x.pid} holds ${x.mode} (${x.state ?? "?"}): ${String(x.query ?? "").replace(/\s+/g, " ")}`);
}

/** Drops an INVALID index left by an interrupted CREATE INDEX CONCURRENTLY of the same name. */
async function repairInvalidIndex(driver: Driver, s: Statement, log: (l: string) => void): Promise<void> {
  const n = s.node;
  if (s.kind !== "IndexStmt" || !n.concurrent || !n.idxname) return;
  const schema = n.relation?.schemaname;
  const r = await driver.query(
    `select n.nspname from pg_catalog.pg_index i
       join pg_catalog.pg_class c on c.oid = i.indexrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relname = $1 and n.nspname = coalesce($2, current_schema()) and not i.indisvalid`,
    [n.idxname, schema ?? null],
  );
  if (r.rows.length === 0) return;
  const qualified = `${quoteIdent(r.rows[0].nspname)}.${quoteIdent(n.idxname)}`;
  log(`  repairing: ${qualified} is INVALID (an earlier build was interrupted); dropping it to build it again`);
  await driver.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
}

export class StatementError extends GuardError {}

/** Takes the advisory lock of one migrations table, waiting for another runner for up to `waitMs`. */
export async function takeLock(driver: Driver, key: string, table: string, waitMs = 10 * 60_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = await driver.query(`select pg_try_advisory_lock(${key}) as ok`);
    if (got.rows[0]?.ok) return;
    if (Date.now() > deadline) {
      throw new GuardError(`another runner holds the migration lock for ${table}; gave up waiting`, {
        hint: "raise --lock-wait, or find the other runner (pg_locks where locktype = 'advisory')",
      });
    }
    await sleep(200);
  }
}

export interface RunFileOptions {
  lockTimeout: string;
  statementTimeout: string;
  retries: number;
  backoff: number;
  log: (line: string) => void;
  secrets: string[];
}

/**
 * Runs one file: a transactional file in one transaction together with `bookkeeping` (retried
 * whole after a lock timeout); a `transaction=off` file statement by statement (each retried on
 * its own), `bookkeeping` after the last one.
 */
export async function runFile(driver: Driver, parsed: ParsedSql, bookkeeping: string, o: RunFileOptions): Promise<void> {
  if (!parsed.nonTransactional) {
    await withRetries(driver, parsed, undefined, o.retries, o.backoff, o.log, o.secrets, async () => {
      await driver.query("BEGIN");
      try {
        await driver.query(`SET LOCAL lock_timeout = ${quoteLiteral(o.lockTimeout)}`);
        await driver.query(`SET LOCAL statement_timeout = ${quoteLiteral(o.statementTimeout)}`);
        for (const s of parsed.statements) {
          faultHook?.(`statement:${parsed.file}:${s.index}`);
          await runStatement(driver, parsed, s, o.secrets);
        }
        faultHook?.(`bookkeeping:${parsed.file}`);
        await driver.query(bookkeeping);
        await driver.query("COMMIT");
      } catch (e) {
        await driver.query("ROLLBACK").catch(() => undefined);
        throw e;
      }
    });
    return;
  }
  await driver.query(`SET lock_timeout = ${quoteLiteral(o.lockTimeout)}`);
  await driver.query(`SET statement_timeout = 0`);
  for (const s of parsed.statements) {
    faultHook?.(`statement:${parsed.file}:${s.index}`);
    await withRetries(driver, parsed, s, o.retries, o.backoff, o.log, o.secrets, async () => {
      await repairInvalidIndex(driver, s, o.log);
      await runStatement(driver, parsed, s, o.secrets);
    });
  }
  faultHook?.(`bookkeeping:${parsed.file}`);
  await driver.query(bookkeeping);
  await driver.query(`RESET lock_timeout`);
  await driver.query(`RESET statement_timeout`);
}

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const log = opts.log ?? (() => undefined);
  const driver = opts.driver;
  const secrets = opts.secrets ?? [];
  const loaded = opts.migrations ?? loadMigrations(opts.out);
  const schema = opts.migrationsSchema ?? "drizzle";
  const table = opts.migrationsTable ?? "__drizzle_migrations";
  const key = advisoryKey(schema, table);
  const lockTimeout = opts.lockTimeout ?? "5s";
  const statementTimeout = opts.statementTimeout ?? "0";
  const retries = opts.retries ?? 5;
  const backoff = opts.backoffMs ?? 500;

  if (opts.dryRun) {
    const rows = (await readApplied(driver, opts)) ?? [];
    const statuses = classify(loaded, rows, opts.approvals, opts.ruleLevels);
    for (const s of statuses) if (s.state !== "applied") log(`${s.state.padEnd(12)} ${s.tag}${s.detail ? `: ${s.detail}` : ""}`);
    return { applied: [], statuses };
  }

  // Leader guard: one runner at a time per migrations table; the others wait, then find nothing pending.
  await takeLock(driver, key, `${schema}.${table}`, opts.lockWaitMs);
  const applied: string[] = [];
  try {
    await ensureBookkeeping(driver, opts, opts.secrets ?? []);
    const rows = (await readApplied(driver, opts)) ?? [];
    const statuses = classify(loaded, rows, opts.approvals, opts.ruleLevels);
    const edited = statuses.filter((s) => s.state === "edited");
    if (edited.length) {
      throw new GuardError(edited.map((e) => e.detail).join("\n"), {
        file: `${edited[0].tag}.sql`,
        exitCode: 1,
        hint: "restore the applied file (git checkout), and put the change in a new migration",
      });
    }
    const late = statuses.filter((s) => s.state === "out-of-order");
    if (late.length && !opts.allowOutOfOrder) {
      throw new GuardError(late.map((e) => e.detail).join("\n"), {
        file: `${late[0].tag}.sql`,
        exitCode: 1,
        hint: "apply it with --allow-out-of-order, or regenerate it after the newer migrations",
      });
    }
    for (const st of statuses) {
      if (st.state === "applied") continue;
      const f = loaded.files.get(st.tag)!;
      const exec = f.run ?? f.parsed;
      if (opts.phase === "expand" && f.parsed.directives.some((d) => d.name === "phase" && /^contract\b/i.test(d.args))) {
        log(`stopping before ${st.tag}: contract phase (--phase expand)`);
        break;
      }
      const blocked = st.blocked ?? [];
      if (blocked.length) {
        const b = blocked[0];
        const s = f.parsed.statements[b.statement];
        throw new GuardError(
          `BLOCKED: ${b.rule} (${b.target}): ${b.description}\n  in: ${redactSecrets(firstLine(statementSql(f.parsed, s)), secrets)}` +
            (b.approval ? `\n  ${b.approval}` : "") +
            `\n  nothing from ${st.tag} on was applied`,
          { file: `${st.tag}.sql`, line: b.line, column: b.column, exitCode: 1, hint: `approve it on the line above the statement: ${approveDirective(b.rule)}` },
        );
      }
      log(`applying ${st.tag}${f.parsed.nonTransactional ? " (no transaction)" : ""}`);
      const insertRow = `insert into ${tableSql(opts)} ("hash", "created_at") values (${quoteLiteral(f.hash)}, ${st.when})`;
      await runFile(driver, exec, insertRow, { lockTimeout, statementTimeout, retries, backoff, log, secrets });
      applied.push(st.tag);
    }
    return { applied, statuses: classify(loaded, (await readApplied(driver, opts)) ?? [], opts.approvals, opts.ruleLevels) };
  } finally {
    await driver.query(`select pg_advisory_unlock(${key})`).catch(() => undefined);
  }
}

async function runStatement(driver: Driver, parsed: ParsedSql, s: Statement, secrets: string[]): Promise<void> {
  try {
    await driver.query(statementSql(parsed, s));
  } catch (e: any) {
    if (e?.code === "55P03") throw Object.assign(e, { statement: s });
    const pos = e?.position ? Number(e.position) : undefined;
    const at = pos ? parsed.position(s.start + pos - 1) : { line: s.line, column: s.column };
    throw new StatementError(
      // The statement's text is shown too: it may hold the password as well (e.g. ALTER ROLE ... PASSWORD).
      redactSecrets(`${e?.code ? `[${e.code}] ` : ""}${String(e?.message ?? e)}\n  in: ${firstLine(statementSql(parsed, s))}`, secrets),
      { file: parsed.file, line: at.line, column: at.column, exitCode: 1, cause: e },
    );
  }
}

export function firstLine(sql: string): string {
  const line = sql.split("\n")[0];
  return line.length > 160 ? line.slice(0, 157) + "..." : line + (sql.includes("\n") ? " ..." : "");
}

async function withRetries(
  driver: Driver,
  parsed: ParsedSql,
  stmt: Statement | undefined,
  retries: number,
  backoff: number,
  log: (l: string) => void,
  secrets: string[],
  fn: () => Promise<void>,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e: any) {
      if (e?.code !== "55P03") throw e;
      const s: Statement = e.statement ?? stmt ?? parsed.statements[0];
      const who = await blockers(driver, s).catch(() => []);
      const where = `${parsed.file}:${s.line}:${s.column}`;
      if (attempt >= retries) {
        throw new GuardError(
          `lock timeout on ${relKey(s.node?.relation) || "a locked object"} after ${attempt + 1} attempts` +
            (who.length ? `; blocked by:\n  ${who.map((w) => redactSecrets(w, secrets)).join("\n  ")}` : ""),
          { file: parsed.file, line: s.line, column: s.column, exitCode: 1, hint: "end the blocking session or retry when it is done" },
        );
      }
      const wait = backoff * 2 ** attempt;
      log(`  lock timeout at ${where} (attempt ${attempt + 1}/${retries + 1}); retrying in ${wait} ms`);
      for (const w of who) log(`    ${redactSecrets(w, secrets)}`);
      await sleep(wait);
    }
  }
}
