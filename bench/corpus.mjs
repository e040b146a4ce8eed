// The benchmark corpus: a drizzle-kit 0.31 PostgreSQL migrations folder (journal, snapshots, .sql files) made by
// drizzle-kit itself. A seeded random walk changes a schema model migration after migration (tables created and
// dropped, columns added, dropped and altered, indexes, foreign keys, unique and check constraints, enums, schemas);
// each version is turned into drizzle-orm table objects, drizzle-kit's programmatic API (generateDrizzleJson /
// generateMigration) diffs it against the previous snapshot, and the files are written the way `drizzle-kit
// generate` writes them (statements joined with "--> statement-breakpoint\n", snapshot with `_meta`, journal entry).
//
// Deterministic from the seed: snapshot ids come from the seeded generator and journal times from a fixed clock.
// The walk never creates and drops tables (or adds and drops columns of one table) in the same migration: that is
// the case where drizzle-kit asks whether it was a rename, and a benchmark cannot answer prompts.
//
//   node bench/corpus.mjs [dir] [--files N] [--seed S]     writes the folder and prints its size
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const { generateDrizzleJson, generateMigration } = require("drizzle-kit/api");
const pg = require("drizzle-orm/pg-core");
const { sql } = require("drizzle-orm");

const BREAKPOINT = "--> statement-breakpoint\n";
const MAX_TABLES = 16;
const MAX_COLUMNS = 10;

/** mulberry32: a small seeded generator (same sequence on every machine). */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  const uuid = () => {
    const h = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16));
    h[12] = "4";
    h[16] = ((parseInt(h[16], 16) & 3) | 8).toString(16);
    const s = h.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };
  return { next, int, pick, uuid, chance: (p) => next() < p };
}

const NOUNS = ["account", "order", "invoice", "product", "customer", "shipment", "payment", "ticket", "session", "review", "coupon", "warehouse", "supplier", "category", "address", "refund", "subscription", "plan", "event", "audit", "message", "team", "project", "task", "comment", "tag", "device", "report", "export", "webhook"];
const FIELDS = ["name", "title", "email", "status", "note", "amount", "quantity", "price", "code", "slug", "description", "score", "priority", "currency", "country", "city", "phone", "source", "kind", "label", "version", "position", "weight", "color", "rating", "locale", "timezone", "reference", "external_id", "checksum"];
const TYPES = ["integer", "text", "varchar", "boolean", "timestamp", "timestamptz", "numeric", "jsonb", "uuid", "bigint", "date", "enum"];
const SCHEMAS = ["billing", "catalog", "crm", "ops"];
const ADJ = ["amazing", "brave", "calm", "daily", "eager", "fancy", "gentle", "happy", "icy", "jolly", "keen", "lucky", "mighty", "neat", "odd", "proud", "quick", "rapid", "shiny", "tidy"];
const HERO = ["thor", "storm", "wolverine", "hulk", "vision", "gamora", "rogue", "blade", "loki", "banshee", "cable", "domino", "havok", "nova", "sage", "toad"];

/** The schema model: plain data, turned into drizzle-orm objects for each migration. */
function newModel() {
  return { tables: [], enums: [], schemas: [], serial: 0 };
}

function columnBuilder(c, enums, schemas) {
  switch (c.type) {
    case "integer":
      return pg.integer(c.name);
    case "bigint":
      return pg.bigint(c.name, { mode: "number" });
    case "text":
      return pg.text(c.name);
    case "varchar":
      return pg.varchar(c.name, { length: c.length });
    case "boolean":
      return pg.boolean(c.name);
    case "timestamp":
      return pg.timestamp(c.name);
    case "timestamptz":
      return pg.timestamp(c.name, { withTimezone: true });
    case "numeric":
      return pg.numeric(c.name, { precision: 12, scale: 2 });
    case "jsonb":
      return pg.jsonb(c.name);
    case "uuid":
      return pg.uuid(c.name);
    case "date":
      return pg.date(c.name);
    case "enum":
      return enums.get(c.enumName)(c.name);
    default:
      throw new Error(`unknown type ${c.type}`);
  }
}

const DEFAULTS = {
  integer: () => 0,
  bigint: () => 0,
  text: () => "",
  varchar: () => "unknown",
  boolean: () => false,
  numeric: () => "0",
  jsonb: () => sql`'{}'::jsonb`,
  date: () => sql`CURRENT_DATE`,
};

