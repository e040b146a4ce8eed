/**
 * Command bodies: load the config, call the API, print a report, return the exit code.
 * The modules a command needs are imported inside it (the parser's WebAssembly, the transforms, the
 * runner, diff), so each command loads only its own: start-up is measured in bench/.
 */
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { pickFormat } from "./lint/format.js";
import pc from "picocolors";
import { checkDuration, loadConfig, type ResolvedConfig } from "./config.js";
import { GuardError, isGuardError } from "./errors.js";
import type { RewritePlan } from "./rewrite.js";
import type { CanonicalStatus } from "./drift/report.js";
import { connectPg, credentialsToUrl, openPglite, passwordOf, redactUrl, type Driver } from "./runner/driver.js";
import type { EntryStatus } from "./runner/migrate.js";
import type { RollbackOptions } from "./runner/rollback.js";
import { approveDirective, findForbidden, type ConfigApproval, type RuleLevels } from "./lint/forbidden.js";
import type { Progress } from "./progress.js";
import type { Tenant, TenantResult } from "./runner/tenants.js";

type Print = (line?: string) => void;

/**
 * A file of the migrations folder (named relative to it, or absolute) as the user's shell and editor
 * find it: relative to the working directory, e.g. `drizzle/20261121093000_x.sql`.
 */
export function shownPath(out: string, file: string): string {
  return relative(process.cwd(), resolve(out, file)) || file;
}

/** Runs a command's work on the folder `out`; a user error it throws names its file from the working directory. */
async function onFolder<T>(out: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (isGuardError(e) && e.file) e.file = shownPath(out, e.file);
    throw e;
  }
}

export async function verdict(plan: RewritePlan, approvals: ConfigApproval[], print: Print, levels: RuleLevels = {}, out = ""): Promise<void> {
  const { parseSql } = await import("./sql/parse.js");
  const blocked = new Set<string>();
  for (const e of plan.entries) {
    for (const tag of e.tags) {
      const d = plan.diffs.find((x) => x.after?.path === `${tag}.sql`);
      if (!d?.after) continue;
      for (const f of findForbidden(parseSql(d.after.text, d.after.path), approvals, levels)) {
        if (f.approved) continue;
        blocked.add(f.rule);
        print(pc.red(`  blocked ${shownPath(out, d.after.path)}:${f.line}:${f.column}: ${f.rule} (${f.target}): approve with ${approveDirective(f.rule)}`));
      }
    }
  }
  print(blocked.size ? pc.red(`VERDICT: BLOCKED (${[...blocked].sort().join(", ")})`) : pc.green("VERDICT: PASS"));
}

export function summarize(plan: RewritePlan, print: Print, verb = "rewrote", out = ""): void {
  const changed = plan.entries.filter((e) => e.changedStatements > 0 || e.split || e.tags[0] !== e.oldTag);
  const statements = plan.entries.reduce((n, e) => n + e.statements, 0);
  const edited = plan.entries.reduce((n, e) => n + e.changedStatements, 0);
  print(
    `${verb} ${changed.length} of ${plan.entries.length} migration(s): ${edited} of ${statements} statement(s) changed` +
      (plan.entries.some((e) => e.split) ? `, ${plan.entries.filter((e) => e.split).length} split` : ""),
  );
  for (const e of plan.entries) {
    const arrow = e.tags.length === 1 && e.tags[0] === e.oldTag ? e.oldTag : `${e.oldTag} -> ${e.tags.join(", ")}`;
    print(`  ${arrow}  (${e.changedStatements}/${e.statements} statements changed)`);
    for (const n of e.notes) print(pc.yellow(`    note ${shownPath(out, n.file)}:${n.line}:${n.column}: ${n.message} [${n.transform}]`));
  }
}

