import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { transforms, statementTransforms } from "../transforms/index.js";
import { timestampNames } from "../transforms/timestamp-names.js";
import { defineFixtureTests, FIXTURES } from "./helpers/fixtures.js";
import { rewriteSql } from "../src/rewrite-sql.js";

for (const t of statementTransforms) describe(`transform ${t.meta.id}`, () => defineFixtureTests(t));

describe("transform timestamp-names", () => {
  const dir = join(FIXTURES, "timestamp-names");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".input.json"))) {
    it(f.replace(".input.json", ""), () => {
      const { naming, entries } = JSON.parse(readFileSync(join(dir, f), "utf8"));
      const expected = JSON.parse(readFileSync(join(dir, f.replace(".input.", ".output.")), "utf8"));
      const out = timestampNames.apply(entries, { naming });
      expect(out).toEqual(expected);
      const again = timestampNames.apply(
        out.map((o: { tag: string; when: number }) => ({ ...o, existing: true })),
        { naming },
      );
      expect(again).toEqual(out);
    });
  }
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".unchanged.json"))) {
    it(`${f.replace(".unchanged.json", "")}: unchanged`, () => {
      const { naming, entries } = JSON.parse(readFileSync(join(dir, f), "utf8"));
      expect(timestampNames.apply(entries, { naming })).toEqual(entries.map((e: any) => ({ tag: e.tag, when: e.when })));
    });
  }
});

describe("registry", () => {
  it("id = file name = fixtures folder = docs section, sorted, once each", () => {
    const ids = transforms.map((t) => t.meta.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    const files = readdirSync(join(import.meta.dirname, "..", "transforms"))
      .filter((f) => f.endsWith(".ts") && f !== "index.ts")
      .map((f) => f.replace(/\.ts$/, ""));
    expect(files.sort()).toEqual([...ids].sort());
    const folders = readdirSync(FIXTURES).filter((f) => !f.startsWith("_") && f !== "corpus");
    expect(folders.sort()).toEqual([...ids].sort());
    const docs = readFileSync(join(import.meta.dirname, "..", "docs", "transforms.md"), "utf8");
    for (const t of transforms) {
      expect(docs).toContain(`## ${t.meta.id}\n`);
      expect(t.meta.docs).toBe(`docs/transforms.md#${t.meta.id}`);
      expect(existsSync(join(FIXTURES, t.meta.id))).toBe(true);
    }
  });
});

describe("rewrite pipeline (fixtures/_pipeline)", () => {
  // <case>.input.sql rewritten as an existing migration -> <case>.existing.sql, and as one generated
  // now -> <case>.new.1.sql, .new.2.sql, ... (one file per phase part, nothing more).
  const dir = join(FIXTURES, "_pipeline");
  const json = (path: string) => (existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined);
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".input.sql"))) {
    const base = f.replace(".input.sql", "");
    it(`${base}: existing and new layouts, exactly`, () => {
      const input = readFileSync(join(dir, f), "utf8");
      const existing = rewriteSql(input, f, { split: false });
      expect(existing.parts.map((p) => p.text)).toEqual([readFileSync(join(dir, `${base}.existing.sql`), "utf8")]);
      const fresh = rewriteSql(input, f, {
        split: true,
        snapshot: json(join(dir, `${base}.snapshot.json`)),
        previousSnapshot: json(join(dir, `${base}.previous-snapshot.json`)),
      });
      const expected = readdirSync(dir)
        .filter((x) => x.startsWith(`${base}.new.`))
        .sort((a, b) => Number(a.split(".").at(-2)) - Number(b.split(".").at(-2)))
        .map((x) => readFileSync(join(dir, x), "utf8"));
      expect(fresh.parts.map((p) => p.text)).toEqual(expected);
      for (const p of fresh.parts) expect(rewriteSql(p.text, f, { split: true }).parts.map((x) => x.text)).toEqual([p.text]);
    });
  }
});
