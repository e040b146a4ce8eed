/**
 * The only module that touches libpg-query.
 *
 * libpg-query reports every location as a UTF-8 *byte* offset into the query; JavaScript strings
 * are indexed in UTF-16 code units. Both are converted here, once, so everything downstream
 * (transforms, the edit engine, lint) works with plain string indices.
 */
import { createRequire } from "node:module";
import { GuardError } from "../errors.js";

// libpg-query is CommonJS: required directly rather than imported, which skips the ESM loader's scan
// of its source for named exports (part of every command's start-up).
const { loadModule, parseSync, scanSync, parsePlPgSQLSync } = createRequire(import.meta.url)("libpg-query") as typeof import("libpg-query");

await loadModule();

export interface Token {
  /** UTF-16 offsets into the file text, end exclusive. */
  start: number;
  end: number;
  text: string;
  /** libpg-query token name: IDENT, SCONST, SQL_COMMENT, C_COMMENT, ASCII_59 (;), UNKNOWN (keywords) ... */
  kind: string;
  /** NO_KEYWORD, UNRESERVED_KEYWORD, RESERVED_KEYWORD, ... */
  keyword: string;
  /** Upper-cased text for keywords, the raw text otherwise. */
  upper: string;
}

/** A parsed statement: the libpg-query node plus its exact place in the text. */
export interface Statement {
  index: number;
  /** Node type, e.g. "CreateStmt", "IndexStmt", "AlterTableStmt". */
  kind: string;
  /** The node's fields (the value under `kind`). */
  node: any;
  /** UTF-16 span of the statement text, from its first token to its last, excluding the `;`. */
  start: number;
  end: number;
  /** Offset of the terminating `;`, or -1 when the statement is the last one and has none. */
  semicolon: number;
  /** Tokens of the statement (comments inside it included), in order. */
  tokens: Token[];
  text: string;
  /** 1-based position of the statement's first token. */
  line: number;
  column: number;
}

export interface Directive {
  /** `transaction`, `approve`, `phase`, ... : the word after `drizzle-guard:`. */
  name: string;
  args: string;
  token: Token;
  line: number;
}

export interface ParsedSql {
  file: string;
  text: string;
  statements: Statement[];
  /** Every token of the file, comments included. */
  tokens: Token[];
  /** `-- drizzle-guard: <name> <args>` comments, in order. */
  directives: Directive[];
  /** True when the file carries the `-- drizzle-guard: transaction=off` header. */
  nonTransactional: boolean;
  /** Converts a UTF-16 offset into a 1-based line and column. */
  position(offset: number): { line: number; column: number };
  /** Converts a byte offset reported by libpg-query (a node's `location`) into a UTF-16 offset. */
  offset(byteOffset: number): number;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Maps UTF-8 byte offsets of `text` to UTF-16 offsets. Identity for ASCII text. */
export function byteToUtf16Mapper(text: string): (byteOffset: number) => number {
  if (ASCII_ONLY.test(text)) return (b) => b;
  const map: number[] = [];
  let byte = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let width: number;
    if (code < 0x80) width = 1;
    else if (code < 0x800) width = 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point: both UTF-16 units start at the same byte run.
      for (let k = 0; k < 4; k++) map[byte + k] = i;
      byte += 4;
      i++;
      continue;
    } else width = 3;
    for (let k = 0; k < width; k++) map[byte + k] = i;
    byte += width;
  }
  map[byte] = text.length;
  return (b) => (b >= byte ? text.length : map[b]);
}

export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

export function positionOf(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}

const DIRECTIVE = /^--\s*drizzle-guard:\s*([a-z][\w-]*)(?:[=\s]\s*(.*))?$/i;

/**
 * Parses a SQL file. Throws a GuardError with `file:line:col` and PostgreSQL's message when the
 * text is not valid SQL. `scan: true` takes the statement spans from the scanner even where the
 * parse tree gives them (the result is the same; tests compare the two).
 */
