/**
 * The only module that owns MagicString: applies the edits transforms return.
 * Offsets always refer to the original text. Inserts at the same offset are kept in the order they
 * are given (the registry's order), so `CONCURRENTLY` lands before `IF NOT EXISTS`.
 */
import MagicString from "magic-string";
import { GuardError } from "./errors.js";

export interface Edit {
  /** UTF-16 offsets into the original text; an insert has start === end. */
  start: number;
  end: number;
  text: string;
  /** Who asked for it (transform id), for conflict messages and reports. */
  by?: string;
}

export class EditConflictError extends GuardError {
  constructor(a: Edit, b: Edit, file?: string) {
    super(
      `overlapping edits: [${a.start},${a.end}) by ${a.by ?? "?"} and [${b.start},${b.end}) by ${b.by ?? "?"}`,
      { file, exitCode: 70 },
    );
  }
}

/** Throws EditConflictError when two edits touch the same original characters. */
export function checkConflicts(edits: readonly Edit[], file?: string): void {
  const sorted = [...edits].sort((x, y) => x.start - y.start || x.end - y.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    const prevIsInsert = prev.start === prev.end;
    const curIsInsert = cur.start === cur.end;
    // Two inserts at one point are ordered, not conflicting. An insert touching a replacement's
    // boundary is fine; anything strictly inside a replaced range is a conflict.
    if (prevIsInsert && curIsInsert) continue;
    if (cur.start < prev.end || (curIsInsert && cur.start > prev.start && cur.start < prev.end)) {
      throw new EditConflictError(prev, cur, file);
    }
  }
}

/**
 * Applies `edits` to `text[from, to)` and returns the edited slice. Edits must lie within the
 * range; inserts at the same offset keep their given order.
 */
export function applyEdits(text: string, edits: readonly Edit[], from = 0, to = text.length, file?: string): string {
  checkConflicts(edits, file);
  const part = text.slice(from, to);
  if (edits.length === 0) return part;
  const s = new MagicString(part);
  for (const e of edits) {
    if (e.start < from || e.end > to || e.start > e.end) {
      throw new GuardError(`edit [${e.start},${e.end}) by ${e.by ?? "?"} is outside [${from},${to})`, { file, exitCode: 70 });
    }
  }
  // Replacements first: an overwrite drops what was already appended at its end boundary.
  for (const e of edits) if (e.start !== e.end) s.overwrite(e.start - from, e.end - from, e.text);
  // appendLeft keeps call order among inserts at one offset.
  for (const e of edits) if (e.start === e.end) s.appendLeft(e.start - from, e.text);
  return s.toString();
}