/** Which hand-edited migrations the sum file records again, and the down files kept beside them that may no longer undo them. */
function printHandEdits(plan: RewritePlan, out: string, print: Print, verb: string): void {
  if (plan.handEdited.length) print(`${verb} the hand edits of ${plan.handEdited.map((f) => shownPath(out, f)).join(", ")} in meta/_drizzle_guard.json`);
  for (const f of plan.staleDowns) {
    print(pc.yellow(`  note ${shownPath(out, f)} is kept, but its migration was edited by hand: check that it still undoes it (delete it and run rewrite to derive it again)`));
  }
}

export async function printDiff(plan: RewritePlan, print: Print): Promise<void> {
  const { createTwoFilesPatch } = await import("diff");
  for (const d of plan.diffs) {
    const before = d.before?.text ?? "";
    const after = d.after?.text ?? "";
    if (d.before && d.after && before === after && d.before.path === d.after.path) continue;
    const patch = createTwoFilesPatch(d.before ? `a/${d.before.path}` : "/dev/null", d.after ? `b/${d.after.path}` : "/dev/null", before, after, "", "", {
      context: 3,
    });
    printPatch(patch, print);
  }
}

/** A unified diff, colored. */
function printPatch(patch: string, print: Print): void {
  for (const line of patch.split("\n")) {
    if (line.startsWith("===")) continue;
    if (line.startsWith("+++") || line.startsWith("---")) print(pc.bold(line));
    else if (line.startsWith("+")) print(pc.green(line));
    else if (line.startsWith("-")) print(pc.red(line));
    else if (line.startsWith("@@")) print(pc.cyan(line));
    else print(line);
  }
}

export async function runGenerate(o: { config?: string; passthrough: string[] }, print: Print): Promise<number> {
  const { generate, withPassedFlags } = await import("./generate.js");
  const config = withPassedFlags(await loadConfig({ config: o.config }), o.passthrough);
  const r = await onFolder(config.out, () => generate(config, o.passthrough));
  if (!r.plan) {
    print(r.drizzleKitExit === 0 ? "no schema changes: nothing generated" : `drizzle-kit generate exited ${r.drizzleKitExit}`);
    return r.drizzleKitExit === 0 ? 0 : 2;
  }
  summarize(r.plan, print, "rewrote", config.out);
  await verdict(r.plan, config.guard.approve, print, config.guard.rules, config.out);
  return 0;
}

export async function runRewrite(o: { config?: string; out?: string; dryRun: boolean }, print: Print): Promise<number> {
  const config = await loadConfig({ config: o.config });
  const out = outDir(config, o.out);
  const { rewriteFolder } = await import("./rewrite.js");
  const plan = await onFolder(out, async () => rewriteFolder(out, { dryRun: o.dryRun, naming: config.guard.naming }));
  if (o.dryRun) {
    await printDiff(plan, print);
    summarize(plan, print, "would rewrite", out);
    printHandEdits(plan, out, print, "would record");
    print(plan.unchanged ? "nothing to change" : "dry run: nothing written");
    return 0;
  }
  summarize(plan, print, "rewrote", out);
  printHandEdits(plan, out, print, "recorded");
  await verdict(plan, config.guard.approve, print, config.guard.rules, out);
  if (plan.unchanged) print("already rewritten: nothing changed");
  return 0;
}

interface ConnectOptions {
  url?: string;
  pglite?: string;
}

