/**
 * SQL text the phase transforms write: catalog guards, helper constraint names, the NOT NULL path,
 * batched backfills. Pure string builders over quoted identifiers; no parsing here.
 */
import { createHash } from "node:crypto";
import { quoteIdent, quoteLiteral, relSql, type RangeVar } from "./names.js";

/** `to_regclass('"schema"."table"')`. */
export const regclass = (rel: RangeVar) => `to_regclass(${quoteLiteral(relSql(rel))})`;

/** "This table has no constraint of that name yet." */
export function constraintMissing(rel: RangeVar, conname: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = ${regclass(rel)} AND conname = ${quoteLiteral(conname)})`;
}

/** A dollar-quote tag that does not occur in `text`. */
export function dollarTag(text: string): string {
  if (!text.includes("$$")) return "$$";
  for (let n = 0; ; n++) {
    const tag = n === 0 ? "$dg$" : `$dg${n}$`;
    if (!text.includes(tag)) return tag;
  }
}

/** `DO $$ BEGIN IF <condition> THEN <statement>; END IF; END $$;` (the guards transform's shape). */
export function doIf(condition: string, statement: string): string {
  const tag = dollarTag(statement);
  return `DO ${tag} BEGIN\nIF ${condition} THEN\n${statement};\nEND IF;\nEND ${tag};`;
}

/**
 * A name derived from `base` + `suffix` that fits PostgreSQL's 63-byte identifiers: when it would
 * not, the base is cut (at a character boundary) and a short hash of the full name keeps it unique.
 */
export function derivedName(base: string, suffix: string): string {
  const full = `${base}${suffix}`;
  if (Buffer.byteLength(full) <= 63) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  let cut = base;
  while (Buffer.byteLength(`${cut}_${hash}${suffix}`) > 63) cut = cut.slice(0, -1);
  return `${cut}_${hash}${suffix}`;
}

/** The helper CHECK constraint that lets SET NOT NULL skip its scan. */
export function notNullHelperName(table: string, column: string): string {
  return derivedName(`${table}_${column}`, "_dg_not_null");
}

/**
 * The NOT NULL path, for the validate file (which runs without a transaction, one statement per
 * round trip, so no lock outlives its statement): a `CHECK (col IS NOT NULL) NOT VALID` helper
 * (brief ACCESS EXCLUSIVE), `VALIDATE` (SHARE UPDATE EXCLUSIVE: reads and writes go on), then
 * `SET NOT NULL`, which PostgreSQL 12+ proves from the validated check without a scan. The helper
 * goes in the contract file. (Added earlier, the helper would make every UPDATE of a row still NULL
 * fail, the backfill's own included.)
 */
export function notNullPath(rel: RangeVar, column: string): { check: string; validate: string; setNotNull: string; contract: string } {
  const name = notNullHelperName(rel.relname, column);
  const table = relSql(rel);
  return {
    check: doIf(constraintMissing(rel, name), `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(name)} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`),
    validate: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(name)};`,
    setNotNull: `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL;`,
    contract: `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)};`,
  };
}

/**
 * A backfill that sets `column = expression` where it is NULL, in batches of `size` rows, each batch
 * its own transaction (COMMIT inside a DO block: the file runs without a transaction, one statement
 * per round trip). Batches walk the primary key when it is one column; otherwise they take the next
 * `size` rows still NULL. Re-runnable: rows already set are skipped.
 */
