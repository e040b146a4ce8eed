/**
 * A normalized picture of a database's schema, read from pg_catalog: what drift detection compares
 * and what the tests use to say "these two databases have the same schema". Keys are sorted and
 * values are what PostgreSQL itself prints (format_type, pg_get_expr, pg_get_indexdef,
 * pg_get_constraintdef), so the same schema gives the same JSON on PostgreSQL 15 and on PGlite.
 *
 * Column position is not part of a table's picture: an expand/contract type change re-adds a column
 * at the end, and nothing a migration can do reorders columns.
 */
import type { Driver } from "../runner/driver.js";

export interface ColumnInfo {
  type: string;
  notNull: boolean;
  default: string | null;
  /** "always" | "by default" for identity columns. */
  identity: string | null;
  /** The expression of a stored generated column. */
  generated: string | null;
}

export interface TableInfo {
  columns: Record<string, ColumnInfo>;
  rowLevelSecurity: boolean;
}

export interface IndexInfo {
  table: string;
  definition: string;
  valid: boolean;
}

export interface ConstraintInfo {
  table: string;
  /** p, u, f, c, x (pg_constraint.contype). */
  type: string;
  definition: string;
  validated: boolean;
}

export interface SequenceInfo {
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  /** "schema.table.column" of an owning column (serial / identity), or null. */
  ownedBy: string | null;
}

export interface ViewInfo {
  materialized: boolean;
  definition: string;
}

