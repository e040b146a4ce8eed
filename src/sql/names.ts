/** Identifier helpers shared by transforms and the runner. Pure functions over libpg-query nodes. */

/**
 * Text for a `--` comment line: line breaks (which would end the comment and turn the rest into SQL)
 * become spaces. For names and SQL fragments written into generated comments.
 */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

/** Quotes an identifier the way PostgreSQL's quote_ident would for any name: always quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export interface RangeVar {
  schemaname?: string;
  relname: string;
  location?: number;
}

/** `schema.name` with unqualified names taken as `public` (drizzle-kit's default schema). */
export function relKey(rel: RangeVar | undefined | null): string {
  if (!rel) return "";
  return `${rel.schemaname ?? "public"}.${rel.relname}`;
}

/** The relation as quoted SQL text, qualified only if it was qualified in the statement. */
export function relSql(rel: RangeVar): string {
  return rel.schemaname ? `${quoteIdent(rel.schemaname)}.${quoteIdent(rel.relname)}` : quoteIdent(rel.relname);
}

/** Names from a list of String nodes ([{String:{sval}}]). */
export function nameList(list: any[] | undefined): string[] {
  return (list ?? []).map((n) => n?.String?.sval ?? "").filter((s: string) => s !== "");
}

/** `schema.name` key from a qualified name list; unqualified = public. */
export function listKey(names: string[]): string {
  return names.length >= 2 ? `${names[names.length - 2]}.${names[names.length - 1]}` : `public.${names[0] ?? ""}`;
}

/** Quoted SQL for a qualified name list. */
export function listSql(names: string[]): string {
  return names.map(quoteIdent).join(".");
}
