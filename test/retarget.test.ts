/**
 * Schema-per-tenant retargeting on drizzle-guard's real output (the example projects generated
 * with `drizzle-guard generate`), on hand-written edge cases, and applied on PGlite.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, readCatalog } from "../src/catalog/catalog.js";
import { loadConfig } from "../src/config.js";
import { isGuardError } from "../src/errors.js";
import { migrate } from "../src/runner/migrate.js";
import { openPglite, type Driver } from "../src/runner/driver.js";
import { planRetarget, retarget } from "../src/runner/retarget.js";
import { fanOut, tenantsStatus } from "../src/runner/tenants.js";
import { parsePlpgsqlBlock, parseSql } from "../src/sql/parse.js";
import { generateAll, makeProject, run } from "./helpers/project.js";

const STRANGE = 'x"; drop table y; --';
const DOLLARS = "a$$b$dg$c";

let shop: string;
let tenants: string;
let phases: string;

beforeAll(() => {
  shop = generateAll(makeProject("shop"));
  tenants = generateAll(makeProject("tenants"));
  phases = generateAll(makeProject("phases"), ["v1", "v2", "v3"]);
}, 180_000);

/** The migration files (down files are rollback's, which has no tenant flags). */
const sqlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql")).sort();

function plan(text: string, file = "t.sql") {
  const parsed = parseSql(text, file);
  return { parsed, sites: planRetarget(parsed) };
}

function to(text: string, schema: string): string {
  const { parsed, sites } = plan(text);
  return retarget(parsed, sites, schema);
}

function refusal(text: string): string {
  try {
    plan(text);
  } catch (e) {
    if (isGuardError(e)) return e.format().split("\n")[0];
    throw e;
  }
  throw new Error("not refused");
}

/** Every DO body of a file parses as PL/pgSQL, and the file has the same statements as before. */
function checkStructure(original: string, text: string): void {
  const a = parseSql(original);
  const b = parseSql(text);
  expect(b.statements.map((s) => s.kind)).toEqual(a.statements.map((s) => s.kind));
  for (const s of b.statements) if (s.kind === "DoStmt") parsePlpgsqlBlock(s.node.args[0].DefElem.arg.String.sval);
}

