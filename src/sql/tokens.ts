/** Helpers to place edits from tokens. Pure; offsets are UTF-16. */
import { isComment, type Token } from "./parse.js";

/** Tokens without comments. */
export function code(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => !isComment(t));
}

export function isWord(t: Token | undefined, word: string): boolean {
  return !!t && t.keyword !== "NO_KEYWORD" && t.upper === word;
}

/** Index of the first keyword token `word` at or after `from`, or -1. */
export function findWord(tokens: readonly Token[], word: string, from = 0): number {
  for (let i = from; i < tokens.length; i++) if (isWord(tokens[i], word)) return i;
  return -1;
}

/**
 * Matches `words` in order starting at tokens[from]; a word ending in `?` is optional. Comments
 * between the words are skipped (`DROP /* x *\/ COLUMN`). Returns the index of the last matched token, or -1.
 */
export function matchWords(tokens: readonly Token[], from: number, words: readonly string[]): number {
  let i = from;
  let last = -1;
  for (const w of words) {
    const optional = w.endsWith("?");
    const word = optional ? w.slice(0, -1) : w;
    while (tokens[i] && isComment(tokens[i])) i++;
    if (isWord(tokens[i], word)) {
      last = i;
      i++;
    } else if (!optional) return -1;
  }
  return last;
}

/** Index of the token that starts at `offset`, or -1. */
export function tokenAt(tokens: readonly Token[], offset: number): number {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].start === offset) return i;
    if (tokens[i].start > offset) break;
  }
  return -1;
}

/** Given the index of a name's first token, the index just past `a`, `a.b` or `a.b.c`. */
export function skipQualifiedName(tokens: readonly Token[], i: number): number {
  let j = i + 1;
  while (tokens[j]?.text === "." && tokens[j + 1]) j += 2;
  return j;
}

/** Splits tokens[from..] on commas at parenthesis depth 0. */
export function splitTopLevel(tokens: readonly Token[], from: number): Token[][] {
  const groups: Token[][] = [[]];
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === "(" || t.text === "[") depth++;
    else if (t.text === ")" || t.text === "]") depth--;
    if (depth === 0 && t.text === ",") groups.push([]);
    else groups[groups.length - 1].push(t);
  }
  return groups;
}


/**
 * Where text before tokens[i] can start to be removed along with it: the end of the token before it, or
 * tokens[i]'s own start when that token is a `--` comment, which ends at its line break: removing the break
 * would comment out what follows (a `;`, the next statement).
 */
export function removableFrom(tokens: readonly Token[], i: number): number {
  const prev = tokens[i - 1];
  return prev.kind === "SQL_COMMENT" ? tokens[i].start : prev.end;
}

/** The end of the last token before tokens[i] that is not a comment. */
export function codeEndBefore(tokens: readonly Token[], i: number): number {
  let k = i - 1;
  while (k > 0 && isComment(tokens[k])) k--;
  return tokens[k].end;
}
