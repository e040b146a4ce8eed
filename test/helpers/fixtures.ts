/**
 * Runs every fixture of a transform (after jscodeshift's defineTest / ESLint's RuleTester):
 * <case>.input.sql -> <case>.output.sql exactly; the output re-parses (DO bodies as PL/pgSQL);
 * a second run changes nothing; <case>.unchanged.sql gets no edits.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { applyEdits } from "../../src/engine.js";
import { parsePlpgsqlBlock, parseSql } from "../../src/sql/parse.js";
import { buildContext } from "../../src/rewrite-sql.js";
import type { StatementTransform } from "../../src/transform.js";

export const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");

/**
 * The context a fixture runs in: a migration generated now (phase transforms apply), unless the
 * case name contains `.existing.`; `<case>.snapshot.json` is drizzle-kit's snapshot after it.
 */
export function fixtureContext(input: string, file: string, dir?: string) {
  const name = file.replace(/\.(input|unchanged|output)\.sql$/, "");
  const snapshotPath = dir ? join(dir, `${name.replace(/\.existing$/, "")}.snapshot.json`) : "";
  return {
    ...buildContext(parseSql(input, file)),
    newMigration: !file.includes(".existing."),
    snapshot: snapshotPath && existsSync(snapshotPath) ? JSON.parse(readFileSync(snapshotPath, "utf8")) : undefined,
  };
}

export function runTransform(t: StatementTransform, input: string, file = "input.sql", dir?: string): string {
  return applyEdits(input, t.apply(fixtureContext(input, file, dir)).edits);
}

/** Parses `sql`, and the body of every DO block in it as PL/pgSQL. */
export function assertParses(sql: string, file: string): void {
  const parsed = parseSql(sql, file);
  for (const s of parsed.statements) {
    if (s.kind !== "DoStmt") continue;
    const body = s.node.args?.[0]?.DefElem?.arg?.String?.sval;
    expect(typeof body).toBe("string");
    parsePlpgsqlBlock(body);
  }
}

export function defineFixtureTests(t: StatementTransform): void {
  const dir = join(FIXTURES, t.meta.id);
  const files = readdirSync(dir);
  const inputs = files.filter((f) => f.endsWith(".input.sql"));
  const unchanged = files.filter((f) => f.endsWith(".unchanged.sql"));
  it("has positive and negative fixtures", () => {
    expect(inputs.length).toBeGreaterThan(0);
    expect(unchanged.length).toBeGreaterThan(0);
  });
  for (const f of inputs) {
    const name = f.replace(".input.sql", "");
    it(`${name}: exact output, re-parses, fixed point`, () => {
      const input = readFileSync(join(dir, f), "utf8");
      const expected = readFileSync(join(dir, `${name}.output.sql`), "utf8");
      const output = runTransform(t, input, f, dir);
      expect(output).toBe(expected);
      expect(output).not.toBe(input);
      assertParses(output, `${name}.output.sql`);
      expect(runTransform(t, output, `${name}.output.sql`, dir)).toBe(output);
    });
  }
  for (const f of unchanged) {
    it(`${f.replace(".unchanged.sql", "")}: no edits`, () => {
      const input = readFileSync(join(dir, f), "utf8");
      const r = t.apply(fixtureContext(input, f, dir));
      expect(r.edits).toEqual([]);
    });
  }
}