describe("retargeting the example projects' rewritten output", () => {
  it("the shop's public-only files retarget; its billing schema is refused at the exact place, before anything runs", () => {
    const refused: string[] = [];
    for (const f of sqlFiles(shop)) {
      const text = readFileSync(join(shop, f), "utf8");
      try {
        const { parsed, sites } = plan(text, f);
        checkStructure(text, retarget(parsed, sites, "tenant_a"));
      } catch (e) {
        if (!isGuardError(e)) throw e;
        refused.push(e.format().split("\n")[0].replace(/^\d{14}_/, ""));
      }
    }
    expect(refused).toEqual([
      "v2.sql:6:1: CREATE SCHEMA acts outside one tenant's schema: it cannot run once per tenant",
      "v3.sql:8:83: billing.invoices is in schema billing, outside the tenant's schema: every tenant would share it",
      "v4_contract.sql:6:13: billing.invoices is in schema billing, outside the tenant's schema: every tenant would share it",
      "v5.sql:7:23: billing.invoices is in schema billing, outside the tenant's schema: every tenant would share it",
      "v5_contract.sql:7:1: billing.invoices is in schema billing, outside the tenant's schema: every tenant would share it",
    ]);
  });

  it("a fan-out of the shop to schema tenants stops before connecting to anything", async () => {
    let connected = 0;
    const run = fanOut({ out: shop, tenants: [{ name: "a", schema: "a" }], connect: async () => (connected++, undefined as never) });
    await expect(run).rejects.toThrow("CREATE SCHEMA acts outside one tenant's schema");
    expect(connected).toBe(0);
  });

  it("the phases project's output is edited only where drizzle-kit wrote \"public\". (enum, FK target)", () => {
    const changed: string[] = [];
    for (const f of sqlFiles(phases)) {
      const text = readFileSync(join(phases, f), "utf8");
      const out = to(text, "t1");
      checkStructure(text, out);
      if (out !== text) changed.push(f.replace(/^\d{14}_/, ""));
    }
    expect(changed).toEqual(["v1.sql", "v2.sql", "v2_concurrent.sql"]);
  });

  it("every public reference of the tenants project (FKs in DO guards, enums, ADD VALUE, sequence, view) points at the tenant, and only those", () => {
    const changed: string[] = [];
    for (const f of sqlFiles(tenants)) {
      const text = readFileSync(join(tenants, f), "utf8");
      const out = to(text, STRANGE);
      checkStructure(text, out);
      const before = parseSql(text).statements.map((s) => s.text);
      const after = parseSql(out).statements.map((s) => s.text);
      after.forEach((s, i) => {
        if (s !== before[i]) changed.push(s.split("\n").find((l) => l.includes(`"x""; drop table y; --"`))!);
      });
    }
    const q = `"x""; drop table y; --"`;
    expect(changed).toEqual([
      `CREATE TYPE ${q}."role" AS ENUM('customer', 'admin');`,
      `ALTER TABLE "order_items" ADD CONSTRAINT "order_items_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES ${q}."orders"("id") ON DELETE no action ON UPDATE no action;`,
      `ALTER TABLE "order_items" ADD CONSTRAINT "order_items_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES ${q}."products"("id") ON DELETE no action ON UPDATE no action;`,
      `ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES ${q}."users"("id") ON DELETE cascade ON UPDATE no action;`,
      `CREATE TYPE ${q}."invoice_status" AS ENUM('draft', 'sent', 'paid');`,
      `CREATE SEQUENCE IF NOT EXISTS ${q}."invoice_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1`,
      `ALTER TABLE "invoices" ADD CONSTRAINT "invoices_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES ${q}."orders"("id") ON DELETE no action ON UPDATE no action;`,
      `ALTER TYPE ${q}."role" ADD VALUE IF NOT EXISTS 'support' AFTER 'admin'`,
      `CREATE VIEW ${q}."active_products" AS (select "id", "sku", "title" from "products" where "active");`,
      `ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES ${q}."users"("id") ON DELETE set null ON UPDATE no action;`,
      `DROP SEQUENCE IF EXISTS ${q}."invoice_number_seq"`,
      `DROP VIEW IF EXISTS ${q}."active_products"`,
      `DROP TYPE IF EXISTS ${q}."invoice_status"`,
    ]);
  });
});

