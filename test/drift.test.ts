/**
 * Drift detection through the CLI on the bundled examples: the rewritten output of every schema
 * version of examples/shop and examples/phases (phase files included) shows no drift against the
 * schema files; a migration edited by hand is caught; the canonical schema file is deterministic
 * and `--canonical` fails once the migrations change; on PostgreSQL 15 an index created by hand is
 * caught by `--url`, which writes nothing.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELPER_NAME, readCatalog } from "../src/catalog/catalog.js";
import { CANONICAL_HEADER, renderCanonical } from "../src/drift/canonical.js";
import { schemaFiles } from "../src/drift/schema.js";
import { GuardError } from "../src/errors.js";
import { connectPg, openPglite } from "../src/runner/driver.js";
import { migrate } from "../src/runner/migrate.js";
import { readFolder } from "../src/folder/folder.js";
import { applyFile } from "./helpers/apply.js";
import { createTestDb, PG_URL } from "./helpers/pg.js";
import phasesConfig from "../examples/phases/drizzle-guard.config.js";
import { drizzleKit, generateAll, makeProject, ROOT, run } from "./helpers/project.js";

let shop: string;
let phases: string;

beforeAll(() => {
  shop = makeProject("shop");
  generateAll(shop);
  phases = makeProject("phases");
  generateAll(phases, ["v1", "v2", "v3"]);
}, 300_000);

afterAll(() => {
  rmSync(shop, { recursive: true, force: true });
  rmSync(phases, { recursive: true, force: true });
});

/** A copy of the shop's migrations folder with one line of a migration file changed by hand. */
function editedCopy(name: string, tagSuffix: string, from: string, to: string): string {
  const edited = join(shop, name);
  cpSync(join(shop, "drizzle"), edited, { recursive: true });
  const file = readdirSync(edited).find((f) => f.endsWith(`_${tagSuffix}.sql`))!;
  const text = readFileSync(join(edited, file), "utf8");
  expect(text).toContain(from);
  writeFileSync(join(edited, file), text.replace(from, to));
  return name;
}

const HEADER = "drift: the migrations vs the schema files (./schema.ts)";