export function parseSql(text: string, file = "<sql>", opts: { scan?: boolean } = {}): ParsedSql {
  const starts = lineStarts(text);
  const position = (offset: number) => positionOf(starts, offset);
  const toUtf16 = byteToUtf16Mapper(text);

  // libpg-query reads the text as a C string: everything after a NUL would be silently left out
  // (`SELECT 1;\0DROP TABLE t;` parsed as one SELECT). PostgreSQL does not accept NUL in SQL text either.
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    const at = position(nul);
    throw new GuardError("NUL character (U+0000) in the SQL text: PostgreSQL does not accept it, and the parser would stop reading there", { file, line: at.line, column: at.column });
  }

  let ast: { stmts?: Array<{ stmt: Record<string, any>; stmt_location?: number; stmt_len?: number }> };
  try {
    ast = isBlank(text) ? { stmts: [] } : (parseSync(text) as any);
  } catch (e: any) {
    // Unlike node locations, PostgreSQL's error cursor counts characters (code points), 0-based here.
    const cursor = typeof e?.sqlDetails?.cursorPosition === "number" ? e.sqlDetails.cursorPosition : 0;
    const at = position(codePointToUtf16(text, Math.max(0, cursor)));
    throw new GuardError(String(e?.sqlDetails?.message ?? e?.message ?? e), { file, line: at.line, column: at.column, cause: e });
  }

  const stmts = ast.stmts ?? [];
  // The scanner (a second pass over the whole text through WebAssembly) is the larger part of parsing.
  // Most callers (lint, check) only need statement spans and comments, which the parse tree's
  // statement locations and the text between statements give: the tokens are scanned when first asked for.
  let scanned: Token[] | undefined;
  const allTokens = (): Token[] => (scanned ??= scanTokens(text, toUtf16));
  const fast = opts.scan ? undefined : spansWithoutScan(text, stmts, toUtf16, position, allTokens);
  const statements = fast?.statements ?? statementsFromTokens(text, stmts, allTokens(), toUtf16, position);
  const comments = fast ? fast.comments : allTokens().filter((t) => t.kind === "SQL_COMMENT");

  const directives: Directive[] = [];
  for (const t of comments) {
    if (t.kind !== "SQL_COMMENT") continue;
    const m = DIRECTIVE.exec(t.text.trimEnd());
    if (m) directives.push({ name: m[1].toLowerCase(), args: (m[2] ?? "").trim(), token: t, line: position(t.start).line });
  }
  const nonTransactional = directives.some((d) => d.name === "transaction" && /^off\b/i.test(d.args));

  return {
    file,
    text,
    statements,
    get tokens() {
      return allTokens();
    },
    directives,
    nonTransactional,
    position,
    offset: toUtf16,
  };
}

type RawStmt = { stmt: Record<string, any>; stmt_location?: number; stmt_len?: number };

/**
 * The scanner's tokens of `text` (comments included) with UTF-16 offsets. Works on text that is not
 * a complete statement too, e.g. a PL/pgSQL body or a qualified name held in a string literal.
 */
export function scanTokens(text: string, toUtf16: (b: number) => number = byteToUtf16Mapper(text)): Token[] {
  const rawTokens = text.trim() === "" ? [] : scanSync(scannable(text)).tokens;
  return rawTokens.map((t) => {
    const start = toUtf16(t.start);
    const end = toUtf16(t.end);
    const tokenText = text.slice(start, end);
    const keyword = t.keywordName ?? "NO_KEYWORD";
    return {
      start,
      end,
      text: tokenText,
      kind: t.tokenName,
      keyword,
      upper: keyword === "NO_KEYWORD" ? tokenText : tokenText.toUpperCase(),
    };
  });
}

/**
 * The scanner's JSON holds each token's text with control characters unescaped, which JSON.parse refuses
 * (a comment or literal holding U+000E threw a SyntaxError). Only offsets and kinds are read from it (the
 * text is taken from `text`), so the scan is of a copy in which each such character is replaced by one
 * that scans the same way and has the same UTF-8 width: \v and \f (whitespace) by a space, the others (a
 * one-character token outside literals and comments) by DEL.
 */
function scannable(text: string): string {
  return text.replace(/[\x01-\x08\x0b\x0c\x0e-\x1f]/g, (c) => (c === "\x0b" || c === "\x0c" ? " " : "\x7f"));
}

/** Statement spans from the scanner's tokens: the general way, for any text libpg-query parses. */
function statementsFromTokens(
  text: string,
  stmts: RawStmt[],
  tokens: Token[],
  toUtf16: (b: number) => number,
  position: (offset: number) => { line: number; column: number },
): Statement[] {
  const statements: Statement[] = [];
  let ti = 0;
  for (let i = 0; i < stmts.length; i++) {
    const raw = stmts[i];
    const kind = Object.keys(raw.stmt)[0];
    const byteStart = raw.stmt_location ?? 0;
    const byteEnd = raw.stmt_len ? byteStart + raw.stmt_len : Number.POSITIVE_INFINITY;
    const from = toUtf16(byteStart);
    const to = byteEnd === Number.POSITIVE_INFINITY ? text.length : toUtf16(byteEnd);
    // The first real token at or after the reported location (PostgreSQL may include comments).
    while (ti < tokens.length && (tokens[ti].start < from || isComment(tokens[ti]))) ti++;
    const own: Token[] = [];
    let semicolon = -1;
    while (ti < tokens.length) {
      const t = tokens[ti];
      if (t.kind === "ASCII_59" && t.start >= to) {
        semicolon = t.start;
        ti++;
        break;
      }
      if (t.start >= to && !isComment(t)) break;
      if (t.start >= to && isComment(t)) {
        // A comment between the statement's end and its `;` (rare): not part of the statement.
        ti++;
        continue;
      }
      own.push(t);
      ti++;
    }
    while (own.length && isComment(own[own.length - 1])) own.pop();
    if (own.length === 0) continue;
    const start = own[0].start;
    const end = own[own.length - 1].end;
    const at = position(start);
    statements.push({
      index: statements.length,
      kind,
      node: raw.stmt[kind],
      start,
      end,
      semicolon,
      tokens: own,
      text: text.slice(start, end),
      line: at.line,
      column: at.column,
    });
  }
  return statements;
}