/** drizzle-orm objects for the model: the `imports` generateDrizzleJson reads. */
function toDrizzle(model) {
  const out = {};
  const schemas = new Map();
  for (const s of model.schemas) out[`schema_${s}`] = schemas.set(s, pg.pgSchema(s)).get(s);
  const enums = new Map();
  for (const e of model.enums) {
    enums.set(e.name, e.schema ? schemas.get(e.schema).enum(e.name, e.values) : pg.pgEnum(e.name, e.values));
    out[`enum_${e.name}`] = enums.get(e.name);
  }
  const tables = new Map();
  for (const t of model.tables) {
    const cols = {};
    for (const c of t.columns) {
      let b;
      if (c.pk === "serial") b = pg.serial(c.name).primaryKey();
      else if (c.pk === "identity") b = pg.integer(c.name).primaryKey().generatedAlwaysAsIdentity();
      else {
        b = columnBuilder(c, enums, schemas);
        if (c.notNull) b = b.notNull();
        if (c.default === "now") b = b.defaultNow();
        else if (c.default === "random") b = b.defaultRandom();
        else if (c.default === "enum") b = b.default(model.enums.find((e) => e.name === c.enumName).values[0]);
        else if (c.default) b = b.default(DEFAULTS[c.type]());
        if (c.ref) {
          const ref = c.ref;
          b = b.references(() => tables.get(ref.table).id, { onDelete: ref.onDelete });
        }
      }
      cols[c.name] = b;
    }
    const extra = (x) => [
      ...t.indexes.map((i) => (i.unique ? pg.uniqueIndex(i.name) : pg.index(i.name)).on(...i.columns.map((c) => (i.lower ? sql`lower(${x[c]})` : x[c])))),
      ...t.uniques.map((u) => pg.unique(u.name).on(...u.columns.map((c) => x[c]))),
      ...t.checks.map((k) => pg.check(k.name, sql`${x[k.column]} >= 0`)),
    ];
    const table = t.schema ? schemas.get(t.schema).table(t.name, cols, extra) : pg.pgTable(t.name, cols, extra);
    tables.set(t.name, table);
    out[`table_${t.schema ?? "public"}_${t.name}`] = table;
  }
  return out;
}

