/**
 * Injection: tenant schema names holding quotes, semicolons, comment markers, dollar quotes, line
 * breaks and non-ASCII are always quoted identifiers. A property over the generated tenants project
 * (every file retargeted to random hostile names: the same statements, every qualified name the
 * tenant's, DO bodies valid PL/pgSQL, search_path one identifier each), and the CLI on PostgreSQL 15
 * migrating schemas with such names: each gets its tables, no other schema is touched.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planRetarget, retarget } from "../../src/runner/retarget.js";
import { quoteIdent } from "../../src/sql/names.js";
import { parsePlpgsqlBlock, parseSql } from "../../src/sql/parse.js";
import { createTestDb, PG_URL, type TestDb } from "../helpers/pg.js";
import { generateAll, makeProject, run } from "../helpers/project.js";
import { counted, SEED, trial } from "./trials.js";

const RUNS = 100;
const PIECES = ['"', "'", "''", ";", "--", "/*", "*/", "$$", "$dg$", "$", "\\", " ", "drop table y", "public", ".", "é", "🦆", "\n", "\t", "x"];
/** Hostile schema names of at most 63 bytes (PostgreSQL's identifier length; longer ones are cut to it). */
const NAME = fc
  .array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 10 })
  .map((p) => p.join(""))
  .filter((n) => Buffer.byteLength(n) <= 63 && n.trim() !== "");

/** Every `schemaname` of the parse tree (RangeVars) and the schema part of qualified type names. */
function schemasIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) schemasIn(x, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "schemaname" && typeof v === "string") out.push(v);
      else if (k === "TypeName" && Array.isArray((v as any).names) && (v as any).names.length === 2) out.push((v as any).names[0].String.sval);
      schemasIn(v, out);
    }
  }
  return out;
}

describe("hostile tenant schema names are always quoted identifiers", () => {
  let project: string;
  let files: Array<{ name: string; text: string }>;
  beforeAll(() => {
    project = makeProject("tenants");
    generateAll(project);
    const out = join(project, "drizzle");
    files = readdirSync(out)
      .filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql"))
      .sort()
      .map((f) => ({ name: f, text: readFileSync(join(out, f), "utf8") }));
    console.log(`injection trials: DRIZZLE_GUARD_SEED=${SEED}`);
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it(`every file of the tenants project retargeted to ${RUNS} random hostile names: same statements, every qualified name the tenant's`, () => {
    const plans = files.map((f) => {
      const parsed = parseSql(f.text, f.name);
      return { ...f, parsed, sites: planRetarget(parsed), kinds: parsed.statements.map((s) => s.kind) };
    });
    // The property can fail: some files do name "public" explicitly.
    expect(plans.some((p) => schemasIn(p.parsed.statements.map((s) => s.node)).includes("public"))).toBe(true);
    counted("injection", RUNS, () => {
      fc.assert(
        fc.property(NAME, (name) => {
          const set = parseSql(`SET search_path TO ${quoteIdent(name)}, ${quoteIdent("extensions")}`);
          expect(set.statements).toHaveLength(1);
          expect(set.statements[0].node.args.map((a: any) => a.A_Const.sval.sval)).toEqual([name, "extensions"]);
          for (const p of plans) {
            const out = parseSql(retarget(p.parsed, p.sites, name), p.name);
            expect(out.statements.map((s) => s.kind)).toEqual(p.kinds);
            for (const s of out.statements) {
              expect(schemasIn(s.node).filter((x) => x !== name && x !== "pg_catalog"), `${p.name}: ${s.text}`).toEqual([]);
              if (s.kind === "DoStmt") parsePlpgsqlBlock(s.node.args[0].DefElem.arg.String.sval);
            }
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });
  });

  describe.skipIf(!PG_URL)("on PostgreSQL 15", () => {
    let db: TestDb;
    beforeAll(async () => {
      db = await createTestDb("inject");
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("migrate and status --schemas with hostile names: each schema gets the tables, public and the rest untouched", async () => {
      await trial("injection", async () => {
        const names = ['a"b', "x'; drop schema public cascade; --", "/* c */ d", "$$e$dg$", "f\\g;h", "drop table y -- é🦆"];
        const tags = JSON.parse(readFileSync(join(project, "drizzle", "meta", "_journal.json"), "utf8")).entries.length;
        const m = run(project, ["migrate", "--url", db.url, "--schemas", names.join(",")]);
        expect(m.stdout).toContain(`${names.length} tenant(s): ${names.length} migrated, 0 failed, 0 not started; ${names.length * tags} migration(s) applied`);
        expect(m.status).toBe(0);
        const schemas = await db.query(`select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'`);
        expect(schemas.map((r) => r.nspname).sort()).toEqual(["public", ...names].sort());
        const tables = await db.query(`select schemaname, count(*)::int as n from pg_tables where schemaname <> 'pg_catalog' and schemaname <> 'information_schema' group by 1 order by 1`);
        const perTenant = tables.find((t) => t.schemaname === names[0])?.n;
        expect(perTenant).toBeGreaterThan(1);
        expect(tables.filter((t) => t.schemaname === "public")).toEqual([]);
        expect(tables.map((t) => [t.schemaname, t.n]).sort()).toEqual(names.map((n) => [n, perTenant]).sort());
        for (const n of names) {
          const rows = await db.query(`select count(*)::int as n from ${quoteIdent(n)}.__drizzle_migrations`);
          expect(rows[0].n).toBe(tags);
        }
        const s = run(project, ["status", "--url", db.url, "--schemas", names.join(",")]);
        expect(s.status).toBe(0);
        expect(s.stdout).toContain(`${names.length} tenant(s): ${names.length} up to date, 0 with pending migrations, 0 with problems`);
      });
    });
  });
});
