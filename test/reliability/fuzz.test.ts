/**
 * Fuzzing: real drizzle-kit SQL (every fixture input and the shop corpus) mutated token by token with
 * fast-check (tokens deleted, duplicated, swapped; unicode; identifiers of 63+ bytes; unterminated
 * strings, dollar quotes and comments), through rewrite (existing and new migrations), lint and check.
 * Never an exception but a GuardError with file:line:col; every input statement is in the output
 * (verbatim, or edited and counted as changed) and gets a lint row; none is silently dropped. Invalid
 * SQL through the commands: exit 2, file:line:col, nothing written. And a 10 MB file.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GuardError } from "../../src/errors.js";
import { check } from "../../src/lint/check.js";
import { lintText } from "../../src/lint/lint.js";
import { rewriteFolder } from "../../src/rewrite.js";
import { NON_TX_HEADER, rewriteSql, type SqlRewrite } from "../../src/rewrite-sql.js";
import { parseSql, scanTokens } from "../../src/sql/parse.js";
import { CORPUS } from "../helpers/corpus.js";
import { snapshot } from "../helpers/folder.js";
import { BIN, ROOT } from "../helpers/project.js";
import { counted, SEED } from "./trials.js";

const RUNS = 300;
const CHECK_RUNS = 40;

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Real drizzle-kit output: every fixture input, and the corpus's migrations. */
function seeds(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".input.sql") || (dir === CORPUS && e.name.endsWith(".sql"))) out.push(readFileSync(join(dir, e.name), "utf8"));
    }
  };
  walk(join(ROOT, "fixtures"));
  return out;
}
const SEEDS = seeds();
const SEED_TOKENS = SEEDS.map((s) => scanTokens(s));

/** A mutation of a token list: indices are taken modulo the number of tokens (or statements, identifiers, strings). */
type Mutation =
  | { op: "delete" | "duplicate"; at: number }
  | { op: "swap"; at: number; with: number }
  | { op: "insert"; at: number; text: string }
  | { op: "ident" | "string" | "comment"; at: number; text: string }
  | { op: "delete-statement" | "duplicate-statement"; at: number }
  | { op: "swap-statements"; at: number; with: number };

