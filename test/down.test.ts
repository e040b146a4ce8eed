/**
 * Down files (src/down): every fixtures/_down/<case>.input.sql (a rewritten migration file) with
 * <case>.previous.json (drizzle-kit's snapshot before the migration; absent = not known) and
 * <case>.after.json (the snapshot after the file, optional) gives exactly
 * <case>.output.sql; the output parses (DO bodies as PL/pgSQL), is guarded (the guards transform
 * changes nothing), keeps the transaction marker, and names its IRREVERSIBLE steps.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deriveDown, guarded, irreversibleSteps, lossless } from "../src/down/down.js";
import { parseSql } from "../src/sql/parse.js";
import { assertParses, FIXTURES } from "./helpers/fixtures.js";

const DIR = join(FIXTURES, "_down");
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith(".input.sql"))
  .map((f) => f.replace(".input.sql", ""));

describe("down fixtures", () => {
  it("has cases with and without IRREVERSIBLE steps", () => {
    const outputs = cases.map((c) => readFileSync(join(DIR, `${c}.output.sql`), "utf8"));
    expect(outputs.some((o) => o.includes("-- IRREVERSIBLE: "))).toBe(true);
    expect(outputs.some((o) => !o.includes("-- IRREVERSIBLE: "))).toBe(true);
  });
  for (const c of cases) {
    it(`${c}: exact output, parses, guarded, same transaction marker`, () => {
      const input = readFileSync(join(DIR, `${c}.input.sql`), "utf8");
      const previousPath = join(DIR, `${c}.previous.json`);
      const previous = existsSync(previousPath) ? JSON.parse(readFileSync(previousPath, "utf8")) : undefined;
      const expected = readFileSync(join(DIR, `${c}.output.sql`), "utf8");
      const afterPath = join(DIR, `${c}.after.json`);
      const after = existsSync(afterPath) ? JSON.parse(readFileSync(afterPath, "utf8")) : undefined;
      const down = deriveDown(input, `${c}.sql`, previous, after);
      expect(down.text).toBe(expected);
      assertParses(down.text, `${c}.output.sql`);
      expect(guarded(down.text, `${c}.output.sql`).text).toBe(down.text);
      const parsed = parseSql(down.text, `${c}.output.sql`);
      expect(parsed.nonTransactional).toBe(parseSql(input, `${c}.input.sql`).nonTransactional);
      expect(down.nonTransactional).toBe(parsed.nonTransactional);
      expect(irreversibleSteps(parsed).map((x) => x.reason)).toEqual(down.irreversible);
    });
  }
});

describe("lossless type changes", () => {
  it("keeps every value or fails, never cuts or rounds", () => {
    expect(lossless("integer", "bigint")).toBe(true);
    expect(lossless("bigint", "integer")).toBe(true); // out of range fails
    expect(lossless("text", "varchar(20)")).toBe(true); // too long fails
    expect(lossless("numeric(12, 2)", "numeric(14, 2)")).toBe(true);
    expect(lossless("numeric(14, 4)", "numeric(14, 2)")).toBe(false); // rounds
    expect(lossless("integer", "numeric(10, 0)")).toBe(true);
    expect(lossless("numeric(10, 0)", "integer")).toBe(false);
    expect(lossless("timestamp with time zone", "timestamp")).toBe(false);
    expect(lossless("text[]", "text")).toBe(false);
  });
});

describe("statements the parser's JSON leaves empty strings out of", () => {
  // Found by the fuzzer: ADD VALUE '' (refused by PostgreSQL when it runs) crashed the down derivation.
  it("ADD VALUE '' gives an IRREVERSIBLE step naming the label, not a crash", () => {
    const down = deriveDown(`ALTER TYPE "public"."s" ADD VALUE '';`, "x.sql", undefined, undefined);
    expect(down.irreversible).toEqual([`PostgreSQL cannot drop an enum value: '' stays in "public"."s"`]);
  });
});

describe("names with line breaks", () => {
  // A quoted name can hold a line break: in a comment line, the rest of it was SQL in the down file.
  it("a comment naming them stays on one line", () => {
    const down = deriveDown('ALTER TABLE "t" DROP CONSTRAINT "k\nDROP TABLE v";', "x.sql", {}, undefined);
    expect(down.text).toBe(
      "-- Down file of x.sql: its statements undone in reverse order (drizzle's migrator never reads this file).\n" +
        "-- nothing to undo: constraint k DROP TABLE v is not in the snapshot before this migration (a helper constraint)\n",
    );
    const irreversible = deriveDown(`ALTER TYPE "s" ADD VALUE 'x\nDROP TABLE y';`, "x.sql", undefined, undefined);
    expect(irreversible.irreversible).toEqual([`PostgreSQL cannot drop an enum value: 'x DROP TABLE y' stays in "public"."s"`]);
    expect(irreversibleSteps(parseSql(irreversible.text)).map((s) => s.reason)).toEqual(irreversible.irreversible);
  });
});
