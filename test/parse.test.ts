/**
 * parseSql: UTF-16 spans with non-ASCII text, statements inside breakpoint chunks, comments and
 * directives, and GuardError positions (1-based line and column) for invalid SQL.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GuardError } from "../src/errors.js";
import { parseSql, type ParsedSql } from "../src/sql/parse.js";

/** Every token's text is the text at its span, and tokens are in order and do not overlap. */
function expectTokenSpans(p: ParsedSql): void {
  let prevEnd = 0;
  for (const t of p.tokens) {
    expect(t.text).toBe(p.text.slice(t.start, t.end));
    expect(t.start).toBeGreaterThanOrEqual(prevEnd);
    prevEnd = t.end;
  }
  for (const s of p.statements) {
    expect(s.text).toBe(p.text.slice(s.start, s.end));
    for (const t of s.tokens) expect(t.text).toBe(p.text.slice(t.start, t.end));
  }
}

/** Statement texts, `;` offsets and positions: the parts of a Statement these tests pin down. */
function layout(p: ParsedSql) {
  return p.statements.map((s) => ({
    text: p.text.slice(s.start, s.end),
    start: s.start,
    end: s.end,
    semicolon: s.semicolon,
    line: s.line,
    column: s.column,
  }));
}

function parseError(text: string, file = "0001_x.sql"): GuardError {
  try {
    parseSql(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(GuardError);
    return e as GuardError;
  }
  throw new Error(`expected parseSql to throw for ${JSON.stringify(text)}`);
}

function where(e: GuardError) {
  return { message: e.message, file: e.file, line: e.line, column: e.column };
}

describe("parseSql: UTF-16 spans with non-ASCII text", () => {
  it("comment with accents and a BMP symbol before the statement", () => {
    const text = "-- héllo ☕\nSELECT 1;\n";
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    expect(layout(p)).toEqual([{ text: "SELECT 1", start: 11, end: 19, semicolon: 19, line: 2, column: 1 }]);
    expect(p.tokens.map((t) => [t.kind, t.text])).toEqual([
      ["SQL_COMMENT", "-- héllo ☕"],
      ["UNKNOWN", "SELECT"],
      ["ICONST", "1"],
      ["ASCII_59", ";"],
    ]);
    expect(text[p.statements[0].semicolon]).toBe(";");
  });

  it("string literals holding surrogate pairs", () => {
    const text = "SELECT '😀', 'a😀b☕c';--> statement-breakpoint\nSELECT '😀😀' || 'x';\n";
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    expect(layout(p)).toEqual([
      { text: "SELECT '😀', 'a😀b☕c'", start: 0, end: 21, semicolon: 21, line: 1, column: 1 },
      { text: "SELECT '😀😀' || 'x'", start: 47, end: 67, semicolon: 67, line: 2, column: 1 },
    ]);
    expect(p.statements[0].tokens.filter((t) => t.kind === "SCONST").map((t) => t.text)).toEqual(["'😀'", "'a😀b☕c'"]);
    expect(p.statements[1].tokens.filter((t) => t.kind === "SCONST").map((t) => t.text)).toEqual(["'😀😀'", "'x'"]);
    for (const s of p.statements) expect(text[s.semicolon]).toBe(";");
  });

  it("quoted identifiers with non-ASCII letters", () => {
    const text =
      'CREATE TABLE "naïve_table" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"çafé" text DEFAULT \'☕\'\n);\n--> statement-breakpoint\n' +
      'CREATE INDEX "ïdx_😀" ON "naïve_table" USING btree ("çafé");';
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    const create = 'CREATE TABLE "naïve_table" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"çafé" text DEFAULT \'☕\'\n)';
    const index = 'CREATE INDEX "ïdx_😀" ON "naïve_table" USING btree ("çafé")';
    expect(layout(p)).toEqual([
      { text: create, start: 0, end: create.length, semicolon: create.length, line: 1, column: 1 },
      { text: index, start: text.length - index.length - 1, end: text.length - 1, semicolon: text.length - 1, line: 6, column: 1 },
    ]);
    expect(p.statements.map((s) => s.kind)).toEqual(["CreateStmt", "IndexStmt"]);
    expect(p.statements[1].tokens.filter((t) => t.kind === "IDENT").map((t) => t.text)).toEqual([
      '"ïdx_😀"',
      '"naïve_table"',
      "btree",
      '"çafé"',
    ]);
  });

  it("comments, literals and identifiers mixed, with a comment inside a statement and before its `;`", () => {
    const text =
      "-- héllo ☕\n" +
      'INSERT INTO "naïve_table" ("çafé") VALUES (\'😀\') /* ☕ */ -- trailing ☕\n;--> statement-breakpoint\n' +
      "SELECT /* keep ☕ */ 1;";
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    const insert = 'INSERT INTO "naïve_table" ("çafé") VALUES (\'😀\')';
    const insertAt = text.indexOf("INSERT");
    const selectAt = text.indexOf("SELECT");
    expect(layout(p)).toEqual([
      { text: insert, start: insertAt, end: insertAt + insert.length, semicolon: text.indexOf("\n;") + 1, line: 2, column: 1 },
      { text: "SELECT /* keep ☕ */ 1", start: selectAt, end: text.length - 1, semicolon: text.length - 1, line: 4, column: 1 },
    ]);
    // A comment inside a statement is one of its tokens; one after its last token is not.
    expect(p.statements[0].tokens.some((t) => t.kind === "C_COMMENT" || t.kind === "SQL_COMMENT")).toBe(false);
    expect(p.statements[1].tokens.map((t) => [t.kind, t.text])).toEqual([
      ["UNKNOWN", "SELECT"],
      ["C_COMMENT", "/* keep ☕ */"],
      ["ICONST", "1"],
    ]);
  });

  it("offset() maps a node's byte location to the UTF-16 offset of its text", () => {
    const text = 'CREATE INDEX "ïdx_😀" ON "naïve_table" USING btree ("çafé");';
    const p = parseSql(text, "a.sql");
    const relation = p.statements[0].node.relation;
    expect(relation.relname).toBe("naïve_table");
    const at = p.offset(relation.location);
    expect(at).toBe(25);
    expect(text.slice(at, at + '"naïve_table"'.length)).toBe('"naïve_table"');
  });
});

describe("parseSql: statements, breakpoints, comments, directives", () => {
  it("a breakpoint chunk holding two statements gives three statements with their `;` offsets", () => {
    const text = "SELECT 1; SELECT 2;--> statement-breakpoint\nSELECT 3;";
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    expect(layout(p)).toEqual([
      { text: "SELECT 1", start: 0, end: 8, semicolon: 8, line: 1, column: 1 },
      { text: "SELECT 2", start: 10, end: 18, semicolon: 18, line: 1, column: 11 },
      { text: "SELECT 3", start: 44, end: 52, semicolon: 52, line: 2, column: 1 },
    ]);
    expect(p.statements.map((s) => s.index)).toEqual([0, 1, 2]);
  });

  it("a last statement without `;` has semicolon -1", () => {
    const p = parseSql("SELECT 1;\nSELECT 2 -- no semicolon\n", "a.sql");
    expect(layout(p)).toEqual([
      { text: "SELECT 1", start: 0, end: 8, semicolon: 8, line: 1, column: 1 },
      { text: "SELECT 2", start: 10, end: 18, semicolon: -1, line: 2, column: 1 },
    ]);
  });

  it("breakpoint markers and comments between statements belong to no statement", () => {
    const text =
      "-- a header comment\n" +
      'CREATE TABLE "t" (\n\t"id" integer\n);\n--> statement-breakpoint\n' +
      "-- a comment; with a semicolon\n/* and a block one */\n" +
      'ALTER TABLE "t" ADD COLUMN "x" text;--> statement-breakpoint\n' +
      'CREATE INDEX "t_x_idx" ON "t" USING btree ("x");\n-- trailing comment\n';
    const p = parseSql(text, "a.sql");
    expectTokenSpans(p);
    expect(p.statements.map((s) => s.text)).toEqual([
      'CREATE TABLE "t" (\n\t"id" integer\n)',
      'ALTER TABLE "t" ADD COLUMN "x" text',
      'CREATE INDEX "t_x_idx" ON "t" USING btree ("x")',
    ]);
    for (const s of p.statements) {
      expect(s.tokens.filter((t) => t.kind === "SQL_COMMENT" || t.kind === "C_COMMENT")).toEqual([]);
      expect(s.text).not.toContain("statement-breakpoint");
    }
    const comments = p.tokens.filter((t) => t.kind === "SQL_COMMENT" || t.kind === "C_COMMENT").map((t) => t.text);
    expect(comments).toEqual([
      "-- a header comment",
      "--> statement-breakpoint",
      "-- a comment; with a semicolon",
      "/* and a block one */",
      "--> statement-breakpoint",
      "-- trailing comment",
    ]);
    expect(p.statements.map((s) => text[s.semicolon])).toEqual([";", ";", ";"]);
    expect(p.nonTransactional).toBe(false);
    expect(p.directives).toEqual([]);
  });

  it("the transaction=off directive sets nonTransactional; other directives are listed", () => {
    const text =
      "-- drizzle-guard: transaction=off\n-- drizzle-guard: approve drop-column\n" +
      'CREATE INDEX CONCURRENTLY "i" ON "t" ("a");';
    const p = parseSql(text, "a.sql");
    expect(p.nonTransactional).toBe(true);
    expect(p.directives.map((d) => ({ name: d.name, args: d.args, line: d.line, text: d.token.text }))).toEqual([
      { name: "transaction", args: "off", line: 1, text: "-- drizzle-guard: transaction=off" },
      { name: "approve", args: "drop-column", line: 2, text: "-- drizzle-guard: approve drop-column" },
    ]);
    expect(layout(p)).toEqual([
      { text: 'CREATE INDEX CONCURRENTLY "i" ON "t" ("a")', start: 72, end: 114, semicolon: 114, line: 3, column: 1 },
    ]);
  });

  it("directive text inside a string literal is not a directive", () => {
    const p = parseSql("SELECT '-- drizzle-guard: transaction=off';\n", "a.sql");
    expect(p.nonTransactional).toBe(false);
    expect(p.directives).toEqual([]);
    expect(p.statements.map((s) => s.text)).toEqual(["SELECT '-- drizzle-guard: transaction=off'"]);
  });

  it("comment-only and whitespace-only input give zero statements", () => {
    for (const text of ["-- only a comment\n", "-- c", "/* block ☕ */\n--> statement-breakpoint\n", "   \n\t\n"]) {
      const p = parseSql(text, "a.sql");
      expect(p.statements).toEqual([]);
      expect(p.nonTransactional).toBe(false);
      expectTokenSpans(p);
    }
  });

  it("empty input gives zero statements (regression: libpg-query refuses an empty query)", () => {
    const p = parseSql("", "empty.sql");
    expect(p.statements).toEqual([]);
    expect(p.tokens).toEqual([]);
    expect(p.nonTransactional).toBe(false);
  });
});

describe("parseSql: errors", () => {
  it("a syntax error gives GuardError with file, 1-based line and column (ASCII text)", () => {
    expect(where(parseError("SELECT 1;\nSELECT 2 FROM;\n"))).toEqual({
      message: 'syntax error at or near ";"',
      file: "0001_x.sql",
      line: 2,
      column: 14,
    });
    expect(where(parseError("SELEC 1;", "b.sql"))).toEqual({
      message: 'syntax error at or near "SELEC"',
      file: "b.sql",
      line: 1,
      column: 1,
    });
  });

  it("syntax error column is right when non-ASCII text precedes it on the same line (regression: the error cursor counts code points, not bytes)", () => {
    // `;` is at UTF-16 offset 16 (the emoji is two code units): column 17.
    const text = "SELECT '😀' FROM;";
    expect(text.indexOf(";")).toBe(16);
    expect(where(parseError(text))).toEqual({
      message: 'syntax error at or near ";"',
      file: "0001_x.sql",
      line: 1,
      column: 17,
    });
    // `x` is at column 16 of "SELECT 'é' FRM x;".
    expect(where(parseError("SELECT 'é' FRM x;"))).toMatchObject({ line: 1, column: 16 });
  });

  it("syntax error line and column are right when non-ASCII text is on earlier lines (regression: the error cursor counts code points)", () => {
    const text = "-- ☕☕☕☕☕☕☕☕☕☕\nSELECT 'é';\nSELECT 1 FRM x;\n";
    expect(where(parseError(text))).toEqual({
      message: 'syntax error at or near "x"',
      file: "0001_x.sql",
      line: 3,
      column: 14,
    });
  });

  it("an unterminated string literal gives GuardError at the literal", () => {
    expect(where(parseError("SELECT 1;\nSELECT 'abc;\n"))).toEqual({
      message: "unterminated quoted string at or near \"'abc;\n\"",
      file: "0001_x.sql",
      line: 2,
      column: 8,
    });
  });

  it("an unterminated dollar quote gives GuardError at the quote", () => {
    expect(where(parseError("SELECT 1;\nDO $x$ BEGIN PERFORM 1; END $y$;"))).toEqual({
      message: 'unterminated dollar-quoted string at or near "$x$ BEGIN PERFORM 1; END $y$;"',
      file: "0001_x.sql",
      line: 2,
      column: 4,
    });
  });

  it("GuardError.format() gives file:line:col: message", () => {
    expect(parseError("SELECT 1;\nSELECT 2 FROM;\n", "m/0002_y.sql").format()).toBe('m/0002_y.sql:2:14: syntax error at or near ";"');
  });
});

/** Everything a ParsedSql tells, as plain data (tokens included, read through the lazy getters). */
function everything(p: ParsedSql) {
  return {
    statements: p.statements.map((s) => ({ ...layout({ ...p, statements: [s] })[0], index: s.index, kind: s.kind, node: s.node, tokens: s.tokens })),
    tokens: p.tokens,
    directives: p.directives,
    nonTransactional: p.nonTransactional,
  };
}

/** True when the statements' spans came without the scanner (their tokens are then scanned on first use). */
const spansWithoutScanner = (p: ParsedSql) => p.statements.length > 0 && p.statements.every((s) => Object.getOwnPropertyDescriptor(s, "tokens")?.get);

describe("parseSql: statement spans without the scanner", () => {
  const fixtureFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? fixtureFiles(join(dir, e.name)) : e.name.endsWith(".sql") ? [join(dir, e.name)] : []));

  it("give the same statements, tokens and directives as the scanner on every fixture (drizzle-kit output and rewritten files)", () => {
    const files = fixtureFiles(join(import.meta.dirname, "..", "fixtures"));
    expect(files.length).toBeGreaterThan(40);
    let withoutScanner = 0;
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const fast = parseSql(text, f);
      if (spansWithoutScanner(fast)) withoutScanner++;
      expect(everything(fast), f).toEqual(everything(parseSql(text, f, { scan: true })));
    }
    // Plain drizzle-kit output (no comment inside a statement) is the common case the shortcut is for.
    expect(withoutScanner).toBeGreaterThan(files.length / 2);
  });

  it("are used for drizzle-kit output and give way to the scanner where a statement holds a comment", () => {
    const kit = readFileSync(join(import.meta.dirname, "..", "fixtures", "corpus", "shop", "0001_billing.sql"), "utf8");
    expect(spansWithoutScanner(parseSql(kit))).toBe(true);
    expect(spansWithoutScanner(parseSql("SELECT 1 -- one\n;\nSELECT 2;"))).toBe(false);
    expect(spansWithoutScanner(parseSql("SELECT '--';"))).toBe(false);
  });

  it.each([
    ["comments and breakpoints between statements", "-- head\n/* c /* nested */ */ SELECT 1;--> statement-breakpoint\n\tSELECT 2 ;  -- tail\n"],
    ["a last statement without `;` and a trailing comment", "SELECT 1;\nSELECT 2\n-- the end"],
    ["a comment inside a statement and before its `;`", "CREATE TABLE t (\n  a int -- first\n) /* x */ ;\nSELECT 1;"],
    ["`--` and `/*` inside literals", "SELECT '-- no', $$ /* no */ $$, \"a--b\";\nSELECT 1;"],
    ["empty statements", "SELECT 1;;\n;SELECT 2;"],
    ["directives", "-- drizzle-guard: transaction=off\n-- drizzle-guard: approve ban-drop-table gone\nDROP TABLE t;\n"],
    ["non-ASCII text", "-- café ☕\nSELECT 'naïve 𝄞' AS \"ü\";\n/* ñ */ SELECT 2;"],
    ["CR and form feed whitespace", "SELECT 1;\r\n\fSELECT 2;\r\n"],
    ["an unterminated comment at the end", "SELECT 1;\n/* open"],
  ])("%s: same result both ways", (_, text) => {
    let fast: ParsedSql | undefined;
    let error: unknown;
    try {
      fast = parseSql(text);
    } catch (e) {
      error = e;
    }
    if (error) expect(() => parseSql(text, "<sql>", { scan: true })).toThrow((error as Error).message);
    else expect(everything(fast!)).toEqual(everything(parseSql(text, "<sql>", { scan: true })));
  });
});