describe("retarget edge cases", () => {
  it("names in catalog-check literals, regclass casts, identity sequence names, 3-part column refs", () => {
    expect(to(`SELECT to_regclass('"public"."orders"'), 'public.s'::regclass, to_regtype('"role"');`, "t'1")).toBe(
      `SELECT to_regclass('"t''1"."orders"'), '"t''1".s'::regclass, to_regtype('"role"');`,
    );
    expect(to(`CREATE TABLE "a" ("id" int GENERATED ALWAYS AS IDENTITY (sequence name "public"."a_id_seq"), "r" "public"."role"[] DEFAULT 'x'::"public"."role");`, "t")).toBe(
      `CREATE TABLE "a" ("id" int GENERATED ALWAYS AS IDENTITY (sequence name "t"."a_id_seq"), "r" "t"."role"[] DEFAULT 'x'::"t"."role");`,
    );
    expect(to(`SELECT public.orders.id FROM public.orders;`, "t")).toBe(`SELECT "t".orders.id FROM "t".orders;`);
    expect(to(`DROP POLICY "p" ON "public"."orders"; COMMENT ON COLUMN public.orders.id IS 'public.x';`, "t")).toBe(
      `DROP POLICY "p" ON "t"."orders"; COMMENT ON COLUMN "t".orders.id IS 'public.x';`,
    );
    // A policy TO public names the role PUBLIC, not the schema.
    expect(plan(`CREATE POLICY "p" ON "orders" AS PERMISSIVE FOR SELECT TO public USING (true);`).sites).toEqual([]);
  });

  it("non-ASCII text before a name: offsets stay right", () => {
    expect(to(`-- café 🚀 ünïcode\nALTER TABLE "ä" ADD CONSTRAINT "f" FOREIGN KEY ("x") REFERENCES "public"."ö"("id"); -- 🚀`, "tenänt")).toBe(
      `-- café 🚀 ünïcode\nALTER TABLE "ä" ADD CONSTRAINT "f" FOREIGN KEY ("x") REFERENCES "tenänt"."ö"("id"); -- 🚀`,
    );
  });

  it("DO bodies: embedded statements, IF conditions and constant EXECUTE are retargeted; a schema name holding the dollar tag gets another tag", () => {
    const text = `DO $$ BEGIN\nIF to_regclass('"public"."t"') IS NULL THEN\nCREATE TABLE "public"."t" ("id" int);\nEND IF;\nEXECUTE 'ALTER TABLE "public"."t" ADD COLUMN IF NOT EXISTS "v" text';\nEND $$;`;
    expect(to(text, "t1")).toBe(
      `DO $$ BEGIN\nIF to_regclass('"t1"."t"') IS NULL THEN\nCREATE TABLE "t1"."t" ("id" int);\nEND IF;\nEXECUTE 'ALTER TABLE "t1"."t" ADD COLUMN IF NOT EXISTS "v" text';\nEND $$;`,
    );
    const strange = to(text, DOLLARS);
    expect(strange).toBe(
      `DO $dg1$ BEGIN\nIF to_regclass('"a$$b$dg$c"."t"') IS NULL THEN\nCREATE TABLE "a$$b$dg$c"."t" ("id" int);\nEND IF;\nEXECUTE 'ALTER TABLE "a$$b$dg$c"."t" ADD COLUMN IF NOT EXISTS "v" text';\nEND $dg1$;`,
    );
    checkStructure(text, strange);
    // Declarations: a column's %TYPE, a row type, a type; INTO blanked out of the query by PL/pgSQL.
    expect(to(`DO $$\nDECLARE\n\ta "public"."t"."id"%TYPE;\n\tb public.t%ROWTYPE;\n\tc "public"."mood" := 'x';\nBEGIN\n\tSELECT min("id") INTO a FROM "public"."t";\nEND $$;`, "t")).toBe(
      `DO $$\nDECLARE\n\ta "t"."t"."id"%TYPE;\n\tb "t".t%ROWTYPE;\n\tc "t"."mood" := 'x';\nBEGIN\n\tSELECT min("id") INTO a FROM "t"."t";\nEND $$;`,
    );
    // A DO block inside a DO block.
    expect(to(`DO $a$ BEGIN EXECUTE 'DO $$ BEGIN CREATE TYPE public.e AS ENUM (''x''); END $$'; END $a$;`, "t")).toBe(
      `DO $a$ BEGIN EXECUTE 'DO $$ BEGIN CREATE TYPE "t".e AS ENUM (''x''); END $$'; END $a$;`,
    );
  });

  it("refuses what cannot run once per tenant, with its position", () => {
    expect(refusal(`SELECT 1;\nCREATE SCHEMA "billing";`)).toBe("t.sql:2:1: CREATE SCHEMA acts outside one tenant's schema: it cannot run once per tenant");
    expect(refusal(`CREATE EXTENSION IF NOT EXISTS pg_trgm;`)).toBe("t.sql:1:1: CREATE EXTENSION acts outside one tenant's schema: it cannot run once per tenant");
    expect(refusal(`SET search_path TO public;`)).toBe("t.sql:1:1: SET search_path acts outside one tenant's schema: it cannot run once per tenant");
    expect(refusal(`ALTER TABLE "t" SET SCHEMA "shared";`)).toBe("t.sql:1:1: SET SCHEMA shared acts outside one tenant's schema: it cannot run once per tenant");
    expect(refusal(`CREATE TABLE "t" ("id" int REFERENCES "shared"."u"("id"));`)).toBe(
      "t.sql:1:39: shared.u is in schema shared, outside the tenant's schema: every tenant would share it",
    );
    expect(refusal(`DO $$ BEGIN\nEXECUTE format('CREATE TABLE %I.t ()', 'public');\nEND $$;`)).toBe(
      "t.sql:2:9: EXECUTE of SQL built at run time: what it names cannot be retargeted",
    );
    expect(refusal(`DO $$ DECLARE c refcursor; BEGIN\nOPEN c FOR EXECUTE 'SELECT * FROM ' || 'public.t'; END $$;`)).toBe(
      "t.sql:2:20: EXECUTE of SQL built at run time: what it names cannot be retargeted",
    );
    expect(to(`DO $$ DECLARE c refcursor; BEGIN\nOPEN c FOR EXECUTE 'SELECT * FROM public.t'; END $$;`, "t")).toBe(
      `DO $$ DECLARE c refcursor; BEGIN\nOPEN c FOR EXECUTE 'SELECT * FROM "t".t'; END $$;`,
    );
    // The safety net: a public-qualified name in a node the walk does not read.
    expect(refusal(`ALTER TEXT SEARCH CONFIGURATION public.cfg ADD MAPPING FOR word WITH simple;`)).toBe(
      "t.sql:1:33: a name qualified with public that drizzle-guard cannot retarget",
    );
  });
});

