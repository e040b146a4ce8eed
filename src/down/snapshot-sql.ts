/**
 * SQL that re-creates an object as drizzle-kit's snapshot describes it (tables, columns, indexes,
 * constraints, enums, sequences, views, policies), written the way drizzle-kit's own generator
 * writes it, without guards (the down file gets them from the guards transform). Pure.
 */
import { quoteIdent, quoteLiteral } from "../sql/names.js";

export type Snapshot = Record<string, any>;

/** `"schema"."name"`, or `"name"` for drizzle-kit's default schema (stored as "" or "public"). */
export function qualified(schema: string | undefined, name: string): string {
  return schema && schema !== "public" ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** Built-in type names drizzle-kit writes as they are (others are enums: quoted, with their schema). */
const NATIVE =
  /^(uuid|smallint|integer|bigint|boolean|text|varchar|char|character|serial|smallserial|bigserial|decimal|numeric|real|double precision|json|jsonb|time|timestamp|date|interval|inet|cidr|macaddr|macaddr8|point|line|geometry|vector|halfvec|sparsevec|bit|varbit|bytea|money|tsvector|xml)\b/;

export function columnType(col: Record<string, any>): string {
  const type = String(col.type);
  const array = (type.match(/\[\d*\]/g) ?? []).join("");
  const base = type.replace(/\[\d*\]/g, "");
  return NATIVE.test(base) ? type : `${qualified(col.typeSchema, base)}${array}`;
}

function identitySql(identity: Record<string, any>, tableSchema: string | undefined): string {
  const seq = qualified(identity.schema ?? tableSchema, identity.name);
  const opt = (word: string, v: unknown) => (v !== undefined && v !== null && v !== "" ? ` ${word} ${v}` : "");
  return (
    ` GENERATED ${identity.type === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY (sequence name ${seq}` +
    `${opt("INCREMENT BY", identity.increment)}${opt("MINVALUE", identity.minValue)}${opt("MAXVALUE", identity.maxValue)}` +
    `${opt("START WITH", identity.startWith)}${opt("CACHE", identity.cache)}${identity.cycle ? " CYCLE" : ""})`
  );
}

/** `"name" type [PRIMARY KEY] [DEFAULT ..] [GENERATED ..] [NOT NULL] [UNIQUE] [identity]`. */
export function columnSql(col: Record<string, any>, tableSchema: string | undefined): string {
  return (
    `${quoteIdent(col.name)} ${columnType(col)}` +
    (col.primaryKey ? " PRIMARY KEY" : "") +
    (col.default !== undefined ? ` DEFAULT ${col.default}` : "") +
    (col.generated ? ` GENERATED ALWAYS AS (${col.generated.as}) STORED` : "") +
    (col.notNull && !col.identity ? " NOT NULL" : "") +
    (col.isUnique ? ` CONSTRAINT ${quoteIdent(col.uniqueName)} UNIQUE${col.nullsNotDistinct ? " NULLS NOT DISTINCT" : ""}` : "") +
    (col.identity ? identitySql(col.identity, tableSchema) : "")
  );
}

export const tableSql = (t: Record<string, any>) => qualified(t.schema, t.name);
const columnsList = (cols: string[]) => cols.map(quoteIdent).join(",");

/** The constraint clause (`CONSTRAINT "n" ...`) of a named constraint of a table in the snapshot. */
export function constraintClause(t: Record<string, any>, name: string): string | undefined {
  const pk = t.compositePrimaryKeys?.[name];
  if (pk) return `CONSTRAINT ${quoteIdent(name)} PRIMARY KEY(${columnsList(pk.columns)})`;
  const u = t.uniqueConstraints?.[name];
  if (u) return `CONSTRAINT ${quoteIdent(name)} UNIQUE${u.nullsNotDistinct ? " NULLS NOT DISTINCT" : ""}(${columnsList(u.columns)})`;
  const c = t.checkConstraints?.[name];
  if (c) return `CONSTRAINT ${quoteIdent(name)} CHECK (${c.value})`;
  const fk = t.foreignKeys?.[name];
  if (fk) {
    return (
      `CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${columnsList(fk.columnsFrom)}) REFERENCES ${qualified(fk.schemaTo || "public", fk.tableTo)}` +
      `(${columnsList(fk.columnsTo)})${fk.onDelete ? ` ON DELETE ${fk.onDelete}` : ""}${fk.onUpdate ? ` ON UPDATE ${fk.onUpdate}` : ""}`
    );
  }
  const col = Object.values<any>(t.columns ?? {}).find((x) => x.primaryKey && name === `${t.name}_pkey`);
  if (col) return `CONSTRAINT ${quoteIdent(name)} PRIMARY KEY(${quoteIdent(col.name)})`;
  const uniqueCol = Object.values<any>(t.columns ?? {}).find((x) => x.isUnique && x.uniqueName === name);
  if (uniqueCol) return `CONSTRAINT ${quoteIdent(name)} UNIQUE(${quoteIdent(uniqueCol.name)})`;
  return undefined;
}

export function addConstraintSql(t: Record<string, any>, name: string): string | undefined {
  const clause = constraintClause(t, name);
  return clause && `ALTER TABLE ${tableSql(t)} ADD ${clause}`;
}

/** CREATE UNIQUE INDEX for the index behind a UNIQUE or PRIMARY KEY constraint of the snapshot. */
export function constraintIndexSql(t: Record<string, any>, constraint: string, index: string, concurrently: boolean): string | undefined {
  const cols = Object.values<any>(t.columns ?? {});
  const u = t.uniqueConstraints?.[constraint];
  const columns: string[] | undefined =
    u?.columns ??
    t.compositePrimaryKeys?.[constraint]?.columns ??
    (constraint === `${t.name}_pkey` ? cols.filter((c) => c.primaryKey).map((c) => c.name) : undefined) ??
    cols.filter((c) => c.isUnique && c.uniqueName === constraint).map((c) => c.name);
  if (!columns?.length) return undefined;
  return (
    `CREATE UNIQUE INDEX${concurrently ? " CONCURRENTLY" : ""} ${quoteIdent(index)} ON ${tableSql(t)} USING btree (${columnsList(columns)})` +
    (u?.nullsNotDistinct ? " NULLS NOT DISTINCT" : "")
  );
}

export function indexSql(t: Record<string, any>, idx: Record<string, any>, concurrently: boolean): string {
  const cols = (idx.columns ?? [])
    .map(
      (c: any) =>
        `${c.isExpression ? c.expression : quoteIdent(c.expression)}${c.opclass ? ` ${c.opclass}` : c.asc ? "" : " DESC"}` +
        `${(c.asc && c.nulls === "last") || c.opclass || !c.nulls ? "" : ` NULLS ${String(c.nulls).toUpperCase()}`}`,
    )
    .join(",");
  const withs = Object.entries(idx.with ?? {}).map(([k, v]) => `${k}=${v}`);
  return (
    `CREATE ${idx.isUnique ? "UNIQUE INDEX" : "INDEX"}${concurrently ? " CONCURRENTLY" : ""} ${quoteIdent(idx.name)} ON ${tableSql(t)} USING ${idx.method ?? "btree"} (${cols})` +
    (withs.length ? ` WITH (${withs.join(",")})` : "") +
    (idx.where ? ` WHERE ${idx.where}` : "")
  );
}

export function policySql(p: Record<string, any>, table: string): string {
  const to = (p.to ?? ["public"]).map((r: string) => (["current_user", "current_role", "session_user", "public"].includes(r) ? r : quoteIdent(r))).join(", ");
  return (
    `CREATE POLICY ${quoteIdent(p.name)} ON ${table} AS ${String(p.as ?? "PERMISSIVE").toUpperCase()} FOR ${String(p.for ?? "ALL").toUpperCase()} TO ${to}` +
    (p.using ? ` USING (${p.using})` : "") +
    (p.withCheck ? ` WITH CHECK (${p.withCheck})` : "")
  );
}

/** True when the table had row level security on: drizzle-kit turns it on for tables with policies too. */
export function rlsEnabled(t: Record<string, any>): boolean {
  return !!t.isRLSEnabled || Object.keys(t.policies ?? {}).length > 0;
}

/** CREATE TABLE, then its foreign keys, indexes, row level security and policies: drizzle-kit's order. */
export function createTableSql(t: Record<string, any>): string[] {
  const lines = Object.values<any>(t.columns ?? {}).map((c) => `\t${columnSql(c, t.schema)}`);
  for (const name of [
    ...Object.keys(t.compositePrimaryKeys ?? {}),
    ...Object.keys(t.uniqueConstraints ?? {}),
    ...Object.keys(t.checkConstraints ?? {}),
  ]) {
    lines.push(`\t${constraintClause(t, name)}`);
  }
  const out = [`CREATE TABLE ${tableSql(t)} (\n${lines.join(",\n")}\n)`];
  if (rlsEnabled(t)) out.push(`ALTER TABLE ${tableSql(t)} ENABLE ROW LEVEL SECURITY`);
  for (const name of Object.keys(t.foreignKeys ?? {})) out.push(addConstraintSql(t, name)!);
  for (const idx of Object.values<any>(t.indexes ?? {})) out.push(indexSql(t, idx, false));
  for (const p of Object.values<any>(t.policies ?? {})) out.push(policySql(p, tableSql(t)));
  return out;
}

export function enumSql(e: Record<string, any>): string {
  return `CREATE TYPE ${qualified(e.schema || "public", e.name)} AS ENUM(${(e.values ?? []).map(quoteLiteral).join(", ")})`;
}

export function sequenceSql(s: Record<string, any>): string {
  const opt = (word: string, v: unknown) => (v !== undefined && v !== null && v !== "" ? ` ${word} ${v}` : "");
  return (
    `CREATE SEQUENCE ${qualified(s.schema || "public", s.name)}${opt("INCREMENT BY", s.increment)}${opt("MINVALUE", s.minValue)}` +
    `${opt("MAXVALUE", s.maxValue)}${opt("START WITH", s.startWith)}${opt("CACHE", s.cache)}${s.cycle ? " CYCLE" : ""}`
  );
}

export function viewSql(v: Record<string, any>): string | undefined {
  if (v.isExisting || typeof v.definition !== "string") return undefined;
  const withs = Object.entries(v.with ?? {}).filter(([, x]) => x !== undefined);
  return (
    `CREATE ${v.materialized ? "MATERIALIZED VIEW" : "VIEW"} ${qualified(v.schema || "public", v.name)}` +
    (v.using ? ` USING ${quoteIdent(v.using)}` : "") +
    (withs.length ? ` WITH (${withs.map(([k, x]) => `${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} = ${x}`).join(", ")})` : "") +
    (v.tablespace ? ` TABLESPACE ${v.tablespace}` : "") +
    ` AS (${v.definition})` +
    (v.withNoData ? " WITH NO DATA" : "")
  );
}

/** The snapshot's table for `schema.name` (unqualified = public). */
export function findTable(snap: Snapshot | undefined, key: string): Record<string, any> | undefined {
  return snap?.tables?.[key];
}

/** The table holding index `name` in `schema` (any schema when the statement did not name one). */
export function findIndex(snap: Snapshot | undefined, schema: string | undefined, name: string): { table: any; index: any } | undefined {
  for (const [key, table] of Object.entries<any>(snap?.tables ?? {})) {
    if (schema && !key.startsWith(`${schema}.`)) continue;
    if (table.indexes?.[name]) return { table, index: table.indexes[name] };
  }
  return undefined;
}