export interface PolicyInfo {
  table: string;
  command: string;
  permissive: boolean;
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

export interface TriggerInfo {
  table: string;
  /** pg_get_triggerdef: timing, events, function. */
  definition: string;
  enabled: boolean;
}

export interface FunctionInfo {
  /** "function" | "procedure" | "aggregate" | "window". */
  kind: string;
  result: string | null;
  language: string;
  /** The body as written (prosrc). */
  source: string;
}

export interface Catalog {
  schemas: string[];
  tables: Record<string, TableInfo>;
  indexes: Record<string, IndexInfo>;
  constraints: Record<string, ConstraintInfo>;
  enums: Record<string, string[]>;
  sequences: Record<string, SequenceInfo>;
  views: Record<string, ViewInfo>;
  policies: Record<string, PolicyInfo>;
  /** `schema.table.trigger`: user triggers (not the internal ones behind foreign keys). */
  triggers: Record<string, TriggerInfo>;
  /** `schema.name(argument types)`: functions and procedures, but for those of extensions. */
  functions: Record<string, FunctionInfo>;
}

export interface ReadCatalogOptions {
  /** Only these schemas (default: every schema except system ones and `exclude`). */
  schemas?: string[];
  /** Schemas left out (default: the drizzle bookkeeping schema "drizzle"; none when `bookkeeping` is given). */
  exclude?: string[];
  /**
   * drizzle's bookkeeping table (migrations.schema / migrations.table): left out with its index,
   * constraint and sequence, and its schema too when nothing else is in it.
   */
  bookkeeping?: { schema: string; table: string };
  /** Leave out drizzle-guard's temporary objects of phased migrations (HELPER_NAME). */
  withoutHelpers?: boolean;
}

/**
 * The names drizzle-guard derives for temporary objects end in `_dg_<what>` (src/sql/phase-sql.ts
 * derivedName): the `CHECK (col IS NOT NULL)` helper of the NOT NULL path (`_dg_not_null`, dropped
 * by the contract file), an index built beside the one it replaces (`_dg_new`, renamed), and the
 * column of a type change with the trigger and function that keep it in sync (`_dg_new`, `_dg_sync`).
 */
export const HELPER_NAME = /_dg_(?:new|not_null|sync)$/;

/** `n.nspname` filter shared by every query: $1 = schemas to include (or null), $2 = to exclude. */
const SCHEMA_FILTER = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
  and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'
  and ($1::text[] is null or n.nspname = any($1::text[]))
  and not (n.nspname = any($2::text[]))`;

const key = (...parts: string[]) => parts.join(".");

function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

export async function readCatalog(driver: Driver, opts: ReadCatalogOptions = {}): Promise<Catalog> {
  const params = [opts.schemas ?? null, opts.exclude ?? (opts.bookkeeping ? [] : ["drizzle"])];
  const isHelper = (name: string) => !!opts.withoutHelpers && HELPER_NAME.test(name);
  const bookkeeping = opts.bookkeeping && key(opts.bookkeeping.schema, opts.bookkeeping.table);
  const isBookkeeping = (schema: string, table: string) => key(schema, table) === bookkeeping;
  const q = async (sql: string) => (await driver.query(sql, params)).rows;
  const keep = async (wanted: (row: any) => boolean, sql: string) => (await q(sql)).filter(wanted);

  let schemas = (
    await q(`select n.nspname from pg_catalog.pg_namespace n where ${SCHEMA_FILTER}`)
  )
    .map((r) => r.nspname as string)
    .sort();

  const tableRows = await keep((t) => !isBookkeeping(t.schema, t.name), `
    select n.nspname as schema, c.relname as name, c.relrowsecurity as rls
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and ${SCHEMA_FILTER}`);
  const columnRows = await keep((c) => !isHelper(c.name), `
    select n.nspname as schema, c.relname as table, a.attname as name,
           pg_catalog.format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
           case when a.attgenerated = '' then pg_catalog.pg_get_expr(d.adbin, d.adrelid) end as default,
           case a.attidentity when 'a' then 'always' when 'd' then 'by default' end as identity,
           case when a.attgenerated <> '' then pg_catalog.pg_get_expr(d.adbin, d.adrelid) end as generated
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped and ${SCHEMA_FILTER}`);
  const tables = new Map<string, TableInfo>();
  for (const t of tableRows) tables.set(key(t.schema, t.name), { columns: {}, rowLevelSecurity: !!t.rls });
  const columns = new Map<string, [string, ColumnInfo][]>();
  for (const c of columnRows) {
    const k = key(c.schema, c.table);
    columns.set(k, [
      ...(columns.get(k) ?? []),
      [c.name, { type: c.type, notNull: !!c.not_null, default: c.default ?? null, identity: c.identity ?? null, generated: c.generated ?? null }],
    ]);
  }
  for (const [k, t] of tables) t.columns = sortedRecord(columns.get(k) ?? []);

  const indexRows = await keep((i) => !isBookkeeping(i.schema, i.table) && !isHelper(i.name), `
    select n.nspname as schema, ic.relname as name, tc.relname as table,
           pg_catalog.pg_get_indexdef(i.indexrelid) as definition, i.indisvalid as valid
      from pg_catalog.pg_index i
      join pg_catalog.pg_class ic on ic.oid = i.indexrelid
      join pg_catalog.pg_class tc on tc.oid = i.indrelid
      join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
     where ${SCHEMA_FILTER}`);

  const constraintRows = await keep((k) => !isBookkeeping(k.schema, k.table) && !isHelper(k.name), `
    select n.nspname as schema, c.relname as table, k.conname as name, k.contype as type,
           pg_catalog.pg_get_constraintdef(k.oid, true) as definition, k.convalidated as validated
      from pg_catalog.pg_constraint k
      join pg_catalog.pg_class c on c.oid = k.conrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where k.contype in ('p', 'u', 'f', 'c', 'x') and ${SCHEMA_FILTER}`);

  const enumRows = await q(`
    select n.nspname as schema, t.typname as name, e.enumlabel as label
      from pg_catalog.pg_enum e
      join pg_catalog.pg_type t on t.oid = e.enumtypid
      join pg_catalog.pg_namespace n on n.oid = t.typnamespace
     where ${SCHEMA_FILTER}
     order by n.nspname, t.typname, e.enumsortorder`);
  const enums = new Map<string, string[]>();
  for (const e of enumRows) {
    const k = key(e.schema, e.name);
    enums.set(k, [...(enums.get(k) ?? []), e.label]);
  }

  const sequenceRows = await keep((s) => !(bookkeeping && s.owned_by?.startsWith(`${bookkeeping}.`)), `
    select n.nspname as schema, c.relname as name, pg_catalog.format_type(s.seqtypid, null) as type,
           s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min,
           s.seqmax::text as max, s.seqcache::text as cache, s.seqcycle as cycle,
           (select tn.nspname || '.' || tc.relname || '.' || a.attname
              from pg_catalog.pg_depend d
              join pg_catalog.pg_class tc on tc.oid = d.refobjid
              join pg_catalog.pg_namespace tn on tn.oid = tc.relnamespace
              join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
             where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
               and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i')
             limit 1) as owned_by
      from pg_catalog.pg_sequence s
      join pg_catalog.pg_class c on c.oid = s.seqrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where ${SCHEMA_FILTER}`);

  const viewRows = await q(`
    select n.nspname as schema, c.relname as name, c.relkind = 'm' as materialized,
           pg_catalog.pg_get_viewdef(c.oid, true) as definition
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('v', 'm') and ${SCHEMA_FILTER}`);

  const policyRows = await q(`
    select n.nspname as schema, c.relname as table, p.polname as name, p.polcmd as command,
           p.polpermissive as permissive,
           array(select case when r = 0 then 'public' else pg_catalog.pg_get_userbyid(r) end
                   from unnest(p.polroles) r order by 1)::text[] as roles,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check
      from pg_catalog.pg_policy p
      join pg_catalog.pg_class c on c.oid = p.polrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where ${SCHEMA_FILTER}`);

  const triggerRows = await q(`
    select n.nspname as schema, c.relname as table, t.tgname as name,
           pg_catalog.pg_get_triggerdef(t.oid, true) as definition, t.tgenabled <> 'D' as enabled
      from pg_catalog.pg_trigger t
      join pg_catalog.pg_class c on c.oid = t.tgrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where not t.tgisinternal and ${SCHEMA_FILTER}`).then((rows) => rows.filter((t) => !isHelper(t.name)));

  const functionRows = await q(`
    select n.nspname as schema, p.proname as name, pg_catalog.pg_get_function_identity_arguments(p.oid) as args,
           case p.prokind when 'f' then 'function' when 'p' then 'procedure' when 'a' then 'aggregate' when 'w' then 'window' end as kind,
           pg_catalog.pg_get_function_result(p.oid) as result, l.lanname as language, p.prosrc as source
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      join pg_catalog.pg_language l on l.oid = p.prolang
     where ${SCHEMA_FILTER}
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`).then((rows) =>
    rows.filter((f) => !isHelper(f.name)),
  );

  const COMMANDS: Record<string, string> = { r: "select", a: "insert", w: "update", d: "delete", "*": "all" };
  if (opts.bookkeeping) {
    const home = opts.bookkeeping.schema;
    const rows = [tableRows, indexRows, constraintRows, enumRows, sequenceRows, viewRows, policyRows, triggerRows, functionRows];
    if (!rows.some((list) => list.some((r) => r.schema === home))) schemas = schemas.filter((s) => s !== home);
  }
  return {
    schemas,
    tables: sortedRecord([...tables]),
    indexes: sortedRecord(indexRows.map((i) => [key(i.schema, i.name), { table: key(i.schema, i.table), definition: i.definition, valid: !!i.valid }])),
    constraints: sortedRecord(
      constraintRows.map((k) => [
        key(k.schema, k.table, k.name),
        { table: key(k.schema, k.table), type: k.type, definition: k.definition, validated: !!k.validated },
      ]),
    ),
    enums: sortedRecord([...enums]),
    sequences: sortedRecord(
      sequenceRows.map((s) => [
        key(s.schema, s.name),
        { type: s.type, start: s.start, increment: s.increment, min: s.min, max: s.max, cache: s.cache, cycle: !!s.cycle, ownedBy: s.owned_by ?? null },
      ]),
    ),
    views: sortedRecord(viewRows.map((v) => [key(v.schema, v.name), { materialized: !!v.materialized, definition: v.definition }])),
    policies: sortedRecord(
      policyRows.map((p) => [
        key(p.schema, p.table, p.name),
        {
          table: key(p.schema, p.table),
          command: COMMANDS[p.command] ?? p.command,
          permissive: !!p.permissive,
          roles: [...(p.roles ?? [])].sort(),
          using: p.using ?? null,
          withCheck: p.with_check ?? null,
        },
      ]),
    ),
    triggers: sortedRecord(
      triggerRows.map((t) => [key(t.schema, t.table, t.name), { table: key(t.schema, t.table), definition: t.definition, enabled: !!t.enabled }]),
    ),
    functions: sortedRecord(
      functionRows.map((f) => [
        `${key(f.schema, f.name)}(${f.args})`,
        { kind: f.kind, result: f.result ?? null, language: f.language, source: f.source },
      ]),
    ),
  };
}

export type CatalogSection = Exclude<keyof Catalog, "schemas">;
export const SECTIONS: CatalogSection[] = ["tables", "indexes", "constraints", "enums", "sequences", "views", "policies", "triggers", "functions"];

export interface CatalogDifference {
  section: CatalogSection | "schemas";
  name: string;
  /** "added": only in `actual`; "missing": only in `expected`; "different": in both, not equal. */
  change: "added" | "missing" | "different";
  expected?: unknown;
  actual?: unknown;
}

/** Stable JSON: keys in sorted order at every level, so equal catalogs give equal text. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) o[k] = norm((v as Record<string, unknown>)[k]);
      return o;
    }
    return v;
  };
  return JSON.stringify(norm(value), null, 2) + "\n";
}

/** What differs between the catalog the migrations should give (`expected`) and another (`actual`). */
export function diffCatalogs(expected: Catalog, actual: Catalog): CatalogDifference[] {
  const out: CatalogDifference[] = [];
  const inExpected = new Set(expected.schemas);
  const inActual = new Set(actual.schemas);
  for (const s of expected.schemas) if (!inActual.has(s)) out.push({ section: "schemas", name: s, change: "missing" });
  for (const s of actual.schemas) if (!inExpected.has(s)) out.push({ section: "schemas", name: s, change: "added" });
  for (const section of SECTIONS) {
    const a = expected[section] as Record<string, unknown>;
    const b = actual[section] as Record<string, unknown>;
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!(name in b)) out.push({ section, name, change: "missing", expected: a[name] });
      else if (!(name in a)) out.push({ section, name, change: "added", actual: b[name] });
      else if (canonicalJson(a[name]) !== canonicalJson(b[name])) out.push({ section, name, change: "different", expected: a[name], actual: b[name] });
    }
  }
  return out;
}