/** One random change of the model; returns false when it did not apply. `touched` keeps a migration prompt-free. */
function change(model, r, touched) {
  const live = model.tables;
  const table = () => (live.length ? r.pick(live) : undefined);
  const freshName = (base) => `${base}_${++model.serial}`;
  const op = live.length < 4 ? "createTable" : r.pick(["createTable", "createTable", "addColumn", "addColumn", "addColumn", "addColumn", "addColumn", "dropColumn", "alterColumn", "alterColumn", "alterColumn", "addIndex", "addIndex", "addIndex", "dropIndex", "addForeignKey", "addForeignKey", "addUnique", "addCheck", "enum", "dropTable"]);
  if (op === "createTable" || (op === "dropTable" && live.length > MAX_TABLES)) {
    if (op === "dropTable" || live.length >= MAX_TABLES) {
      if (touched.created) return false;
      const victim = live.find((t) => !live.some((o) => o !== t && o.columns.some((c) => c.ref?.table === t.name)) && !touched.tables.has(t.name));
      if (!victim) return false;
      model.tables.splice(model.tables.indexOf(victim), 1);
      touched.dropped = true;
      return true;
    }
    if (touched.dropped) return false;
    if (r.chance(0.1) && model.schemas.length < SCHEMAS.length) model.schemas.push(SCHEMAS[model.schemas.length]);
    const schema = model.schemas.length && r.chance(0.3) ? r.pick(model.schemas) : undefined;
    const name = freshName(r.pick(NOUNS) + "s");
    // Integer ids: the foreign keys below are integer columns.
    const t = { name, schema, columns: [{ name: "id", pk: r.pick(["serial", "identity"]) }], indexes: [], uniques: [], checks: [] };
    for (let i = r.int(3, 10); i > 0; i--) addColumnTo(model, t, r, true);
    for (let i = r.int(0, 2); i > 0 && live.length; i--) {
      const target = r.pick(live);
      t.columns.push({ name: freshName(`${target.name.replace(/s_\d+$/, "")}_id`), type: "integer", notNull: r.chance(0.7), ref: { table: target.name, onDelete: r.pick(["cascade", "no action", "set null", "restrict"]) } });
    }
    for (let i = r.int(0, 3); i > 0; i--) addIndexTo(t, r, freshName);
    if (r.chance(0.3)) addUniqueTo(t, r, freshName);
    model.tables.push(t);
    touched.created = true;
    touched.tables.add(name);
    return true;
  }
  if (op === "dropTable") return false;
  const t = table();
  const key = (k) => `${k}:${t.name}`;
  // Tables stay small (snapshots stay a realistic size): a full table sometimes loses a column, otherwise the
  // walk picks another change.
  const full = t.columns.length >= MAX_COLUMNS && (op === "addColumn" || op === "addForeignKey");
  if (full && r.chance(0.7)) return false;
  switch (full ? "dropColumn" : op) {
    case "addColumn":
      if (touched.tables.has(key("drop"))) return false;
      addColumnTo(model, t, r, false);
      touched.tables.add(key("add"));
      return true;
    case "dropColumn": {
      if (touched.tables.has(key("add")) || touched.tables.has(t.name)) return false;
      const c = t.columns.find((x) => !x.pk && r.chance(0.5));
      if (!c) return false;
      t.columns.splice(t.columns.indexOf(c), 1);
      t.indexes = t.indexes.filter((i) => !i.columns.includes(c.name));
      t.uniques = t.uniques.filter((u) => !u.columns.includes(c.name));
      t.checks = t.checks.filter((k) => k.column !== c.name);
      touched.tables.add(key("drop"));
      return true;
    }
    case "alterColumn": {
      const c = r.pick(t.columns.filter((x) => !x.pk && !x.ref));
      if (!c) return false;
      const what = r.int(0, 3);
      if (what === 0 && c.type === "varchar") c.length = c.length === 255 ? 512 : 255;
      else if (what === 1) c.notNull = !c.notNull;
      else if (what === 2 && DEFAULTS[c.type] && !c.default) c.default = true;
      else if (what === 3 && c.default) c.default = undefined;
      else return false;
      return true;
    }
    case "addIndex":
      return addIndexTo(t, r, freshName);
    case "dropIndex":
      if (!t.indexes.length) return false;
      t.indexes.splice(r.int(0, t.indexes.length - 1), 1);
      return true;
    case "addForeignKey": {
      if (touched.tables.has(key("drop"))) return false;
      const target = r.pick(live.filter((x) => x !== t));
      if (!target) return false;
      t.columns.push({ name: freshName(`${target.name.replace(/s_\d+$/, "")}_id`), type: "integer", ref: { table: target.name, onDelete: r.pick(["cascade", "no action", "set null"]) } });
      touched.tables.add(key("add"));
      return true;
    }
    case "addUnique":
      return addUniqueTo(t, r, freshName);
    case "addCheck": {
      const c = t.columns.find((x) => ["integer", "numeric", "bigint"].includes(x.type) && !t.checks.some((k) => k.column === x.name));
      if (!c) return false;
      t.checks.push({ name: freshName(`${t.name}_${c.name}_check`), column: c.name });
      return true;
    }
    case "enum": {
      // A few enums that gain values now and then (a project does not grow an enum per migration).
      const e = model.enums.length >= 6 || (model.enums.length && r.chance(0.6)) ? r.pick(model.enums) : undefined;
      if (e && e.values.length >= 12) return false;
      if (e) e.values.push(freshName("state"));
      else model.enums.push({ name: freshName("status"), schema: model.schemas.length && r.chance(0.3) ? r.pick(model.schemas) : undefined, values: ["draft", "active", "archived"] });
      return true;
    }
  }
  return false;
}

function addColumnTo(model, t, r, creating) {
  let type = r.pick(TYPES);
  if (type === "enum" && !model.enums.length) type = "text";
  const c = { name: `${r.pick(FIELDS)}_${++model.serial}`, type };
  if (type === "varchar") c.length = r.pick([32, 64, 255]);
  if (type === "enum") {
    c.enumName = r.pick(model.enums).name;
    if (r.chance(0.5)) {
      c.notNull = true;
      c.default = "enum";
    }
  } else if (type === "timestamp" || type === "timestamptz") {
    if (r.chance(0.6)) {
      c.notNull = true;
      c.default = "now";
    }
  } else if (type === "uuid") {
    if (r.chance(0.4)) c.default = "random";
  } else if (r.chance(creating ? 0.5 : 0.3)) {
    c.notNull = r.chance(0.8);
    c.default = true;
  } else if (creating && r.chance(0.4)) c.notNull = true;
  t.columns.push(c);
}

function addIndexTo(t, r, freshName) {
  const cols = t.columns.filter((c) => !c.pk && c.type !== "jsonb");
  if (!cols.length) return false;
  const c = r.pick(cols);
  const second = r.chance(0.25) ? r.pick(cols.filter((x) => x !== c)) : undefined;
  const columns = second ? [c.name, second.name] : [c.name];
  const lower = !second && (c.type === "text" || c.type === "varchar") && r.chance(0.2);
  t.indexes.push({ name: freshName(`${t.name}_${columns.join("_")}_idx`), columns, unique: r.chance(0.2), lower });
  return true;
}

function addUniqueTo(t, r, freshName) {
  const cols = t.columns.filter((c) => !c.pk && ["text", "varchar", "uuid", "integer"].includes(c.type));
  if (!cols.length) return false;
  const c = r.pick(cols);
  t.uniques.push({ name: freshName(`${t.name}_${c.name}_unique`), columns: [c.name] });
  return true;
}

