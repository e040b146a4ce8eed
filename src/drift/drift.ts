/**
 * Drift detection. The migrations are the source of truth: applied to an empty PGlite the way
 * `drizzle-guard migrate` applies them (the config's approvals), they give the expected catalog.
 * It is compared with the database the schema files describe (drizzle-kit push into a second
 * PGlite) or with a live database, read in one read-only transaction. drizzle's bookkeeping table
 * and drizzle-guard's temporary helper objects of phased migrations are left out of both.
 */
import type { ResolvedConfig } from "../config.js";
import { GuardError } from "../errors.js";
import { diffCatalogs, readCatalog, type Catalog, type CatalogDifference, type ReadCatalogOptions } from "../catalog/catalog.js";
import type { PGlite } from "@electric-sql/pglite";
import { connectPg, newPglite, passwordOf, pgliteDriver, redactSecrets, type Driver } from "../runner/driver.js";

export interface DriftOptions {
  config: ResolvedConfig;
  /** The migrations folder (default: `out` from the config). */
  out?: string;
  /** Compare with this live database (read only) instead of the schema files. */
  url?: string;
}

export interface DriftResult {
  against: "schema" | "database";
  /** What the migrations give. */
  expected: Catalog;
  /** What the schema files give, or what the database has. */
  actual: Catalog;
  /** "added": only in `actual`; "missing": only in what the migrations give; "different": both, not equal. */
  differences: CatalogDifference[];
}

/** Both sides alike: without drizzle's bookkeeping and the phase helpers; only `schemaFilter` schemas when the config has one. */
function catalogOptions(config: ResolvedConfig): ReadCatalogOptions {
  return { schemas: config.schemaFilter, bookkeeping: { schema: config.migrationsSchema, table: config.migrationsTable }, withoutHelpers: true };
}

/** The catalog the migrations give on an empty database (`empty`: a fresh PGlite, default: a new one). */
export async function migrationsCatalog(config: ResolvedConfig, out = config.out, empty?: PGlite): Promise<Catalog> {
  const { migrate } = await import("../runner/migrate.js");
  const driver = pgliteDriver(empty ?? (await newPglite()));
  try {
    try {
      await migrate({
        driver,
        out,
        migrationsTable: config.migrationsTable,
        migrationsSchema: config.migrationsSchema,
        approvals: config.guard.approve,
        ruleLevels: config.guard.rules,
      });
    } catch (e) {
      if (!(e instanceof GuardError)) throw e;
      // A migration that does not apply is an error of the input, not drift.
      throw new GuardError(`the migrations do not apply to an empty database: ${e.message}`, {
        file: e.file,
        line: e.line,
        column: e.column,
        hint: e.hint,
        cause: e,
      });
    }
    return await readCatalog(driver, catalogOptions(config));
  } finally {
    await driver.close();
  }
}

/**
 * The catalog the schema files describe (drizzle-kit push into an empty PGlite: `empty`, default a new one;
 * `files`: the schema files, default those the config names).
 */
export async function schemaCatalog(config: ResolvedConfig, empty?: PGlite, files?: string[]): Promise<Catalog> {
  const { pushSchemaToPglite } = await import("./schema.js");
  const { driver } = await pushSchemaToPglite(config, empty, files);
  try {
    return await readCatalog(driver, catalogOptions(config));
  } finally {
    await driver.close();
  }
}

/** A live database's catalog, read in one read-only transaction (one snapshot; nothing can be written). */
export async function databaseCatalog(config: ResolvedConfig, url: string): Promise<Catalog> {
  const driver: Driver = await connectPg(url, { applicationName: "drizzle-guard drift" });
  const secret = passwordOf(url);
  try {
    await driver.query("begin transaction isolation level repeatable read read only");
    try {
      return await readCatalog(driver, catalogOptions(config));
    } finally {
      await driver.query("rollback").catch(() => undefined);
    }
  } catch (e: any) {
    if (e instanceof GuardError) throw e;
    throw new GuardError(`cannot read the catalog of the database: ${redactSecrets(String(e?.message ?? e), secret ? [secret] : [])}`);
  } finally {
    await driver.close();
  }
}

export async function drift(opts: DriftOptions): Promise<DriftResult> {
  if (opts.url !== undefined) {
    // The database first: a wrong URL fails before the migrations are applied.
    const actual = await databaseCatalog(opts.config, opts.url);
    const expected = await migrationsCatalog(opts.config, opts.out);
    return { against: "database", expected, actual, differences: diffCatalogs(expected, actual) };
  }
  const { schemaFiles } = await import("./schema.js");
  const files = schemaFiles(opts.config.cwd, opts.config.schema); // a wrong `schema` fails before the migrations are applied
  // Starting PGlite (initdb) is most of a run's time; a clone of a fresh one is about twice as quick.
  const empty = await newPglite();
  const twin = (await empty.clone()) as PGlite;
  let expected: Catalog;
  try {
    expected = await migrationsCatalog(opts.config, opts.out, empty);
  } catch (e) {
    await twin.close();
    throw e;
  }
  const actual = await schemaCatalog(opts.config, twin, files);
  return { against: "schema", expected, actual, differences: diffCatalogs(expected, actual) };
}