describe("drift: the migrations vs the schema files (PGlite)", () => {
  it("no false drift on the rewritten shop migrations; --write gives the same bytes twice", () => {
    const first = run(shop, ["drift", "--write", "schema-1.sql"]);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(`${HEADER}\nno drift: the schema files match what the migrations produce\ncanonical schema written to schema-1.sql\n`);
    expect(first.status).toBe(0);
    const second = run(shop, ["drift", "--write", "schema-2.sql"]);
    expect(second.status).toBe(0);
    const canonical = readFileSync(join(shop, "schema-1.sql"), "utf8");
    expect(readFileSync(join(shop, "schema-2.sql"), "utf8")).toBe(canonical);

    const lines = canonical.split("\n");
    // What v5 has, as PostgreSQL prints it, one line per object or column.
    for (const line of [
      "schema public",
      "table public.users",
      "  column created_at timestamp with time zone not null default now()",
      "  column id integer not null generated always as identity",
      "  column role role not null default 'customer'::role",
      "index public.users_email_lower_idx: CREATE UNIQUE INDEX users_email_lower_idx ON public.users USING btree (lower((email)::text))",
      "constraint public.products.products_price_positive (check): CHECK (price_cents > 0)",
      "constraint public.order_items.order_items_order_id_product_id_pk (primary key): PRIMARY KEY (order_id, product_id)",
      "enum public.role: 'customer', 'admin', 'support'",
    ]) {
      expect(lines, line).toContain(line);
    }
    // No bookkeeping, no helpers, nothing v5 removed (the billing schema), no machine paths.
    expect(canonical.startsWith(CANONICAL_HEADER + "\nschema public\n\ntable public.audit_log\n")).toBe(true);
    expect(canonical.slice(CANONICAL_HEADER.length)).not.toMatch(/drizzle|_dg_|billing|\/tmp|dg-project/);
    // Sorted: tables, then indexes, in name order.
    const tables = lines.filter((l) => l.startsWith("table "));
    expect(tables).toEqual([...tables].sort());
    expect(tables).toEqual(["table public.audit_log", "table public.order_items", "table public.orders", "table public.products", "table public.users"]);
  });

  it("--canonical passes while the migrations produce the file; --format json", () => {
    const r = run(shop, ["drift", "--canonical", "schema-1.sql", "--format", "json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      drift: false,
      against: "schema",
      target: "the schema files (./schema.ts)",
      differences: [],
      canonical: { file: "schema-1.sql", written: false, matches: true },
    });
  });

  it("no false drift on the phased files of examples/phases (expand, concurrent, backfill, validate, contract; a type change through its sync column)", () => {
    const tags = readdirSync(join(phases, "drizzle")).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql"));
    expect(tags.map((f) => f.replace(/^\d{14}_/, "")).sort()).toEqual(
      ["v1", "v2", "v2_backfill", "v2_concurrent", "v2_contract", "v2_validate", "v3", "v3_backfill", "v3_contract", "v3_validate"].map((t) => `${t}.sql`),
    );
    const r = run(phases, ["drift"]);
    expect(r.stdout).toBe(`${HEADER}\nno drift: the schema files match what the migrations produce\n`);
    expect(r.status).toBe(0);
  });

  it("a migration edited by hand (a different default) is drift: exit 1, the column named", () => {
    const out = editedCopy("edited", "v1", `"role" "role" DEFAULT 'customer' NOT NULL`, `"role" "role" DEFAULT 'admin' NOT NULL`);
    const r = run(shop, ["drift", "--out", out]);
    expect(r.stdout).toBe(
      [
        HEADER,
        "  - only in what the migrations produce, + only in the schema files",
        "~ table public.users",
        "  -   column role role not null default 'admin'::role",
        "  +   column role role not null default 'customer'::role",
        "DRIFT: 1 difference(s): 0 added, 0 missing, 1 different in the schema files",
        "",
      ].join("\n"),
    );
    expect(r.status).toBe(1);
  });

  it("--canonical fails once the migrations no longer produce the file (json: the difference and the file)", () => {
    const r = run(shop, ["drift", "--out", "edited", "--canonical", "schema-1.sql", "--format", "json"]);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.drift).toBe(true);
    expect(j.canonical).toEqual({ file: "schema-1.sql", written: false, matches: false });
    expect(j.differences).toHaveLength(1);
    const [d] = j.differences;
    expect([d.section, d.name, d.change]).toEqual(["tables", "public.users", "different"]);
    expect(d.expected.columns.role).toEqual({ type: "role", notNull: true, default: "'admin'::role", identity: null, generated: null });
    expect(d.actual.columns.role).toEqual({ type: "role", notNull: true, default: "'customer'::role", identity: null, generated: null });
    expect(d.lines).toEqual([
      "~ table public.users",
      "  -   column role role not null default 'admin'::role",
      "  +   column role role not null default 'customer'::role",
    ]);
    // The tty report shows the file's diff.
    const tty = run(shop, ["drift", "--out", "edited", "--canonical", "schema-1.sql"]);
    expect(tty.status).toBe(1);
    expect(tty.stdout).toContain("schema-1.sql: the migrations no longer produce it");
    expect(tty.stdout).toContain("\n-  column role role not null default 'customer'::role\n+  column role role not null default 'admin'::role\n");
  });

  it("bad input is exit 2 with one clear message", () => {
    const bad = (args: string[], message: string | RegExp) => {
      const r = run(shop, ["drift", ...args]);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain("internal error");
      expect(r.status).toBe(2);
      return r;
    };
    bad(["--format", "xml"], /--format must be tty or json/);
    bad(["--write", "a.sql", "--canonical", "b.sql"], /--write and --canonical go in separate runs/);
    bad(["--canonical", "missing.sql"], /missing\.sql: cannot read the canonical schema file: ENOENT/);
    bad(["--out", "nowhere"], /no drizzle migrations folder/);
    const refused = bad(["--url", "postgres://someone:sekret-pw@127.0.0.1:1/x"], /^error: cannot connect to postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/x/);
    expect(refused.stderr).not.toContain("sekret");
    // A migration that does not apply: an error of the input (with its file:line:col), not drift.
    bad(["--out", editedCopy("broken", "v1", `CREATE TABLE IF NOT EXISTS "orders" (`, `CREATE TABLE IF NOT EXISTS "orders" ((`)], /_v1\.sql:\d+:\d+: the migrations do not apply to an empty database: /);
  });
});