/** drizzle-kit's snapshot file: id and prevId first, `_meta` last (as `drizzle-kit generate` writes it). */
function snapshotJson(snapshot, id, prevId) {
  const { id: _id, prevId: _prev, ...rest } = snapshot;
  return JSON.stringify({ id, prevId, ...rest, _meta: { columns: {}, schemas: {}, tables: {} } }, null, 2);
}

/**
 * Writes the folder `out` (created; must not exist) with `files` migrations. Returns { files, statements, bytes }.
 * `statementsPerFile` is the average the walk aims at (each migration picks a size around it).
 */
export async function writeCorpus(out, { files = 2000, seed = 1, statementsPerFile = 22 } = {}) {
  const r = rng(seed);
  const model = newModel();
  mkdirSync(join(out, "meta"), { recursive: true });
  const journal = { version: "7", dialect: "postgresql", entries: [] };
  let prev = generateDrizzleJson({});
  prev = { ...prev, id: "00000000-0000-0000-0000-000000000000" };
  let statements = 0;
  let bytes = 0;
  const clock = Date.UTC(2025, 0, 1);
  for (let idx = 0; idx < files; idx++) {
    let sqlStatements = [];
    let cur;
    for (let attempt = 0; sqlStatements.length === 0; attempt++) {
      if (attempt > 20) throw new Error(`migration ${idx}: the walk found no change`);
      const target = Math.max(1, Math.round(statementsPerFile * (0.25 + 1.5 * r.next())));
      const touched = { tables: new Set(), created: false, dropped: false };
      // Table creations bring several statements each; other changes one or two.
      for (let budget = target; budget > 0; ) {
        const before = model.tables.length;
        if (change(model, r, touched)) budget -= model.tables.length > before ? 5 : 1.3;
        else budget -= 0.2;
      }
      const id = r.uuid();
      cur = { ...generateDrizzleJson(toDrizzle(model), prev.id), id, prevId: prev.id };
      sqlStatements = await generateMigration(prev, cur);
    }
    const tag = `${String(idx).padStart(4, "0")}_${r.pick(ADJ)}_${r.pick(HERO)}`;
    const text = sqlStatements.join(BREAKPOINT);
    writeFileSync(join(out, `${tag}.sql`), text);
    writeFileSync(join(out, "meta", `${String(idx).padStart(4, "0")}_snapshot.json`), snapshotJson(cur, cur.id, cur.prevId));
    journal.entries.push({ idx, version: "7", when: clock + idx * 3_600_000, tag, breakpoints: true });
    statements += sqlStatements.length;
    bytes += Buffer.byteLength(text);
    prev = cur;
  }
  writeFileSync(join(out, "meta", "_journal.json"), JSON.stringify(journal, null, 2));
  return { files, statements, bytes };
}

/**
 * The corpus for (files, seed) under the OS temp dir, generated once and reused while this generator and
 * drizzle-kit are unchanged (the directory name carries a hash of both). Returns { dir, files, statements, bytes }.
 */
export async function corpus({ files = 2000, seed = 1, log = () => {} } = {}) {
  // package.json is not exported: read it beside the resolved entry.
  const kit = JSON.parse(readFileSync(join(dirname(require.resolve("drizzle-kit")), "package.json"), "utf8")).version;
  const hash = createHash("sha256").update(readFileSync(new URL(import.meta.url))).update(kit).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `drizzle-guard-bench-${files}-${seed}-${hash}`);
  const done = join(dir, "corpus.json");
  if (existsSync(done)) return { dir: join(dir, "drizzle"), ...JSON.parse(readFileSync(done, "utf8")) };
  rmSync(dir, { recursive: true, force: true });
  log(`generating the corpus (${files} migrations, seed ${seed}, drizzle-kit ${kit}) in ${dir} ...`);
  const t0 = performance.now();
  const info = await writeCorpus(join(dir, "drizzle"), { files, seed });
  log(`  ${info.statements} statements, ${(info.bytes / 1e6).toFixed(1)} MB of SQL, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  writeFileSync(done, JSON.stringify({ ...info, drizzleKit: kit }));
  return { dir: join(dir, "drizzle"), ...info, drizzleKit: kit };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
  const dir = args[0] && !args[0].startsWith("--") ? args[0] : undefined;
  const files = opt("--files", 2000);
  const seed = opt("--seed", 1);
  if (dir) {
    if (existsSync(dir)) throw new Error(`${dir} exists`);
    console.log(await writeCorpus(dir, { files, seed }));
  } else console.log(await corpus({ files, seed, log: console.log }));
}