const LONG_IDENT = fc.oneof(
  fc.constant("a".repeat(64)),
  fc.constant(`"${"é".repeat(40)}"`), // 80 bytes, 40 characters
  fc.constant("ü".repeat(32)), // 64 bytes unquoted
  fc.constant(`"${"🦆".repeat(20)}"`),
  fc.string({ unit: "grapheme", minLength: 32, maxLength: 80 }).map((s) => `"${s.replace(/"/g, '""').replace(/\0/g, "")}"`),
);
const UNICODE = fc.string({ unit: "grapheme", maxLength: 24 });
const HOSTILE = fc.oneof(
  fc.constant("'unterminated"),
  fc.constant("$$ unterminated"),
  fc.constant("$body$ select 1"),
  fc.constant("E'\\'"),
  fc.constant("/* unclosed"),
  fc.constant('"unclosed'),
  fc.constant("-- drizzle-guard: transaction=off\n"),
  fc.constant(";"),
  fc.constant("--> statement-breakpoint\n"),
  fc.constant("\u0000"),
  fc.constant("\uFEFF"),
  fc.constant("\u2028"),
  fc.constant("\n \t".repeat(20)),
  UNICODE,
  fc.string({ unit: "binary", maxLength: 6 }),
  LONG_IDENT,
);
const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom("delete" as const, "duplicate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: HOSTILE.map((t) => ` ${t} `) }),
  // Mutations that usually keep the SQL valid, so that the rewrite and lint get past the parser.
  fc.record({ op: fc.constant("ident" as const), at: fc.nat(), text: LONG_IDENT }),
  fc.record({ op: fc.constant("string" as const), at: fc.nat(), text: UNICODE }),
  fc.record({ op: fc.constant("comment" as const), at: fc.nat(), text: UNICODE }),
  fc.record({ op: fc.constantFrom("delete-statement" as const, "duplicate-statement" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swap-statements" as const), at: fc.nat(), with: fc.nat() }),
);

/** Applies mutations to a seed's tokens; the text between tokens (whitespace, breakpoints) is kept. */
function mutate(seed: number, mutations: Mutation[]): string {
  const text = SEEDS[seed];
  const tokens = SEED_TOKENS[seed];
  const gaps: string[] = [];
  let cursor = 0;
  for (const t of tokens) {
    gaps.push(text.slice(cursor, t.start));
    cursor = t.end;
  }
  gaps.push(text.slice(cursor));
  const toks = tokens.map((t) => t.text);
  const n = toks.length;
  if (n === 0) return text;
  const ofKind = (kind: string) => tokens.map((t, i) => (t.kind === kind ? i : -1)).filter((i) => i >= 0);
  // Statements: token ranges ending with a `;` (the last one may have none).
  const statements: number[][] = [[]];
  tokens.forEach((t, i) => {
    statements.at(-1)!.push(i);
    if (t.kind === "ASCII_59") statements.push([]);
  });
  if (statements.at(-1)!.length === 0) statements.pop();
  const statementText = (k: number) => statements[k].map((i, j) => (j ? gaps[i] : "") + toks[i]).join("");
  const setStatement = (k: number, s: string) => statements[k].forEach((i, j) => (toks[i] = j ? "" : s));
  for (const m of mutations) {
    const i = m.at % n;
    if (m.op === "delete") toks[i] = "";
    else if (m.op === "duplicate") toks[i] = `${toks[i]} ${toks[i]}`;
    else if (m.op === "swap") {
      const j = m.with % n;
      [toks[i], toks[j]] = [toks[j], toks[i]];
    } else if (m.op === "insert") toks[i] += m.text;
    else if (m.op === "ident" || m.op === "string") {
      const list = ofKind(m.op === "ident" ? "IDENT" : "SCONST");
      if (list.length) toks[list[m.at % list.length]] = m.op === "ident" ? m.text : `'${m.text.replace(/'/g, "''")}'`;
    } else if (m.op === "comment") {
      toks[i] += m.at % 2 ? ` /* ${m.text.replace(/\*\/|\/\*/g, "")} */ ` : ` -- ${m.text.replace(/[\r\n\u2028\u2029]/g, "")}\n`;
    } else {
      const k = m.at % statements.length;
      if (m.op === "delete-statement") setStatement(k, "");
      else if (m.op === "duplicate-statement") setStatement(k, `${statementText(k)}\n${statementText(k)}`);
      else {
        const l = m.with % statements.length;
        const [a, b] = [statementText(k), statementText(l)];
        setStatement(k, b);
        setStatement(l, a);
      }
    }
  }
  return gaps.map((g, i) => g + (toks[i] ?? "")).join("");
}

const INPUT = fc.record({ seed: fc.nat({ max: SEEDS.length - 1 }), mutations: fc.array(MUTATION, { minLength: 1, maxLength: 4 }) });

/** The error of `f`, which must be a GuardError placed in `text` (file, 1-based line and column inside it); undefined when `f` succeeds. */
function refusal(f: () => unknown, text: string, file: string): GuardError | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (!(e instanceof GuardError)) throw new Error(`uncaught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const lines = text.split("\n");
    expect({ file: e.file, placed: typeof e.line === "number" && typeof e.column === "number" }, e.format()).toEqual({ file, placed: true });
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lines.length);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeLessThanOrEqual(lines[e.line! - 1].length + 1);
    return e;
  }
}

/** Statements that received an edit (the way rewriteSql counts them: by where the edit starts). */
function editedStatements(rw: SqlRewrite): Set<number> {
  const out = new Set<number>();
  const statements = rw.parsed.statements;
  const edits = [...rw.edits].sort((a, b) => a.start - b.start);
  let k = 0;
  for (const e of edits) {
    while (k < statements.length && statements[k].end < e.start) k++;
    if (k < statements.length && e.start >= statements[k].start) out.add(statements[k].index);
  }
  return out;
}

/** Every input statement is in the output: verbatim and in order if no edit touched it; counted as changed if one did. */
function assertAccounted(rw: SqlRewrite, split: boolean): void {
  const statements = rw.parsed.statements;
  const edited = editedStatements(rw);
  expect(rw.changedStatements).toBe(edited.size);
  // Each statement is in exactly one part.
  const owner = new Map<number, number[]>();
  rw.parts.forEach((p, k) => p.statements.forEach((i) => owner.set(i, [...(owner.get(i) ?? []), k])));
  expect(statements.filter((s) => owner.get(s.index)?.length !== 1).map((s) => s.index)).toEqual([]);
  if (!split) expect(rw.parts).toHaveLength(1);
  const cursors = new Map<number, number>();
  for (const s of statements) {
    const k = owner.get(s.index)![0];
    const part = rw.parts[k].text;
    if (edited.has(s.index)) continue;
    const at = part.indexOf(s.text, split ? 0 : (cursors.get(k) ?? 0));
    expect(at, `statement ${s.index + 1} (${s.kind}) is missing from the output`).toBeGreaterThanOrEqual(0);
    cursors.set(k, at + s.text.length);
  }
  // The output parses, with no fewer statements than the input.
  const out = rw.parts.reduce((n, p) => n + parseSql(p.text, "out.sql").statements.length, 0);
  expect(out).toBeGreaterThanOrEqual(statements.length);
}

/** One lint row (at least) per statement, at its line and column. */
function assertLinted(text: string, parsed = parseSql(text, "fuzz.sql")): void {
  const report = lintText(text, "fuzz.sql", [], parsed);
  const rows = new Set(report.statements.map((r) => `${r.line}:${r.column}`));
  for (const s of parsed.statements) expect(rows.has(`${s.line}:${s.column}`), `statement ${s.index + 1} (${s.kind}) has no lint row`).toBe(true);
}

describe("fuzzed drizzle-kit SQL", () => {
  it(`rewrite (existing and new migrations) and lint, ${RUNS} mutated files: a GuardError with file:line:col, or every statement accounted for`, () => {
    const counts = { parsed: 0, refused: 0 };
    try {
      counted("fuzz: rewrite/lint/check", RUNS, () => {
        fc.assert(
          fc.property(INPUT, ({ seed, mutations }) => {
            const text = mutate(seed, mutations);
            const file = "fuzz.sql";
            const refused = refusal(() => parseSql(text, file), text, file);
            if (refused) {
              counts.refused++;
              // The same refusal from every entry point.
              expect(refusal(() => rewriteSql(text, file, { split: false }), text, file)?.message).toBe(refused.message);
              expect(refusal(() => lintText(text, file), text, file)?.message).toBe(refused.message);
              return;
            }
            counts.parsed++;
            for (const split of [false, true]) {
              let rw: SqlRewrite | undefined;
              const e = refusal(() => (rw = rewriteSql(text, file, { split, timeouts: split ? { lockTimeout: "5s", statementTimeout: "15min" } : undefined })), text, file);
              if (e) throw new Error(`a file that parses was refused: ${e.format()}`);
              assertAccounted(rw!, split);
            }
            assertLinted(text);
          }),
          { seed: SEED, numRuns: RUNS },
        );
      });
    } finally {
      console.log(`fuzz (DRIZZLE_GUARD_SEED=${SEED}): ${counts.parsed} mutated files parsed, ${counts.refused} refused`);
    }
    // Both kinds were exercised.
    expect(counts.parsed).toBeGreaterThan(RUNS / 10);
    expect(counts.refused).toBeGreaterThan(RUNS / 10);
  });

  it(`check on a rewritten folder with one file mutated, ${CHECK_RUNS} times: a result or a placed GuardError, never a crash`, () => {
    const base = mkdtempSync(join(tmpdir(), "dg-fuzz-"));
    roots.push(base);
    cpSync(CORPUS, join(base, "out"), { recursive: true });
    rewriteFolder(join(base, "out"));
    const tags = JSON.parse(readFileSync(join(base, "out", "meta", "_journal.json"), "utf8")).entries.map((e: any) => e.tag);
    let n = 0;
    counted("fuzz: rewrite/lint/check", CHECK_RUNS, () => {
      fc.assert(
        fc.property(INPUT, fc.nat({ max: tags.length - 1 }), ({ seed, mutations }, k) => {
          const dir = join(base, `c${n++}`);
          cpSync(join(base, "out"), dir, { recursive: true });
          const text = mutate(seed, mutations);
          writeFileSync(join(dir, `${tags[k]}.sql`), text);
          const e = refusal(() => check(dir, { naming: "timestamp", approvals: [], display: "out" }), text, `${tags[k]}.sql`);
          if (!e) {
            const r = check(dir, { naming: "timestamp", approvals: [], display: "out" });
            // The edited file is named by the integrity check.
            expect(r.checks.find((c) => c.check === "integrity")).toMatchObject({ ok: false, message: expect.stringContaining(`${tags[k]}.sql`) });
          }
          rmSync(dir, { recursive: true });
        }),
        { seed: SEED, numRuns: CHECK_RUNS },
      );
    });
  });

  it("invalid SQL through rewrite, lint and check: exit 2, file:line:col, nothing written", () => {
    const invalid = fc.sample(INPUT.map(({ seed, mutations }) => mutate(seed, mutations)).filter((t) => {
      try {
        parseSql(t);
        return false;
      } catch {
        return true;
      }
    }), { seed: SEED, numRuns: 3 });
    counted("fuzz: rewrite/lint/check", invalid.length, () => {
      for (const text of invalid) {
        const root = mkdtempSync(join(tmpdir(), "dg-fuzz-"));
        roots.push(root);
        cpSync(CORPUS, join(root, "drizzle"), { recursive: true });
        writeFileSync(join(root, "drizzle.config.json"), JSON.stringify({ dialect: "postgresql", out: "./drizzle" }));
        writeFileSync(join(root, "drizzle", "0002_catalog.sql"), text);
        const e = refusal(() => parseSql(text, "0002_catalog.sql"), text, "0002_catalog.sql")!;
        const before = snapshot(root);
        for (const args of [["rewrite"], ["check"], ["lint", "drizzle/0002_catalog.sql"]]) {
          const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
          // Every command names the file from its working directory.
          const file = "drizzle/0002_catalog.sql";
          expect({ args, status: r.status }).toEqual({ args, status: 2 });
          expect(r.stderr.startsWith(`error: ${file}:${e.line}:${e.column}: ${e.message}\n`), r.stderr).toBe(true);
          expect(snapshot(root)).toEqual(before);
        }
      }
    });
  });

  it("regression (found by this fuzzer): a comment between DROP and COLUMN gets IF EXISTS after COLUMN", () => {
    const text = 'ALTER TABLE "billing"."invoices" DROP /* paid */ COLUMN "paid_at";\n';
    const rw = rewriteSql(text, "f.sql", { split: false });
    expect(rw.parts[0].text).toBe('ALTER TABLE "billing"."invoices" DROP /* paid */ COLUMN IF EXISTS "paid_at";\n');
    const add = rewriteSql('ALTER TABLE "t" ADD -- new\nCOLUMN "c" integer;', "f.sql", { split: false });
    expect(add.parts[0].text).toBe('ALTER TABLE "t" ADD -- new\nCOLUMN IF NOT EXISTS "c" integer;');
  });

  it("regression (found by this fuzzer): an index dropped twice before it is created again: one replacement, not two overlapping edits", () => {
    const text = 'DROP INDEX "a_idx";--> statement-breakpoint\nDROP INDEX "a_idx";--> statement-breakpoint\nCREATE INDEX "a_idx" ON "t" USING btree ("b");';
    const rw = rewriteSql(text, "f.sql", { split: true });
    assertAccounted(rw, true);
    expect(rw.parts.map((p) => p.text).join("\n")).toContain('"a_idx_dg_new"');
  });

  it("regression (found by this fuzzer): a comment with a line break inside a changed type stays inside the generated comment lines", () => {
    const text = 'ALTER TABLE "accounts" ALTER COLUMN "nickname" SET DATA TYPE varchar( -- x\n120);';
    const rw = rewriteSql(text, "f.sql", { split: true });
    assertAccounted(rw, true);
    expect(rw.parts[0].text).toContain('-- drizzle-guard: table-rewrite "accounts"."nickname" its current type -> varchar( -- x 120)\n');
  });

  it("regression (found by this fuzzer): text removed after a -- comment keeps the comment's line break (the ; was commented out)", () => {
    const text = 'ALTER TABLE "accounts" ADD COLUMN "country" text --> statement-breakpoint\n  NOT NULL;\nSELECT 1;';
    const rw = rewriteSql(text, "f.sql", { split: true });
    assertAccounted(rw, true);
    expect(rw.parts[0].text).toContain('ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "country" text --> statement-breakpoint\n  ;');
    // The same for the USING of a type change, and the comment is not part of the new column's type.
    const dir = join(ROOT, "fixtures", "expand-contract-template");
    const snap = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
    const using = rewriteSql('ALTER TABLE "items" ALTER COLUMN "qty" SET DATA TYPE bigint -- wider\n USING "qty"::bigint;', "f.sql", {
      split: true,
      snapshot: snap("types.snapshot.json"),
      previousSnapshot: snap("types.previous-snapshot.json"),
    });
    assertAccounted(using, true);
    expect(using.parts[0].text).toContain('ADD COLUMN IF NOT EXISTS "qty_dg_new" bigint -- wider\n ;');
    expect(using.parts[0].text).toContain('NEW."qty_dg_new" := NEW."qty"::bigint;');
  });

  it("regression (found by this fuzzer): a last statement without ; gets one when a statement is placed after it (they ran together)", () => {
    const text = 'DROP INDEX "a_idx";--> statement-breakpoint\nCREATE UNIQUE INDEX "a_idx" ON "t" USING btree ("b") -- last\n';
    const rename = 'DO $$ BEGIN\nIF to_regclass(\'"a_idx_dg_new"\') IS NOT NULL THEN\nALTER INDEX "a_idx_dg_new" RENAME TO "a_idx";\nEND IF;\nEND $$;';
    // A new migration: the CREATE is moved before the DROP.
    const moved = rewriteSql(text, "f.sql", { split: true });
    assertAccounted(moved, true);
    expect(moved.parts.map((p) => p.text)).toEqual([
      NON_TX_HEADER +
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "a_idx_dg_new" ON "t" USING btree ("b"); -- last--> statement-breakpoint\n' +
        'DROP INDEX CONCURRENTLY IF EXISTS "a_idx";--> statement-breakpoint\n' +
        rename,
    ]);
    // A file that runs without a transaction stays in one piece: the rename is appended after it.
    const appended = rewriteSql(`-- drizzle-guard: transaction=off\n${text}`, "f.sql", { split: true });
    assertAccounted(appended, true);
    expect(appended.parts.map((p) => p.text)).toEqual([
      "-- drizzle-guard: transaction=off\n" +
        'DROP INDEX CONCURRENTLY IF EXISTS "a_idx";--> statement-breakpoint\n' +
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "a_idx_dg_new" ON "t" USING btree ("b"); -- last--> statement-breakpoint\n' +
        rename,
    ]);
  });

  it("regression (found by this fuzzer): a NUL character is refused at its place (the parser stopped reading there and the SQL after it went unseen)", () => {
    const text = 'SELECT 1;\n\0 DROP TABLE "accounts";\n';
    for (const f of [() => parseSql(text, "f.sql"), () => rewriteSql(text, "f.sql", { split: false }), () => lintText(text, "f.sql")]) {
      const e = refusal(f, text, "f.sql")!;
      expect(e.format()).toBe("f.sql:2:1: NUL character (U+0000) in the SQL text: PostgreSQL does not accept it, and the parser would stop reading there");
    }
  });

  it("regression (found by this fuzzer): control characters in a comment or literal are scanned (the scanner's JSON held them unescaped, JSON.parse threw)", () => {
    const text = `ALTER TABLE "t" DROP COLUMN "c"; -- \x0e\x01\x0b\nSELECT 'a\x1fb' \x0c;\n`;
    const parsed = parseSql(text, "f.sql", { scan: true });
    expect(parsed.tokens.map((t) => t.text)).toEqual(['ALTER', 'TABLE', '"t"', 'DROP', 'COLUMN', '"c"', ";", "-- \x0e\x01\x0b", "SELECT", "'a\x1fb'", ";"]);
    expect(parsed.tokens.every((t) => text.slice(t.start, t.end) === t.text)).toBe(true);
    const rw = rewriteSql(text, "f.sql", { split: false });
    assertAccounted(rw, false);
    expect(rw.parts[0].text).toBe(`ALTER TABLE "t" DROP COLUMN IF EXISTS "c"; -- \x0e\x01\x0b\nSELECT 'a\x1fb' \x0c;\n`);
    assertLinted(text);
  });

  it("regression (found by this fuzzer): a file starting with a long run of whitespace parses at once (the blank-file check backtracked exponentially)", () => {
    const started = performance.now();
    expect(parseSql(`${" \n".repeat(5000)}SELECT 1;`, "f.sql").statements).toHaveLength(1);
    expect(refusal(() => parseSql(`${"\n".repeat(5000)}x`, "f.sql"), `${"\n".repeat(5000)}x`, "f.sql")?.line).toBe(5001);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("a 10 MB file: rewritten and linted with every statement accounted for; cut inside a dollar quote, refused at its line", () => {
    counted("fuzz: rewrite/lint/check", 1, () => {
      const unit = SEEDS.find((s) => s.includes("CREATE TABLE") && s.includes("CREATE INDEX"))!;
      const chunks: string[] = [];
      let size = 0;
      for (let i = 0; size < 10.1 * 1024 * 1024; i++) {
        // Distinct names per copy: a table created twice would be a different file.
        const copy = unit.replace(/"([a-z_]+)"/g, (_, name) => `"${name}_${i}"`).replace(/\s*$/, "");
        chunks.push(copy);
        size += Buffer.byteLength(copy) + 30;
      }
      const text = chunks.join(";\n--> statement-breakpoint\n") + "\n";
      expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(10 * 1024 * 1024);
      const rw = rewriteSql(text, "big.sql", { split: false });
      assertAccounted(rw, false);
      assertLinted(text, rw.parsed);
      const cut = text + "DO $body$ BEGIN PERFORM 1;\n";
      const e = refusal(() => rewriteSql(cut, "big.sql", { split: false }), cut, "big.sql")!;
      expect(e.line).toBeGreaterThanOrEqual(text.split("\n").length);
    });
  });
});