describe("drift with `casing` in the drizzle config", () => {
  it("pushes the schema with that casing: camelCase keys are snake_case columns on both sides", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-casing-"));
    try {
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
      writeFileSync(
        join(dir, "drizzle.config.ts"),
        `export default { dialect: "postgresql", schema: "./schema.ts", out: "./drizzle", casing: "snake_case" };\n`,
      );
      writeFileSync(
        join(dir, "schema.ts"),
        `import { index, integer, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";\n` +
          `export const accounts = pgTable("accounts", { id: serial().primaryKey(), displayName: text().notNull(), createdAt: timestamp().defaultNow(), ownerId: integer() }, (t) => [index().on(t.ownerId)]);\n`,
      );
      const g = run(dir, ["generate", "--name", "init"]);
      expect(g.status, g.stdout + g.stderr).toBe(0);
      const r = run(dir, ["drift", "--write", "schema.sql"]);
      expect(r.stdout).toContain("no drift");
      expect(r.status).toBe(0);
      const canonical = readFileSync(join(dir, "schema.sql"), "utf8");
      expect(canonical).toContain("  column display_name text not null\n");
      expect(canonical).toContain("index public.accounts_owner_id_index: CREATE INDEX accounts_owner_id_index ON public.accounts USING btree (owner_id)\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("which files the drizzle config's `schema` names", () => {
  it("paths, directories (their files) and globs, from the project folder, the way drizzle-kit reads them", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-schema-files-"));
    try {
      for (const f of ["src/db/a.ts", "src/db/b.ts", "src/db/types.d.ts", "src/db/readme.md", "src/db/nested/c.ts", "other/d.mts"]) {
        mkdirSync(join(dir, f, ".."), { recursive: true });
        writeFileSync(join(dir, f), "");
      }
      const rel = (paths: string[]) => paths.map((p) => p.slice(dir.length + 1));
      expect(rel(schemaFiles(dir, "./src/db/a.ts"))).toEqual(["src/db/a.ts"]);
      expect(rel(schemaFiles(dir, "./src/db"))).toEqual(["src/db/a.ts", "src/db/b.ts"]);
      expect(rel(schemaFiles(dir, "./src/db/*.ts"))).toEqual(["src/db/a.ts", "src/db/b.ts"]);
      expect(rel(schemaFiles(dir, "src/**/*.ts"))).toEqual(["src/db/a.ts", "src/db/b.ts", "src/db/nested/c.ts"]);
      expect(rel(schemaFiles(dir, ["./other/*.{ts,mts}", "./src/db/b.ts"]))).toEqual(["other/d.mts", "src/db/b.ts"]);
      expect(() => schemaFiles(dir, "./src/schema.ts")).toThrow(GuardError);
      expect(() => schemaFiles(dir, undefined)).toThrow(/no `schema`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the canonical schema file", () => {
  it("renders every section as PostgreSQL prints it, one line per object or column, in name order", async () => {
    const db = await openPglite();
    try {
      await db.query(`
        create schema app;
        create type app.mood as enum ('sad', 'ok', 'it''s fine');
        create sequence app.counter as integer start 10 increment 5 maxvalue 1000 cycle;
        create table app.t (id int generated by default as identity primary key, a int not null default 1, b int generated always as (a * 2) stored, m app.mood);
        alter table app.t enable row level security;
        create policy p on app.t as restrictive for select to public using (a > 0);
        create policy q on app.t for insert with check (a < 100);
        create view app.v as select id, a from app.t where a > 1;
        create materialized view app.mv as select count(*) as n from app.t;
        alter table app.t add constraint t_a_positive check (a > 0) not valid;
        create index t_a_idx on app.t (a) where a > 5;
        create function app.touch() returns trigger language plpgsql as $$
        begin
          new.a := new.a + 1;
          return new;
        end $$;
        create trigger t_touch before update on app.t for each row execute function app.touch();
        alter table app.t disable trigger t_touch;`);
      expect(renderCanonical(await readCatalog(db))).toBe(
        CANONICAL_HEADER +
          `
schema app
schema public

table app.t
  column a integer not null default 1
  column b integer generated always as ((a * 2)) stored
  column id integer not null generated by default as identity
  column m app.mood
  row level security

index app.t_a_idx: CREATE INDEX t_a_idx ON app.t USING btree (a) WHERE (a > 5)
index app.t_pkey: CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)

constraint app.t.t_a_positive (check): CHECK (a > 0) NOT VALID
constraint app.t.t_pkey (primary key): PRIMARY KEY (id)

enum app.mood: 'sad', 'ok', 'it''s fine'

sequence app.counter: integer start 10 increment 5 min 1 max 1000 cache 1 cycle
sequence app.t_id_seq: integer start 1 increment 1 min 1 max 2147483647 cache 1 owned by app.t.id

materialized view app.mv:
   SELECT count(*) AS n
     FROM app.t;
view app.v:
   SELECT id,
      a
     FROM app.t
    WHERE a > 1;

policy app.t.p: restrictive for select to public using ((a > 0))
policy app.t.q: permissive for insert to public with check ((a < 100))

trigger app.t.t_touch: CREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch() (DISABLED)

function app.touch() returns trigger language plpgsql:
          begin
            new.a := new.a + 1;
            return new;
          end
`,
      );
    } finally {
      await db.close();
    }
  });
});

describe("the catalog drift compares leaves out bookkeeping and phase helpers", () => {
  it("a database stopped after the validate phase has the NOT NULL helper; drift's catalog does not", async () => {
    const db = await openPglite();
    try {
      await migrate({ driver: db, out: join(phases, "drizzle"), phase: "expand" });
      const everything = await readCatalog(db, { exclude: [] });
      expect(Object.keys(everything.constraints)).toContain("public.accounts.accounts_email_dg_not_null");
      expect(everything.schemas).toEqual(["drizzle", "public"]);
      expect(Object.keys(everything.tables)).toContain("drizzle.__drizzle_migrations");
      const drift = await readCatalog(db, { bookkeeping: { schema: "drizzle", table: "__drizzle_migrations" }, withoutHelpers: true });
      expect(Object.keys(drift.constraints).filter((k) => k.includes("_dg_"))).toEqual([]);
      expect(drift.schemas).toEqual(["public"]);
      expect(Object.keys(drift.tables)).toEqual(["public.accounts", "public.sessions"]);
      expect(Object.keys(drift.sequences).filter((k) => k.includes("drizzle"))).toEqual([]);
      // Only those: everything else is the same.
      expect(Object.keys(everything.constraints).filter((k) => !k.includes("_dg_") && !k.startsWith("drizzle."))).toEqual(Object.keys(drift.constraints));
    } finally {
      await db.close();
    }
  });

  it("a database stopped before the contract of a type change has the sync column, trigger and function; drift's catalog does not", async () => {
    const db = await openPglite();
    try {
      const out = join(phases, "drizzle");
      await migrate({ driver: db, out, approvals: phasesConfig.approve, phase: "expand" });
      // v2's contract, then v3 up to its contract file (score: integer -> bigint through expand/contract).
      const tags = readFolder(out).journal.entries.map((e) => e.tag);
      for (const tag of tags.slice(tags.findIndex((t) => t.endsWith("_v2_contract")), tags.findIndex((t) => t.endsWith("_v3_contract")))) {
        await applyFile(db, readFileSync(join(out, `${tag}.sql`), "utf8"), `${tag}.sql`);
      }
      const everything = await readCatalog(db);
      expect(Object.keys(everything.tables["public.accounts"].columns)).toContain("score_dg_new");
      expect(Object.keys(everything.triggers)).toEqual(["public.accounts.accounts_score_dg_sync"]);
      expect(Object.keys(everything.functions)).toEqual(["public.accounts_score_dg_sync()"]);
      const drift = await readCatalog(db, { withoutHelpers: true });
      expect(Object.keys(drift.tables["public.accounts"].columns).filter((c) => c.includes("_dg_"))).toEqual([]);
      expect([drift.triggers, drift.functions]).toEqual([{}, {}]);
      // Only the names drizzle-guard derives are helpers, not any name with "_dg_" in it.
      expect(["a_dg_new", "a_dg_not_null", "a_b_dg_sync", "a_dg_newer", "a_dg_x", "a_dg_"].map((n) => HELPER_NAME.test(n))).toEqual([true, true, true, false, false, false]);
    } finally {
      await db.close();
    }
  });
});

describe("the bookkeeping table where the config puts it", () => {
  it("migrations.schema = public: the table and its sequence are left out, the public schema stays", async () => {
    const [a, b] = [await openPglite(), await openPglite()];
    try {
      const out = join(phases, "drizzle");
      await migrate({ driver: a, out, approvals: phasesConfig.approve, migrationsSchema: "public", migrationsTable: "migrations_log" });
      await migrate({ driver: b, out, approvals: phasesConfig.approve });
      expect(Object.keys((await readCatalog(a)).tables)).toEqual(["public.accounts", "public.migrations_log", "public.sessions"]);
      const inPublic = await readCatalog(a, { bookkeeping: { schema: "public", table: "migrations_log" }, withoutHelpers: true });
      const inDrizzle = await readCatalog(b, { bookkeeping: { schema: "drizzle", table: "__drizzle_migrations" }, withoutHelpers: true });
      expect(inPublic).toEqual(inDrizzle);
      expect(inPublic.schemas).toEqual(["public"]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("drift --url: a live PostgreSQL 15 database vs the migrations", () => {
  it.skipIf(!PG_URL)("no drift after migrate; an index created by hand is named; nothing is written", async () => {
    const live = await createTestDb("drift");
    const pushed = await createTestDb("driftpush");
    try {
      // A password in the URL (the test server trusts local connections) must never be printed.
      const url = new URL(live.url);
      url.password = "sekret-pw";
      const m = run(shop, ["migrate", "--url", url.toString()]);
      expect(m.status, m.stderr).toBe(0);
      const clean = run(shop, ["drift", "--url", url.toString()]);
      expect(clean.stdout).toBe(`drift: the migrations vs ${url.toString().replace("sekret-pw", "***")}\nno drift: the database matches what the migrations produce\n`);
      expect(clean.status).toBe(0);

      await live.query(`CREATE INDEX orders_note_idx ON orders (note)`);
      // Another tool's schema in the same database.
      await live.query(`CREATE SCHEMA jobs; CREATE TABLE jobs.queue (id bigint PRIMARY KEY)`);
      // From here on the database refuses writes: drift must not need any.
      await live.query(`ALTER DATABASE "${live.name}" SET default_transaction_read_only = on`);
      const before = await catalogOf(live.url);
      const r = run(shop, ["drift", "--url", url.toString()]);
      expect(r.stdout).toBe(
        [
          `drift: the migrations vs ${url.toString().replace("sekret-pw", "***")}`,
          "  - only in what the migrations produce, + only in the database",
          "+ schema jobs",
          "+ table jobs.queue",
          "+   column id bigint not null",
          "+ index jobs.queue_pkey: CREATE UNIQUE INDEX queue_pkey ON jobs.queue USING btree (id)",
          "+ index public.orders_note_idx: CREATE INDEX orders_note_idx ON public.orders USING btree (note)",
          "+ constraint jobs.queue.queue_pkey (primary key): PRIMARY KEY (id)",
          "DRIFT: 5 difference(s): 5 added, 0 missing, 0 different in the database",
          "",
        ].join("\n"),
      );
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).not.toContain("sekret");
      // schemaFilter in the drizzle config: only the public schema is compared.
      writeFileSync(join(shop, "drizzle.public.config.ts"), readFileSync(join(shop, "drizzle.config.ts"), "utf8").replace(`out: "./drizzle",`, `out: "./drizzle",\n  schemaFilter: ["public"],`));
      const json = JSON.parse(run(shop, ["drift", "--url", live.url, "--format", "json", "--config", "drizzle.public.config.ts"]).stdout);
      expect(json.differences.map((d: any) => [d.section, d.name, d.change, d.actual?.table])).toEqual([["indexes", "public.orders_note_idx", "added", "public.orders"]]);
      expect(await catalogOf(live.url)).toEqual(before);

      // A database built by drizzle-kit push has no bookkeeping schema; drift --url must not create one.
      const p = drizzleKit(shop, ["push", "--force", "--dialect", "postgresql", "--schema", "./schema.ts", "--url", pushed.url]);
      expect(p.status, p.stderr).toBe(0);
      await pushed.query(`ALTER DATABASE "${pushed.name}" SET default_transaction_read_only = on`);
      const fromPush = run(shop, ["drift", "--url", pushed.url]);
      expect(fromPush.stdout).toContain("no drift: the database matches what the migrations produce");
      expect(fromPush.status).toBe(0);
      expect(await pushed.query(`select nspname from pg_namespace where nspname = 'drizzle'`)).toEqual([]);
    } finally {
      await live.drop();
      await pushed.drop();
    }
  });
});

async function catalogOf(url: string) {
  const d = await connectPg(url);
  try {
    return await readCatalog(d, { exclude: [] });
  } finally {
    await d.close();
  }
}
