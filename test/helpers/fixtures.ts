/**
 * Runs every fixture of a transform (after jscodeshift's defineTest / ESLint's RuleTester):
 * <case>.input.sql -> <case>.output.sql exactly; the output re-parses (DO bodies as PL/pgSQL);
 * a second run changes nothing; <case>.unchanged.sql gets no edits. A phase transform's plan
 * (statements added to or moved between phase files) is compared with <case>.plan.txt.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { applyEdits } from "../../src/engine.js";
import { parsePlpgsqlBlock, parseSql } from "../../src/sql/parse.js";
import { buildContext } from "../../src/rewrite-sql.js";
import type { StatementTransform, TransformResult } from "../../src/transform.js";

export const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");

/**
 * The context a fixture runs in: a migration generated now (phase transforms apply), unless the
 * case name contains `.existing.`; `<case>.snapshot.json` is drizzle-kit's snapshot after it and
 * `<case>.previous-snapshot.json` the one before.
 */
export function fixtureContext(input: string, file: string, dir?: string) {
  const name = file.replace(/\.(input|unchanged|output)\.sql$/, "").replace(/\.existing$/, "");
  const json = (suffix: string) => {
    const path = dir ? join(dir, `${name}.${suffix}`) : "";
    return path && existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
  };
  return {
    ...buildContext(parseSql(input, file)),
    newMigration: !file.includes(".existing."),
    snapshot: json("snapshot.json"),
    previousSnapshot: json("previous-snapshot.json"),
  };
}

/** What a transform plans beyond its edits, one line per item, for `<case>.plan.txt`. */
export function describePlan(r: TransformResult): string {
  const lines: string[] = [];
  for (const i of r.nonTransactional ?? []) lines.push(`non-transactional: statement ${i}`);
  for (const i of r.replaced ?? []) lines.push(`replaced: statement ${i}`);
  for (const m of r.moved ?? []) lines.push(`moved: statement ${m.statement} -> ${m.phase}${m.order === undefined ? "" : ` @ ${m.order}`}`);
  for (const a of r.added ?? []) lines.push(`added: ${a.phase}${a.order === undefined ? "" : ` @ ${a.order}`}\n${a.text}`);
  return lines.map((l) => l + "\n").join("");
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
      const planFile = join(dir, `${name}.plan.txt`);
      const plan = describePlan(t.apply(fixtureContext(input, f, dir)));
      expect(plan).toBe(existsSync(planFile) ? readFileSync(planFile, "utf8") : "");
      // A positive case changes the text, or plans something (a move-only transform edits nothing).
      expect(output !== input || plan !== "").toBe(true);
      assertParses(output, `${name}.output.sql`);
      expect(runTransform(t, output, `${name}.output.sql`, dir)).toBe(output);
    });
  }
  for (const f of unchanged) {
    it(`${f.replace(".unchanged.sql", "")}: no edits`, () => {
      const input = readFileSync(join(dir, f), "utf8");
      const r = t.apply(fixtureContext(input, f, dir));
      expect(r.edits).toEqual([]);
      // Statements already in their final form may still be marked non-transactional.
      expect(describePlan({ ...r, nonTransactional: [] })).toBe("");
    });
  }
}