/** The catalog of one schema with its name replaced by S, without the bookkeeping table. */
async function picture(driver: Driver, schema: string): Promise<string> {
  await driver.query(`SET search_path TO "${schema}"`);
  const catalog = await readCatalog(driver, { schemas: [schema] });
  for (const section of Object.values(catalog)) {
    if (Array.isArray(section)) continue;
    for (const k of Object.keys(section)) if (k.includes("__drizzle_migrations")) delete (section as Record<string, unknown>)[k];
  }
  catalog.schemas = [];
  // Keys and owners are "schema.name"; pg_get_indexdef qualifies the table always ("ON schema.t").
  return canonicalJson(catalog).split(`"${schema}.`).join(`"S.`).split(` ${schema}.`).join(" S.");
}

describe("schema tenants on PGlite", () => {
  it("migrates three schemas (one with a hostile name) from the tenants project, then a rerun applies nothing", async () => {
    const db = await openPglite();
    const shared: Driver = { ...db, close: async () => undefined };
    try {
      await db.query(`CREATE TABLE "y" ("id" int)`);
      const list = ["tenant_a", STRANGE, DOLLARS].map((s) => ({ name: s, schema: s }));
      const approvals = (await loadConfig({ cwd: dirname(tenants) })).guard.approve;
      const opts = { out: tenants, tenants: list, connect: async () => shared, concurrency: 1, approvals };
      const n = sqlFiles(tenants).length;
      const first = await fanOut(opts);
      expect(first.map((r) => [r.tenant, r.status, r.applied.length, r.skipped.length, r.error])).toEqual(list.map((t) => [t.name, "migrated", n, 0, undefined]));
      const tables = (await db.query(`select table_schema, table_name from information_schema.tables where table_schema <> 'pg_catalog' and table_schema <> 'information_schema' order by 1, 2`)).rows;
      const expected = ["__drizzle_migrations", "audit_log", "order_items", "orders", "products", "users"];
      for (const t of list) expect(tables.filter((r) => r.table_schema === t.schema).map((r) => r.table_name)).toEqual(expected);
      expect(tables.filter((r) => r.table_schema === "public").map((r) => r.table_name)).toEqual(["y"]);
      const fks = (await db.query(`select conrelid::regclass::text as t, confrelid::regclass::text as f from pg_constraint where contype = 'f' and connamespace = to_regnamespace($1) order by 1, 2`, [`"${STRANGE.replace(/"/g, '""')}"`])).rows;
      expect(fks.map((r) => r.f)).toEqual(["\"x\"\"; drop table y; --\".users", "\"x\"\"; drop table y; --\".orders", "\"x\"\"; drop table y; --\".products", "\"x\"\"; drop table y; --\".users"]);
      // Each tenant has exactly the schema a plain migrate builds in public (names read with search_path on it).
      const plain = await openPglite();
      try {
        await migrate({ driver: plain, out: tenants, approvals: opts.approvals });
        expect(await picture(db, "tenant_a")).toBe(await picture(plain, "public"));
      } finally {
        await plain.close();
      }
      const again = await fanOut(opts);
      expect(again.map((r) => [r.status, r.applied.length, r.skipped.length])).toEqual(list.map(() => ["migrated", 0, n]));
      const status = await tenantsStatus(opts);
      expect(status.map((s) => [s.tenant, s.counts, s.details])).toEqual(list.map((t) => [t.name, { applied: n }, []]));
    } finally {
      await db.close();
    }
  });

  it("search_path is the tenant alone unless --search-path adds schemas (e.g. where extensions live)", async () => {
    const out = mkdtempSync(join(tmpdir(), "dg-searchpath-"));
    mkdirSync(join(out, "meta"));
    const entry = { idx: 0, version: "7", when: 1795310211492, tag: "0000_t", breakpoints: true };
    writeFileSync(join(out, "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "postgresql", entries: [entry] }));
    writeFileSync(join(out, "0000_t.sql"), `CREATE TABLE IF NOT EXISTS "t" ("v" int DEFAULT ext_answer());\n`);
    const db = await openPglite();
    const shared: Driver = { ...db, close: async () => undefined };
    try {
      await db.query(`CREATE SCHEMA "ext"; CREATE FUNCTION "ext"."ext_answer"() RETURNS int LANGUAGE sql AS 'SELECT 42';`);
      const tenant = [{ name: "t1", schema: "t1" }];
      const alone = await fanOut({ out, tenants: tenant, connect: async () => shared });
      expect([alone[0].status, alone[0].error]).toEqual(["failed", "0000_t.sql:1:49: [42883] function ext_answer() does not exist\n  in: CREATE TABLE IF NOT EXISTS \"t\" (\"v\" int DEFAULT ext_answer())"]);
      const withExt = await fanOut({ out, tenants: tenant, connect: async () => shared, searchPath: ["ext"] });
      expect([withExt[0].status, withExt[0].applied]).toEqual(["migrated", ["0000_t"]]);
      expect((await db.query(`INSERT INTO "t1"."t" DEFAULT VALUES RETURNING "v"`)).rows).toEqual([{ v: 42 }]);
    } finally {
      await db.close();
    }
  });

  it("the phases project (NOT NULL path, USING INDEX, index replacement, batched backfills, a type change's sync trigger and swap) on schema tenants equals a plain migrate", async () => {
    const approvals = [{ rule: "ban-table-rewrite", target: "public.accounts.name", reason: "test" }];
    const backfill = sqlFiles(phases).find((f) => f.endsWith("_v2_backfill.sql"))!;
    const text = readFileSync(join(phases, backfill), "utf8");
    expect(to(text, STRANGE)).toBe(text); // unqualified names only: search_path does the work
    const db = await openPglite();
    const shared: Driver = { ...db, close: async () => undefined };
    const plain = await openPglite();
    try {
      const list = ["tenant_a", STRANGE].map((name) => ({ name, schema: name }));
      const r = await fanOut({ out: phases, tenants: list, connect: async () => shared, concurrency: 1, approvals });
      expect(r.map((x) => [x.status, x.error])).toEqual([["migrated", undefined], ["migrated", undefined]]);
      await migrate({ driver: plain, out: phases, approvals });
      expect(await picture(db, "tenant_a")).toBe(await picture(plain, "public"));
    } finally {
      await db.close();
      await plain.close();
    }
  });

  it("the CLI on a PGlite folder: tenants take turns on its one connection", () => {
    const dir = dirname(tenants);
    const r = run(dir, ["migrate", "--pglite", join(dir, "pglite-tenants"), "--schemas", "a,b", "--concurrency", "3"]);
    const n = sqlFiles(tenants).length;
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`migrating 2 tenant(s) schemas a,b in pglite ${join(dir, "pglite-tenants")}, concurrency 1`);
    expect(r.stdout).toContain(`2 tenant(s): 2 migrated, 0 failed, 0 not started; ${2 * n} migration(s) applied`);
    const s = run(dir, ["status", "--pglite", join(dir, "pglite-tenants"), "--schemas", "%"]);
    expect(s.stdout.split("\n").slice(1)).toEqual([
      "tenant  applied  pending  problems",
      `a       ${n}       0`,
      `b       ${n}       0`,
      `public  0        ${n}`,
      "3 tenant(s): 2 up to date, 1 with pending migrations, 0 with problems",
      "",
    ]);
  });
});
