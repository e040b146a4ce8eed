/** The command line: flags -> options -> the API. No logic of its own. */
import { setFlagsFromString } from "node:v8";
import { cac } from "cac";
import pc from "picocolors";
import { isGuardError } from "./errors.js";
import { redactUrl } from "./runner/driver.js";

const VERSION = "0.1.0";

/** Set once the reader of stdout went away (`drizzle-guard lint drizzle | head`): nothing more is written. */
let stdoutClosed = false;

function print(line = ""): void {
  if (!stdoutClosed) process.stdout.write(line + "\n");
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // The parser is WebAssembly (libpg-query). V8 compiles it with its baseline compiler (Liftoff) and
  // recompiles hot functions with its optimizing one in background threads, which a CLI run pays for
  // (CPU taken from the parse, and the exit waits for those threads) but is usually over before it
  // gains from: measured in bench/README.md. Set before the first command module loads the parser.
  setFlagsFromString("--liftoff-only");
  // A reader that stops early closes the pipe: stop writing instead of crashing with EPIPE, and let
  // the command finish (a migration half-way is not abandoned) with its own exit code.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
    stdoutClosed = true;
  });
  const cli = cac("drizzle-guard");

  cli
    .command("generate [...args]", "run drizzle-kit generate and rewrite the new migrations (other flags go to drizzle-kit)")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .allowUnknownOptions()
    .action(async () => {
      const { runGenerate } = await import("./commands.js");
      const rest = argv.slice(argv.indexOf("generate") + 1);
      const passthrough: string[] = [];
      let config: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--config") config = rest[++i];
        else if (rest[i].startsWith("--config=")) config = rest[i].slice("--config=".length);
        else passthrough.push(rest[i]);
      }
      process.exitCode = await runGenerate({ config, passthrough }, print);
    });

  cli
    .command("rewrite", "rewrite every migration of an existing folder (the one-off legacy cleanup)")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--dry-run", "print a diff and write nothing")
    .action(async (o) => {
      const { runRewrite } = await import("./commands.js");
      process.exitCode = await runRewrite({ config: o.config, out: o.out, dryRun: !!o.dryRun }, print);
    });

  cli
    .command("migrate", "apply pending migrations (CONCURRENTLY files statement by statement)")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--url <url>", "PostgreSQL connection string (default: config dbCredentials or DATABASE_URL)")
    .option("--pglite <dir>", "apply to a PGlite database in this folder (memory:// for a throwaway one)")
    .option("--dry-run", "list what would be applied")
    .option("--lock-timeout <duration>", "lock_timeout for each statement", { default: undefined })
    .option("--statement-timeout <duration>", "statement_timeout for transactional files")
    .option("--retries <n>", "retries after a lock timeout", { default: 5 })
    .option("--lock-wait <seconds>", "how long to wait for another runner", { default: 600 })
    .option("--allow-out-of-order", "apply migrations older than the newest applied one")
    .option("--phase <phase>", "expand: stop before the first contract-phase file")
    .option("--tenants <file>", "database per tenant: one connection string per line, or a JSON array of {name, url}")
    .option("--tenants-query <sql>", "database per tenant: a query run on --url returning a url column (and name)")
    .option("--schemas <pattern>", "schema per tenant in --url: a LIKE pattern (tenant_%) or a comma list")
    .option("--search-path <schemas>", "with --schemas: schemas searched after the tenant's own (e.g. extensions)")
    .option("--concurrency <n>", "tenants migrated at once (default 4)")
    .option("--canary <n>", "migrate this many tenants first; stop if any fails")
    .option("--continue-on-error", "keep starting tenants after one failed")
    .option("--report <file>", "write a JSON report: tenant, applied, skipped, duration, error")
    .action(async (o) => {
      const { runMigrate } = await import("./commands.js");
      process.exitCode = await runMigrate(o, print);
    });

  cli
    .command("status", "applied / pending / edited / out-of-order / blocked per migration")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--url <url>", "PostgreSQL connection string (default: config dbCredentials or DATABASE_URL)")
    .option("--pglite <dir>", "a PGlite database folder")
    .option("--tenants <file>", "every database listed (one connection string per line, or JSON [{name, url}])")
    .option("--tenants-query <sql>", "every database a query on --url returns (url, name)")
    .option("--schemas <pattern>", "every tenant schema in --url: a LIKE pattern or a comma list")
    .option("--search-path <schemas>", "with --schemas: schemas searched after the tenant's own")
    .option("--concurrency <n>", "tenants read at once (default 4)")
    .action(async (o) => {
      const { runStatus } = await import("./commands.js");
      process.exitCode = await runStatus(o, print);
    });

  cli
    .command("rollback", "apply down files newest first and remove their bookkeeping rows (destructive: --yes or a confirmation)")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--url <url>", "PostgreSQL connection string (default: config dbCredentials or DATABASE_URL)")
    .option("--pglite <dir>", "a PGlite database folder")
    .option("--steps <n>", "how many applied migrations to roll back (default 1)")
    .option("--to <tag>", "roll back every applied migration after this one")
    .option("--dry-run", "list what would be rolled back, with the IRREVERSIBLE steps")
    .option("--force", "run IRREVERSIBLE steps instead of stopping before them")
    .option("--yes", "do not ask for confirmation")
    .option("--lock-timeout <duration>", "lock_timeout for each statement")
    .option("--retries <n>", "retries after a lock timeout", { default: 5 })
    .option("--lock-wait <seconds>", "how long to wait for another runner", { default: 600 })
    .action(async (o) => {
      const { runRollback } = await import("./commands.js");
      process.exitCode = await runRollback(o, print);
    });

  cli
    .command("lint [...paths]", "lock level and risk per statement, forbidden operations, and the verdict")
    .option("--config <path>", "drizzle config file (for approvals; default: drizzle.config.ts)")
    .option("--format <format>", "tty, json, github (default on GitHub Actions) or sarif")
    .action(async (paths: string[], o) => {
      const { runLint } = await import("./lint/run.js");
      process.exitCode = await runLint({ paths, config: o.config, format: o.format }, print);
    });

  cli
    .command("check", "CI: every migration rewritten, names, journal/snapshots/files consistent, sum file, lint verdict")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--format <format>", "tty, json, github (default on GitHub Actions) or sarif")
    .action(async (o) => {
      const { runCheck } = await import("./commands.js");
      process.exitCode = await runCheck({ config: o.config, out: o.out, format: o.format }, print);
    });

  cli
    .command("drift", "compare what the migrations produce with the schema files (or --url: a live database, read only)")
    .option("--config <path>", "drizzle config file (default: drizzle.config.ts)")
    .option("--out <dir>", "migrations folder (default: out from the config)")
    .option("--url <url>", "compare with this database instead of the schema files (read only)")
    .option("--write <file>", "also write the canonical schema file the migrations produce")
    .option("--canonical <file>", "also fail when the migrations no longer produce this canonical schema file")
    .option("--format <format>", "tty or json (default tty)")
    .action(async (o) => {
      const { runDrift } = await import("./commands.js");
      process.exitCode = await runDrift({ config: o.config, out: o.out, url: o.url, write: o.write, canonical: o.canonical, format: o.format }, print);
    });

  cli.help();
  cli.version(VERSION);
  cli.parse(argv, { run: false });
  if (!cli.matchedCommand) {
    if (cli.args.length) {
      process.stderr.write(`drizzle-guard: unknown command ${cli.args[0]}\n`);
      process.exitCode = 2;
      return;
    }
    if (!cli.options.help && !cli.options.version) cli.outputHelp();
    return;
  }
  await cli.runMatchedCommand();
}

/** One place for errors: expected ones print one message (exit 2 or theirs), others the stack. */
export function handleError(e: unknown): void {
  if (isGuardError(e)) {
    process.stderr.write(pc.red("error: ") + redactUrl(e.format()) + "\n");
    process.exitCode = e.exitCode;
    return;
  }
  if (e instanceof Error && /Unknown option|missing required args|value is missing/i.test(e.message)) {
    process.stderr.write(pc.red("error: ") + e.message + "\n");
    process.exitCode = 2;
    return;
  }
  process.stderr.write(pc.red("internal error: ") + redactUrl(e instanceof Error ? (e.stack ?? e.message) : String(e)) + "\n");
  process.exitCode = 70;
}