/** postgres:// or postgresql://, as node-postgres reads them (anything else it misreads as a host name). */
function isPostgresUrl(url: string): boolean {
  try {
    return /^postgres(ql)?:$/i.test(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** Where the database is: a PGlite folder (undefined = in memory) or a connection string. */
type Database = { pglite: string | undefined } | { url: string; ssl?: unknown };

function databaseOf(config: ResolvedConfig, o: ConnectOptions): Database {
  if (o.pglite) return { pglite: o.pglite === "memory://" ? undefined : resolve(o.pglite) };
  let url = o.url;
  if (!url && config.driver === "pglite") {
    const dir = config.dbCredentials?.url;
    return { pglite: dir ? resolve(config.cwd, dir) : undefined };
  }
  if (!url && config.dbCredentials) {
    // `url: process.env.X` with X unset: refuse, rather than connect to localhost:5432/postgres.
    const c = config.dbCredentials;
    if (!c.url && ("url" in c || !c.host)) {
      throw new GuardError(`dbCredentials in the drizzle config has ${"url" in c ? "an empty url (is its environment variable set?)" : "neither url nor host"}`, {
        file: config.configPath,
        hint: "set it, or pass --url / --pglite",
      });
    }
    return { url: credentialsToUrl(c), ssl: c.ssl };
  }
  const from = url ? "--url" : "DATABASE_URL";
  url ??= process.env.DATABASE_URL;
  if (!url) throw new GuardError("no database: pass --url, --pglite, set dbCredentials in the drizzle config, or DATABASE_URL");
  if (!isPostgresUrl(url)) {
    // Not echoed: a password in another scheme's URL would not be recognised and hidden.
    throw new GuardError(`${from} is not a postgres:// connection string`, { hint: "postgres://user@host:port/database (or --pglite DIR)" });
  }
  return { url };
}

/**
 * Connects to the database of the flags or the config. `existing`: a PGlite folder must be there
 * already (status, rollback: PGlite would create an empty database in a mistyped folder and report
 * every migration pending); migrate creates it.
 */
export async function openDriver(
  config: ResolvedConfig,
  o: ConnectOptions,
  opts: { existing?: boolean } = {},
): Promise<{ driver: Driver; label: string; secrets: string[] }> {
  const db = databaseOf(config, o);
  if ("pglite" in db && opts.existing && db.pglite !== undefined && !existsSync(db.pglite)) {
    throw new GuardError(`no PGlite database at ${shownPath(db.pglite, ".")}`, { hint: "check the folder; drizzle-guard migrate --pglite DIR creates one" });
  }
  if ("pglite" in db) return { driver: await openPglite(db.pglite), label: `pglite ${o.pglite ?? db.pglite ?? "(memory)"}`, secrets: [] };
  const secret = passwordOf(db.url);
  return { driver: await connectPg(db.url, { ssl: db.ssl }), label: redactUrl(db.url), secrets: secret ? [secret] : [] };
}

/**
 * The migrations folder: --out, or `out` from the config. With no config found and no ./drizzle
 * either, the user is most likely in the wrong folder: say that, not that ./drizzle is missing.
 */
function outDir(config: ResolvedConfig, out: string | undefined): string {
  if (out) return resolve(out);
  if (!config.configPath && !existsSync(config.out)) {
    throw new GuardError("no drizzle config here (drizzle.config.ts, .mts, .js, .mjs, .cjs or .json) and no drizzle folder", {
      hint: "run drizzle-guard from the folder of your drizzle.config.ts, or pass --config PATH (or --out DIR)",
    });
  }
  return config.out;
}

/** The runner options every database command takes from the config. */
function runnerConfig(config: ResolvedConfig, out: string) {
  return {
    out,
    migrationsTable: config.migrationsTable,
    migrationsSchema: config.migrationsSchema,
    approvals: config.guard.approve,
    ruleLevels: config.guard.rules,
  };
}

/** --retries and --lock-wait, checked before anything connects. */
function retryFlags(o: any): { retries: number; lockWaitMs: number } {
  return { retries: count(o.retries, "--retries", 5), lockWaitMs: count(o.lockWait, "--lock-wait", 600) * 1000 };
}

/** --lock-timeout and --statement-timeout (checked before anything connects), else the config's. */
function timeoutFlags(o: any, config: ResolvedConfig): { lockTimeout: string; statementTimeout: string } {
  return {
    lockTimeout: o.lockTimeout === undefined ? config.guard.lockTimeout : checkDuration(o.lockTimeout, "--lock-timeout"),
    statementTimeout: o.statementTimeout === undefined ? config.guard.statementTimeout : checkDuration(o.statementTimeout, "--statement-timeout"),
  };
}

/** --phase: only `expand` exists; any other value is refused rather than applying every phase. */
function phaseFlag(o: any): "expand" | undefined {
  if (o.phase === undefined) return undefined;
  if (o.phase !== "expand") throw new GuardError(`--phase must be expand (stop before the first contract-phase file), got ${JSON.stringify(String(o.phase))}`);
  return "expand";
}

/** What migrate applies with, from its flags and the config: one database or every tenant alike. */
type ApplyFlags = ReturnType<typeof timeoutFlags> & ReturnType<typeof retryFlags> & { phase: "expand" | undefined };

export async function runMigrate(o: any, print: Print): Promise<number> {
  // Flags are checked before the config is read and before anything connects.
  const retry = retryFlags(o);
  const phase = phaseFlag(o);
  const config = await loadConfig({ config: o.config });
  const flags: ApplyFlags = { ...timeoutFlags(o, config), ...retry, phase };
  const out = outDir(config, o.out);
  if (isFanOut(o)) return o.dryRun ? tenantsStatusCommand(config, out, o, print) : fanOutCommand(config, out, o, flags, print);
  const { driver, label, secrets } = await openDriver(config, o);
  try {
    print(`${o.dryRun ? "checking" : "migrating"} ${label}`);
    const { migrate } = await import("./runner/migrate.js");
    const r = await onFolder(out, () => migrate({
      ...runnerConfig(config, out),
      driver,
      ...flags,
      dryRun: !!o.dryRun,
      allowOutOfOrder: !!o.allowOutOfOrder,
      secrets,
      log: print,
    }));
    if (o.dryRun) return 0;
    print(r.applied.length ? `applied ${r.applied.length} migration(s)` : "nothing pending");
    return 0;
  } finally {
    await driver.close();
  }
}

/** Asks a yes/no question on the terminal; false when there is none. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return false;
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function runRollback(o: any, print: Print): Promise<number> {
  const config = await loadConfig({ config: o.config });
  const out = outDir(config, o.out);
  const steps = o.steps === undefined ? undefined : count(o.steps, "--steps", 1);
  if (steps === 0) throw new GuardError("--steps must be a whole number of at least 1, got \"0\"");
  const retry = retryFlags(o);
  const { lockTimeout } = timeoutFlags(o, config);
  const { driver, label, secrets } = await openDriver(config, o, { existing: true });
  const { rollback } = await import("./runner/rollback.js");
  try {
    const options: RollbackOptions = {
      ...runnerConfig(config, out),
      driver,
      steps,
      to: o.to === undefined ? undefined : String(o.to),
      force: !!o.force,
      lockTimeout,
      ...retry,
      secrets,
      log: print,
      shownPath: (f) => shownPath(out, f),
    };
    if (o.dryRun || !o.yes) {
      print(`rollback plan for ${label}`);
      const planned = await onFolder(out, () => rollback({ ...options, dryRun: true }));
      if (!planned.plan.length) {
        print("nothing to roll back");
        return 0;
      }
      if (o.dryRun) return 0;
      const tags = planned.plan.map((p) => p.tag).join(", ");
      if (!(await confirm(`roll back ${planned.plan.length} migration(s) (${tags}) on ${label}? Their data may be lost.`))) {
        throw new GuardError("rollback changes the schema and can lose data: nothing was rolled back", {
          hint: "pass --yes to confirm (or answer y on a terminal); --dry-run shows the plan",
        });
      }
    }
    print(`rolling back on ${label}`);
    const r = await onFolder(out, () => rollback(options));
    print(r.rolledBack.length ? `rolled back ${r.rolledBack.length} migration(s)` : "nothing to roll back");
    return 0;
  } finally {
    await driver.close();
  }
}

export function statusTable(statuses: EntryStatus[]): string[] {
  const color = (s: EntryStatus["state"]) =>
    s === "applied" ? pc.green(s) : s === "pending" ? pc.yellow(s) : pc.red(s);
  return statuses.map((s) => `${color(s.state).padEnd(12 + (color(s.state).length - s.state.length))} ${s.tag}${s.nonTransactional ? "  (no transaction)" : ""}${s.detail ? `\n    ${s.detail}` : ""}`);
}

export async function runStatus(o: any, print: Print): Promise<number> {
  const config = await loadConfig({ config: o.config });
  const out = outDir(config, o.out);
  if (isFanOut(o)) return tenantsStatusCommand(config, out, o, print);
  const { driver, label } = await openDriver(config, o, { existing: true });
  try {
    const { migrate } = await import("./runner/migrate.js");
    const r = await onFolder(out, () => migrate({ ...runnerConfig(config, out), driver, dryRun: true }));
    print(`status of ${label}`);
    for (const line of statusTable(r.statuses)) print(line);
    return r.statuses.some((s) => s.state === "edited" || s.state === "out-of-order" || s.state === "blocked") ? 1 : 0;
  } finally {
    await driver.close();
  }
}

function isFanOut(o: any): boolean {
  return o.tenants !== undefined || o.tenantsQuery !== undefined || o.schemas !== undefined;
}

function count(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new GuardError(`${flag} must be a whole number, got ${JSON.stringify(String(value))}`);
  return n;
}

function concurrencyOf(o: any): number {
  const n = count(o.concurrency, "--concurrency", 4);
  if (n < 1) throw new GuardError("--concurrency must be at least 1");
  return n;
}

/** The tenants named by --tenants / --tenants-query / --schemas, and how to connect to each. */
async function resolveTenants(
  config: ResolvedConfig,
  o: any,
): Promise<{ tenants: Tenant[]; connect: (t: Tenant) => Promise<Driver>; source: string; secrets: string[]; single: boolean; close: () => Promise<void> }> {
  const given = [o.tenants !== undefined && "--tenants", o.tenantsQuery !== undefined && "--tenants-query", o.schemas !== undefined && "--schemas"].filter(Boolean);
  if (given.length > 1) throw new GuardError(`${given.join(" and ")} cannot be combined: name the tenants one way`);
  const { listSchemas, queryTenants, readTenantsFile } = await import("./runner/tenants.js");
  const connectUrl = (t: Tenant) => connectPg(t.url!, { applicationName: "drizzle-guard tenants" });
  if (o.tenants !== undefined) {
    if (typeof o.tenants !== "string") throw new GuardError("--tenants needs a file: one connection string per line, or a JSON array of {name, url}");
    const tenants = readTenantsFile(resolve(o.tenants), o.tenants);
    return { tenants, connect: connectUrl, source: `listed in ${o.tenants}`, secrets: [], single: false, close: async () => undefined };
  }
  // cac turns a value that looks like a number into one (--schemas 2024): names are text.
  const raw = o.tenantsQuery ?? o.schemas;
  const value = typeof raw === "string" || typeof raw === "number" ? String(raw) : "";
  if (!value.trim()) throw new GuardError(`${given[0]} needs a value`);
  const db = databaseOf(config, o);
  const { driver, label, secrets } = await openDriver(config, o);
  try {
    if (o.tenantsQuery !== undefined) {
      const tenants = await queryTenants(driver, value);
      await driver.close();
      return { tenants, connect: connectUrl, source: `from --tenants-query on ${label}`, secrets, single: false, close: async () => undefined };
    }
    const tenants = await listSchemas(driver, value);
    if ("pglite" in db) {
      // One embedded database, one connection: tenants take turns on it.
      const shared: Driver = { ...driver, close: async () => undefined };
      return { tenants, connect: async () => shared, source: `schemas ${value} in ${label}`, secrets, single: true, close: () => driver.close() };
    }
    await driver.close();
    return { tenants, connect: () => connectPg(db.url, { ssl: db.ssl }), source: `schemas ${value} in ${label}`, secrets, single: false, close: async () => undefined };
  } catch (e) {
    await driver.close();
    throw e;
  }
}

/** --search-path a,b: schemas searched after a schema tenant's own. */
function searchPathOf(o: any): string[] | undefined {
  if (o.searchPath === undefined) return undefined;
  if (o.schemas === undefined) throw new GuardError("--search-path goes with --schemas (schema per tenant)");
  return String(o.searchPath).split(",").map((s) => s.trim()).filter(Boolean);
}

async function fanOutProgress(total: number, print: Print): Promise<Progress> {
  const { plainProgress, ttyProgress } = await import("./progress.js");
  return process.stdout.isTTY && !process.env.CI ? ttyProgress(total, process.stdout) : plainProgress(total, print);
}

async function fanOutCommand(config: ResolvedConfig, out: string, o: any, flags: ApplyFlags, print: Print): Promise<number> {
  // A report that cannot be written is an input error found before any tenant is touched.
  const { existsSync, writeFileSync } = await import("node:fs");
  if (o.report !== undefined && (typeof o.report !== "string" || !existsSync(dirname(resolve(o.report)))))
    throw new GuardError(`--report needs a file in an existing folder: ${o.report}`);
  const t = await resolveTenants(config, o);
  try {
    const concurrency = t.single ? 1 : concurrencyOf(o);
    const canary = count(o.canary, "--canary", 0);
    print(`migrating ${t.tenants.length} tenant(s) ${t.source}, concurrency ${concurrency}${canary ? `, canary ${canary}` : ""}`);
    const progress = await fanOutProgress(t.tenants.length, print);
    const { fanOut } = await import("./runner/tenants.js");
    const { summaryLines } = await import("./progress.js");
    const started = performance.now();
    let results: TenantResult[];
    try {
      results = await fanOut({
        ...runnerConfig(config, out),
        tenants: t.tenants,
        connect: t.connect,
        concurrency,
        canary,
        continueOnError: !!o.continueOnError,
        searchPath: searchPathOf(o),
        ...flags,
        allowOutOfOrder: !!o.allowOutOfOrder,
        secrets: t.secrets,
        onEvent: progress.onEvent,
      });
    } finally {
      progress.stop();
    }
    const wall = performance.now() - started;
    for (const line of summaryLines(results, wall)) print(line);
    if (o.report) {
      writeFileSync(resolve(o.report), JSON.stringify(reportOf(results, wall), null, 2) + "\n");
      print(`report written to ${o.report}`);
    }
    return results.every((r) => r.status === "migrated") ? 0 : 1;
  } finally {
    await t.close();
  }
}

/** The --report file: one entry per tenant, in the tenants' order. */
export function reportOf(results: TenantResult[], wallMs: number) {
  return {
    duration_ms: Math.round(wallMs),
    totals: {
      tenants: results.length,
      migrated: results.filter((r) => r.status === "migrated").length,
      failed: results.filter((r) => r.status === "failed").length,
      not_started: results.filter((r) => r.status === "not-started").length,
    },
    tenants: results.map((r) => ({
      tenant: r.tenant,
      status: r.status,
      applied: r.applied,
      skipped: r.skipped,
      duration_ms: r.durationMs,
      error: r.error ?? null,
    })),
  };
}

async function tenantsStatusCommand(config: ResolvedConfig, out: string, o: any, print: Print): Promise<number> {
  const t = await resolveTenants(config, o);
  try {
    const { tenantsStatus } = await import("./runner/tenants.js");
    const { tenantStatusLines } = await import("./progress.js");
    const statuses = await tenantsStatus({
      ...runnerConfig(config, out),
      tenants: t.tenants,
      connect: t.connect,
      concurrency: t.single ? 1 : concurrencyOf(o),
      searchPath: searchPathOf(o),
      secrets: t.secrets,
    });
    print(`status of ${t.tenants.length} tenant(s) ${t.source}`);
    for (const line of tenantStatusLines(statuses)) print(line);
    return statuses.some((s) => s.error || s.details.some((d) => d.state !== "pending")) ? 1 : 0;
  } finally {
    await t.close();
  }
}

export async function runCheck(o: { config?: string; out?: string; format?: string }, print: Print): Promise<number> {
  const format = pickFormat(o.format);
  const config = await loadConfig({ config: o.config });
  const out = outDir(config, o.out);
  const [{ check }, { emit }] = await Promise.all([import("./lint/check.js"), import("./lint/run.js")]);
  const r = await onFolder(out, async () => check(out, { naming: config.guard.naming, approvals: config.guard.approve, levels: config.guard.rules, display: shownPath(out, ".") }));
  emit(format, r.lint, r.checks, print);
  return r.checks.every((c) => c.ok) ? 0 : 1;
}

export interface DriftCommandOptions {
  config?: string;
  out?: string;
  url?: string;
  write?: string;
  canonical?: string;
  format?: string;
}

/** `drift`: exit 0 no drift, 1 drift (or a canonical file the migrations no longer produce), 2 errors. */
export async function runDrift(o: DriftCommandOptions, print: Print): Promise<number> {
  const format = o.format ?? "tty";
  if (format !== "tty" && format !== "json") throw new GuardError(`--format must be tty or json, not ${JSON.stringify(String(format))}`);
  for (const flag of ["url", "write", "canonical"] as const) {
    if (o[flag] !== undefined && (typeof o[flag] === "boolean" || !String(o[flag]).trim())) throw new GuardError(`--${flag} needs a value`);
  }
  if (o.write !== undefined && o.canonical !== undefined) throw new GuardError("--write and --canonical go in separate runs: write the file, or check it");
  const config = await loadConfig({ config: o.config });
  const url = o.url === undefined ? undefined : String(o.url);
  const { readFileSync, writeFileSync } = await import("node:fs");
  const [{ drift }, { renderCanonical }, { driftJson, driftTtyLines }] = await Promise.all([
    import("./drift/drift.js"),
    import("./drift/canonical.js"),
    import("./drift/report.js"),
  ]);
  let committed: string | undefined;
  if (o.canonical !== undefined) {
    try {
      committed = readFileSync(resolve(String(o.canonical)), "utf8");
    } catch (e: any) {
      throw new GuardError(`cannot read the canonical schema file: ${e.code ?? e.message}`, { file: String(o.canonical), hint: "write it with drizzle-guard drift --write FILE" });
    }
  }
  const r = await drift({ config, out: outDir(config, o.out), url });
  const target = url === undefined ? `the schema files (${[config.schema].flat().join(", ")})` : redactUrl(url);
  const text = renderCanonical(r.expected);
  let canonical: CanonicalStatus | null = null;
  let patch = "";
  if (o.write !== undefined) {
    writeFileSync(resolve(String(o.write)), text);
    canonical = { file: String(o.write), written: true, matches: true };
  } else if (committed !== undefined) {
    const file = String(o.canonical);
    canonical = { file, written: false, matches: committed === text };
    if (!canonical.matches) {
      const { createTwoFilesPatch } = await import("diff");
      patch = createTwoFilesPatch(file, "what the migrations produce", committed, text, "", "", { context: 2 });
    }
  }
  if (format === "json") print(driftJson(r, target, canonical));
  else {
    for (const line of driftTtyLines(r, target)) print(line);
    if (canonical?.written) print(`canonical schema written to ${canonical.file}`);
    else if (canonical?.matches) print(pc.green(`${canonical.file}: the migrations produce it`));
    else if (canonical) {
      print(pc.red(`${canonical.file}: the migrations no longer produce it (drizzle-guard drift --write ${canonical.file} to update it):`));
      printPatch(patch, print);
    }
  }
  return r.differences.length || (canonical && !canonical.matches) ? 1 : 0;
}
