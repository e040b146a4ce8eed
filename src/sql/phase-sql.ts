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

/** `DO $$ BEGIN IF <condition> THEN <statement>; END IF; END $$;` (the guards transform's shape). */
export function doIf(condition: string, statement: string): string {
  const tag = statement.includes("$$") ? "$dg$" : "$$";
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
  const tag = body.includes("$$") ? "$dg$" : "$$";
  return `DO ${tag}\n${body}\n${tag};`;
}
