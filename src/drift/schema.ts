/**
 * The database the drizzle schema describes: the schema files named by drizzle.config (`schema`)
 * are imported and pushed into an empty PGlite with drizzle-kit's programmatic API
 * (`drizzle-kit/api` pushSchema), the statements `drizzle-kit push` would run on an empty database.
 * drizzle-kit and drizzle-orm are the project's own (optional peer dependencies of drizzle-guard),
 * loaded from the project's folder and only by the drift command.
 */
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve, sep } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { importFile, resolveFromProject, type ResolvedConfig } from "../config.js";
import { GuardError } from "../errors.js";
import { newPglite, pgliteDriver, type Driver } from "../runner/driver.js";

const SOURCE = /\.(?:[cm]?ts|[cm]?js)$/;
const GLOB = /[*?[{]/;

/** `*`, `**`, `?`, `[...]` and `{a,b}`, as a regular expression over `/`-separated relative paths. */
function globRegExp(pattern: string): RegExp {
  let re = "";
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "{") (re += "(?:"), braces++;
    else if (c === "}" && braces) (re += ")"), braces--;
    else if (c === "," && braces) re += "|";
    else if (c === "[") {
      const end = pattern.indexOf("]", i);
      re += end > i ? pattern.slice(i, end + 1) : "\\[";
      i = end > i ? end : i;
    } else re += c.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

/** The files drizzle-kit reads for `schema`: paths or globs from cwd; a directory gives the files in it. */
export function schemaFiles(cwd: string, schema: string | string[] | undefined): string[] {
  const patterns = schema === undefined ? [] : Array.isArray(schema) ? schema : [schema];
  if (!patterns.length) throw new GuardError("the drizzle config has no `schema`: drift needs the schema files to compare with", { hint: `schema: "./src/db/schema.ts"` });
  const found = new Set<string>();
  for (const pattern of patterns) {
    let matches: string[];
    if (GLOB.test(pattern)) {
      const parts = pattern.split("/");
      const base = resolve(cwd, parts.slice(0, parts.findIndex((p) => GLOB.test(p))).join("/") || ".");
      const re = globRegExp(relative(cwd, resolve(cwd, pattern)).split(sep).join("/"));
      matches = walk(base).filter((p) => re.test(relative(cwd, p).split(sep).join("/")));
    } else {
      matches = [resolve(cwd, pattern)];
    }
    for (const m of matches) {
      const stat = statSync(m, { throwIfNoEntry: false });
      if (!stat) continue;
      const files = stat.isDirectory() ? readdirSync(m).map((f) => join(m, f)) : [m];
      for (const f of files) if (SOURCE.test(f) && !f.endsWith(".d.ts") && statSync(f).isFile()) found.add(f);
    }
  }
  if (!found.size) throw new GuardError(`no schema files found for schema ${JSON.stringify(schema)} (from ${cwd})`);
  return [...found].sort();
}

/** Every export of the schema files, once each (a table re-exported by an index file counts once). */
export async function loadSchemaExports(files: string[]): Promise<Record<string, unknown>> {
  const values = new Set<unknown>();
  for (const f of files) for (const v of Object.values((await importFile(f, { interopDefault: false })) ?? {})) values.add(v);
  return Object.fromEntries([...values].map((v, i) => [`export${i}`, v]));
}

function requireFromProject(cwd: string, id: string, pkg: string): any {
  return createRequire(join(cwd, "noop.js"))(resolveFromProject(cwd, id, pkg, `drift loads ${id} from it`));
}

/** drizzle-kit's push writes a progress line on stdout; drift's own output (--format json) must stay clean. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}

/**
 * A PGlite holding what the schema files describe. Returns the driver and the statements run.
 * drizzle-kit's pushSchema does not take `casing`; with `casing` in the config the statements are
 * drizzle-kit's generateMigration from an empty snapshot, which is what `generate` writes for it.
 */
export async function pushSchemaToPglite(
  config: ResolvedConfig,
  empty?: PGlite,
  files?: string[],
): Promise<{ driver: Driver; statements: string[] }> {
  const client = empty ?? (await newPglite());
  const driver = pgliteDriver(client);
  try {
    const api = requireFromProject(config.cwd, "drizzle-kit/api", "drizzle-kit");
    const { drizzle } = requireFromProject(config.cwd, "drizzle-orm/pglite", "drizzle-orm");
    const imports = await loadSchemaExports(files ?? schemaFiles(config.cwd, config.schema));
    const statements: string[] = await quietly(async () => {
      if (config.casing) {
        const cur = api.generateDrizzleJson(imports, undefined, config.schemaFilter, config.casing);
        return api.generateMigration(api.generateDrizzleJson({}), cur);
      }
      const db = drizzle({ client });
      return (await api.pushSchema(imports, db, config.schemaFilter, config.tablesFilter, config.extensionsFilters)).statementsToExecute;
    });
    for (const s of statements) {
      try {
        await driver.query(s);
      } catch (e: any) {
        throw new GuardError(`drizzle-kit's push of the schema failed on an empty database: ${e.message}\n  in: ${s.split("\n")[0]}`);
      }
    }
    return { driver, statements };
  } catch (e) {
    await driver.close();
    throw e;
  }
}