export function backfillBlock(rel: RangeVar, column: string, expression: string, primaryKey: string | undefined, size: number): string {
  const table = relSql(rel);
  const col = quoteIdent(column);
  const body = primaryKey
    ? (() => {
        const pk = quoteIdent(primaryKey);
        const type = `${table}.${pk}%TYPE`;
        return (
          `DECLARE\n\tbatch_start ${type};\n\tbatch_end ${type};\nBEGIN\n` +
          `\tSELECT min(${pk}) INTO batch_start FROM ${table};\n` +
          `\tWHILE batch_start IS NOT NULL LOOP\n` +
          `\t\tSELECT max(${pk}) INTO batch_end FROM (SELECT ${pk} FROM ${table} WHERE ${pk} >= batch_start ORDER BY ${pk} LIMIT ${size}) AS batch;\n` +
          `\t\tUPDATE ${table} SET ${col} = ${expression} WHERE ${pk} >= batch_start AND ${pk} <= batch_end AND ${col} IS NULL;\n` +
          `\t\tCOMMIT;\n` +
          `\t\tSELECT min(${pk}) INTO batch_start FROM ${table} WHERE ${pk} > batch_end;\n` +
          `\tEND LOOP;\nEND`
        );
      })()
    : `DECLARE\n\tdone bigint;\nBEGIN\n` +
      `\tLOOP\n` +
      `\t\tUPDATE ${table} SET ${col} = ${expression} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE ${col} IS NULL LIMIT ${size}));\n` +
      `\t\tGET DIAGNOSTICS done = ROW_COUNT;\n` +
      `\t\tCOMMIT;\n` +
      `\t\tEXIT WHEN done = 0;\n` +
      `\tEND LOOP;\nEND`;
  const tag = dollarTag(body);
  return `DO ${tag}\n${body}\n${tag};`;
}

/**
 * Names of an expand/contract type change's helpers: the new column (`<column>_dg_new`, renamed
 * to `<column>` in the contract file) and the trigger and its function that keep it in sync
 * (`<table>_<column>_dg_sync`, both).
 */
export function typeChangeNames(table: string, column: string): { column: string; sync: string } {
  return { column: derivedName(column, "_dg_new"), sync: derivedName(`${table}_${column}`, "_dg_sync") };
}

/** True when `name` is the expand/contract helper column of `column`. */
export const isTypeChangeHelper = (name: string, column: string) => typeChangeNames("", column).column === name;

/** The sync function in the table's schema, as written by the statement (`"schema"."name"`). */
export const syncFunctionSql = (rel: RangeVar, name: string) => relSql({ schemaname: rel.schemaname, relname: name });

/** `"column"::type`, or `"column"::text::type` (drizzle-kit's USING for an enum to another enum). */
export function castSql(column: string, type: string, viaText: boolean): string {
  return `${quoteIdent(column)}${viaText ? "::text" : ""}::${type}`;
}

/**
 * The expand file's sync: a function that sets the new column from the old one on every INSERT and
 * UPDATE (`NEW.new := NEW.old::type`), and its BEFORE trigger (guarded: PostgreSQL before 14 has no
 * CREATE OR REPLACE TRIGGER). The contract file's drops, in the order they run.
 */
export function typeChangeSync(
  rel: RangeVar,
  column: string,
  type: string,
  viaText: boolean,
): { createFunction: string; createTrigger: string; dropTrigger: string; dropFunction: string } {
  const names = typeChangeNames(rel.relname, column);
  const fn = syncFunctionSql(rel, names.sync);
  const table = relSql(rel);
  const body = `BEGIN\n\tNEW.${quoteIdent(names.column)} := NEW.${castSql(column, type, viaText)};\n\tRETURN NEW;\nEND`;
  const tag = dollarTag(body);
  const trigger = `CREATE TRIGGER ${quoteIdent(names.sync)} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`;
  return {
    createFunction: `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}\n${body}\n${tag};`,
    createTrigger: doIf(
      `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = ${regclass(rel)} AND tgname = ${quoteLiteral(names.sync)})`,
      trigger,
    ),
    dropTrigger: `DROP TRIGGER IF EXISTS ${quoteIdent(names.sync)} ON ${table};`,
    dropFunction: `DROP FUNCTION IF EXISTS ${fn}();`,
  };
}

/** "The table has this column" (not dropped). */
export function columnExists(rel: RangeVar, column: string): string {
  return `EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${regclass(rel)} AND attname = ${quoteLiteral(column)} AND NOT attisdropped)`;
}

/**
 * The contract file's swap, in one statement: while the helper column exists, drop the old column
 * and give the helper its name (a second run finds no helper and does nothing).
 */
export function typeChangeSwap(rel: RangeVar, column: string): string {
  const helper = typeChangeNames(rel.relname, column).column;
  const table = relSql(rel);
  return doIf(
    columnExists(rel, helper),
    `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(column)};\nALTER TABLE ${table} RENAME COLUMN ${quoteIdent(helper)} TO ${quoteIdent(column)}`,
  );
}