/** PostgreSQL's whitespace: space, \t, \n, \r, \f, \v. */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * Statement spans and comments without the scanner, for the common shape: statements whose text holds no
 * comment (no `--` or `/*` anywhere inside, so no literal can hide one either), separated by `;`, whitespace and
 * comments. The gaps between statements are outside every literal, so whitespace and comments are all they can
 * hold; a gap with anything else, or a statement with `--` or `/*` inside, returns undefined and the caller scans.
 * The result is the same as statementsFromTokens' (a test compares the two on every fixture).
 */
function spansWithoutScan(
  text: string,
  stmts: RawStmt[],
  toUtf16: (b: number) => number,
  position: (offset: number) => { line: number; column: number },
  allTokens: () => Token[],
): { statements: Statement[]; comments: Token[] } | undefined {
  const comments: Token[] = [];
  /** Skips whitespace and comments from `i`; returns where the next token starts, or -1 on an unterminated comment. */
  const skip = (i: number): number => {
    for (;;) {
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      if (text.startsWith("--", i)) {
        let j = i + 2;
        while (j < text.length && text[j] !== "\n" && text[j] !== "\r") j++;
        comments.push(commentToken(text, i, j, "SQL_COMMENT"));
        i = j;
      } else if (text.startsWith("/*", i)) {
        let depth = 1;
        let j = i + 2;
        while (j < text.length && depth > 0) {
          // PostgreSQL's block comments nest.
          if (text.startsWith("/*", j)) {
            depth++;
            j += 2;
          } else if (text.startsWith("*/", j)) {
            depth--;
            j += 2;
          } else j++;
        }
        if (depth > 0) return -1;
        comments.push(commentToken(text, i, j, "C_COMMENT"));
        i = j;
      } else return i;
    }
  };
  const statements: Statement[] = [];
  let boundary = 0;
  for (const raw of stmts) {
    const kind = Object.keys(raw.stmt)[0];
    const from = toUtf16(raw.stmt_location ?? 0);
    const start = skip(boundary);
    if (start < 0 || start < from) return undefined;
    const to = raw.stmt_len ? toUtf16((raw.stmt_location ?? 0) + raw.stmt_len) : text.length;
    let end = to;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    if (end <= start) return undefined;
    const body = text.slice(start, end);
    if (body.includes("--") || body.includes("/*")) return undefined;
    if (to < text.length && text[to] !== ";") return undefined;
    const semicolon = to < text.length ? to : -1;
    boundary = semicolon >= 0 ? semicolon + 1 : text.length;
    const at = position(start);
    let own: Token[] | undefined;
    statements.push({
      index: statements.length,
      kind,
      node: raw.stmt[kind],
      start,
      end,
      semicolon,
      // The file's tokens inside the span, scanned on first use.
      get tokens() {
        return (own ??= tokensIn(allTokens(), start, end));
      },
      text: body,
      line: at.line,
      column: at.column,
    });
  }
  if (skip(boundary) !== text.length) return undefined;
  return { statements, comments };
}

function commentToken(text: string, start: number, end: number, kind: "SQL_COMMENT" | "C_COMMENT"): Token {
  const t = text.slice(start, end);
  return { start, end, text: t, kind, keyword: "NO_KEYWORD", upper: t };
}

/** The tokens that start in [start, end) (sorted input: two binary searches). */
function tokensIn(tokens: Token[], start: number, end: number): Token[] {
  const first = (offset: number) => {
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid].start < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return tokens.slice(first(start), first(end));
}


/**
 * Only whitespace and comments (libpg-query refuses an empty query). A scan, not a regular expression:
 * `^(?:\s+|...)*$` backtracked exponentially on a run of whitespace before the first token.
 */
function isBlank(text: string): boolean {
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) i++;
    else if (text.startsWith("--", i)) {
      const j = text.indexOf("\n", i);
      if (j < 0) return true;
      i = j + 1;
    } else if (text.startsWith("/*", i)) {
      const j = text.indexOf("*/", i + 2);
      if (j < 0) return false;
      i = j + 2;
    } else return false;
  }
  return true;
}

/** The UTF-16 offset of the `n`th code point of `text`. */
/** Directives named `name` between the previous statement and this one (i.e. directly above it). */
export function directivesAbove(f: ParsedSql, s: Statement, name: string): Directive[] {
  const prevEnd = s.index > 0 ? f.statements[s.index - 1].end : -1;
  return f.directives.filter((d) => d.name === name && d.token.start > prevEnd && d.token.end <= s.start);
}

export function codePointToUtf16(text: string, n: number): number {
  let i = 0;
  for (let k = 0; k < n && i < text.length; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

export function isComment(t: Token): boolean {
  return t.kind === "SQL_COMMENT" || t.kind === "C_COMMENT";
}

/** Parses a PL/pgSQL function body (used to check that generated DO blocks are valid). */
export function parsePlpgsqlBlock(body: string): unknown {
  return parsePlPgSQLSync(`CREATE FUNCTION drizzle_guard_check() RETURNS void LANGUAGE plpgsql AS $dg_check$${body}$dg_check$;`);
}

