/**
 * A catalog as text, one line per object or column, sections and names in sorted order: the
 * canonical schema file (`drift --write`) that a pull request shows as a diff, and the lines the
 * drift report compares. Values are what PostgreSQL prints (the catalog's), never re-formatted.
 */
import { SECTIONS, type Catalog, type CatalogSection, type ColumnInfo } from "../catalog/catalog.js";

export const CANONICAL_HEADER =
  "-- drizzle-guard canonical schema: what the migrations produce, applied to an empty database.\n" +
  "-- Written by `drizzle-guard drift --write FILE`, checked by `drizzle-guard drift --canonical FILE`. Do not edit.\n";

const CONSTRAINT_KIND: Record<string, string> = { p: "primary key", u: "unique", f: "foreign key", c: "check", x: "exclusion" };

function column(name: string, c: ColumnInfo): string {
  let line = `  column ${name} ${c.type}`;
  if (c.notNull) line += " not null";
  if (c.default !== null) line += ` default ${c.default}`;
  if (c.identity) line += ` generated ${c.identity} as identity`;
  if (c.generated !== null) line += ` generated always as (${c.generated}) stored`;
  return line;
}

/** The lines of one catalog entry; the first names it (`table public.users`). */
export function entryLines(section: CatalogSection | "schemas", name: string, value: any): string[] {
  switch (section) {
    case "schemas":
      return [`schema ${name}`];
    case "tables":
      return [
        `table ${name}`,
        ...Object.entries(value.columns as Record<string, ColumnInfo>).map(([n, c]) => column(n, c)),
        ...(value.rowLevelSecurity ? ["  row level security"] : []),
      ];
    case "indexes":
      return [`index ${name}: ${value.definition}${value.valid ? "" : " (INVALID)"}`];
    case "constraints":
      return [
        `constraint ${name} (${CONSTRAINT_KIND[value.type] ?? value.type}): ${value.definition}` +
          (value.validated || / NOT VALID$/.test(value.definition) ? "" : " NOT VALID"),
      ];
    case "enums":
      return [`enum ${name}: ${(value as string[]).map((l) => `'${l.replace(/'/g, "''")}'`).join(", ")}`];
    case "sequences": {
      const s = value;
      return [
        `sequence ${name}: ${s.type} start ${s.start} increment ${s.increment} min ${s.min} max ${s.max} cache ${s.cache}` +
          (s.cycle ? " cycle" : "") +
          (s.ownedBy ? ` owned by ${s.ownedBy}` : ""),
      ];
    }
    case "views":
      return [`${value.materialized ? "materialized view" : "view"} ${name}:`, ...String(value.definition).split("\n").map((l) => `  ${l}`)];
    case "policies": {
      const p = value;
      return [
        `policy ${name}: ${p.permissive ? "permissive" : "restrictive"} for ${p.command} to ${p.roles.join(", ")}` +
          (p.using !== null ? ` using (${p.using})` : "") +
          (p.withCheck !== null ? ` with check (${p.withCheck})` : ""),
      ];
    }
    case "triggers":
      return [`trigger ${name}: ${value.definition}${value.enabled ? "" : " (DISABLED)"}`];
    case "functions": {
      const f = value;
      return [
        `${f.kind} ${name}${f.result !== null ? ` returns ${f.result}` : ""} language ${f.language}:`,
        ...String(f.source).replace(/^\n+|\s+$/g, "").split("\n").map((l) => `  ${l}`),
      ];
    }
  }
}

/** The canonical schema file: the header, then every section in a fixed order, a blank line between sections. */
export function renderCanonical(catalog: Catalog): string {
  const blocks = [catalog.schemas.map((s) => entryLines("schemas", s, null).join("\n")).join("\n")];
  for (const section of SECTIONS) {
    const entries = Object.entries(catalog[section] as Record<string, unknown>);
    if (entries.length) blocks.push(entries.map(([name, value]) => entryLines(section, name, value).join("\n")).join("\n"));
  }
  return CANONICAL_HEADER + "\n" + blocks.filter(Boolean).join("\n\n") + "\n";
}
