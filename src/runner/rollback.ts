/**
 * Rollback: applies the down files of the newest applied migrations, newest first, and removes
 * their bookkeeping rows, with the runner's lock, transaction and retry rules (a transactional
 * down file and the removal of its row commit together). A down file with an `-- IRREVERSIBLE:`
 * step stops the rollback before it, unless `force`: nothing from that file on is run.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { downFile, irreversibleSteps } from "../down/down.js";
import { GuardError } from "../errors.js";
import { parseSql, type ParsedSql } from "../sql/parse.js";
import {
  advisoryKey,
  classify,
  loadMigrations,
  readApplied,
  runFile,
  tableSql,
  takeLock,
  type MigrateOptions,
} from "./migrate.js";

export interface RollbackOptions
  extends Pick<MigrateOptions, "driver" | "out" | "migrationsTable" | "migrationsSchema" | "lockTimeout" | "statementTimeout" | "retries" | "backoffMs" | "lockWaitMs" | "secrets" | "log"> {
  /** How many applied migrations to roll back, newest first (default 1). */
  steps?: number;
  /** Roll back every applied migration after this tag (the tag itself stays applied). */
  to?: string;
  /** Run IRREVERSIBLE steps instead of stopping before them. */
  force?: boolean;
  dryRun?: boolean;
  /** How a file of the folder is named in the log (default: relative to the folder). */
  shownPath?: (file: string) => string;
}

export interface RollbackStep {
  tag: string;
  when: number;
  file: string;
  parsed: ParsedSql;
  irreversible: Array<{ reason: string; line: number; column: number }>;
}

export interface RollbackResult {
  /** The down files to run, newest first. */
  plan: RollbackStep[];
  rolledBack: string[];
}

/** The applied migrations to roll back, newest first, with their down files read and parsed. */
async function planRollback(opts: RollbackOptions): Promise<RollbackStep[]> {
  if (opts.steps !== undefined && opts.to !== undefined) throw new GuardError("pass --steps or --to, not both");
  if (opts.steps !== undefined && !(Number.isInteger(opts.steps) && opts.steps >= 1)) {
    throw new GuardError(`--steps must be a whole number of at least 1 (got ${opts.steps})`);
  }
  const loaded = loadMigrations(opts.out);
  const entries = loaded.folder.journal.entries;
  const statuses = classify(loaded, (await readApplied(opts.driver, opts)) ?? []);
  const edited = statuses.filter((s) => s.state === "edited");
  if (edited.length) {
    throw new GuardError(edited.map((e) => e.detail).join("\n"), {
      file: `${edited[0].tag}.sql`,
      exitCode: 1,
      hint: "restore the applied file (git checkout): its down file is derived from it",
    });
  }
  const applied = statuses.filter((s) => s.state === "applied").reverse();
  let targets = applied.slice(0, opts.steps ?? 1);
  if (opts.to !== undefined) {
    const at = entries.findIndex((e) => e.tag === opts.to);
    if (at < 0) throw new GuardError(`no migration ${opts.to} in the journal`, { file: join("meta", "_journal.json") });
    const after = new Set(entries.slice(at + 1).map((e) => e.tag));
    targets = applied.filter((s) => after.has(s.tag));
  }
  return targets.map((s) => {
    const file = downFile(s.tag);
    const path = join(loaded.folder.dir, file);
    if (!existsSync(path)) {
      throw new GuardError(`${s.tag} has no down file ${file}`, { file, hint: "run drizzle-guard rewrite to write the down files, and commit them" });
    }
    const parsed = parseSql(readFileSync(path, "utf8"), file);
    return { tag: s.tag, when: s.when, file, parsed, irreversible: irreversibleSteps(parsed) };
  });
}

export async function rollback(opts: RollbackOptions): Promise<RollbackResult> {
  const log = opts.log ?? (() => undefined);
  const shown = opts.shownPath ?? ((file: string) => file);
  const driver = opts.driver;
  const schema = opts.migrationsSchema ?? "drizzle";
  const table = opts.migrationsTable ?? "__drizzle_migrations";
  if (opts.dryRun) {
    const plan = await planRollback(opts);
    for (const p of plan) {
      log(`would roll back ${p.tag}${p.parsed.nonTransactional ? " (no transaction)" : ""}`);
      for (const x of p.irreversible) log(`  ${shown(p.file)}:${x.line}:${x.column} IRREVERSIBLE: ${x.reason}`);
    }
    return { plan, rolledBack: [] };
  }
  const key = advisoryKey(schema, table);
  await takeLock(driver, key, `${schema}.${table}`, opts.lockWaitMs);
  const rolledBack: string[] = [];
  try {
    const plan = await planRollback(opts);
    for (const p of plan) {
      if (p.irreversible.length && !opts.force) {
        const x = p.irreversible[0];
        throw new GuardError(
          `IRREVERSIBLE: ${x.reason}\n  rollback stopped before ${p.tag}: nothing from it on was rolled back` +
            (rolledBack.length ? ` (rolled back before it: ${rolledBack.join(", ")})` : ""),
          { file: p.file, line: x.line, column: x.column, exitCode: 1, hint: "roll it back anyway with --force (the structure comes back, the data does not)" },
        );
      }
      log(`rolling back ${p.tag}${p.parsed.nonTransactional ? " (no transaction)" : ""}`);
      for (const x of p.irreversible) log(`  forced: ${shown(p.file)}:${x.line}:${x.column} IRREVERSIBLE: ${x.reason}`);
      await runFile(driver, p.parsed, `delete from ${tableSql(opts)} where created_at = ${p.when}`, {
        lockTimeout: opts.lockTimeout ?? "5s",
        statementTimeout: opts.statementTimeout ?? "0",
        retries: opts.retries ?? 5,
        backoff: opts.backoffMs ?? 500,
        log,
        secrets: opts.secrets ?? [],
      });
      rolledBack.push(p.tag);
    }
    return { plan, rolledBack };
  } finally {
    await driver.query(`select pg_advisory_unlock(${key})`).catch(() => undefined);
  }
}
