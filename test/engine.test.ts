/**
 * The edit engine: applyEdits / checkConflicts. Offsets refer to the original text; inserts at
 * one offset keep their given order; overlapping edits are detected, never left to magic-string.
 */
import { describe, expect, it } from "vitest";
import { applyEdits, checkConflicts, EditConflictError, type Edit } from "../src/engine.js";
import { GuardError } from "../src/errors.js";

const TEXT = "0123456789";

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

const ins = (at: number, text: string, by?: string): Edit => ({ start: at, end: at, text, by });
const rep = (start: number, end: number, text: string, by?: string): Edit => ({ start, end, text, by });

describe("applyEdits", () => {
  it("no edits returns the text unchanged", () => {
    expect(applyEdits(TEXT, [])).toBe("0123456789");
  });

  it("inserts at the same offset keep the given order", () => {
    expect(applyEdits(TEXT, [ins(3, "A"), ins(3, "B"), ins(3, "C")])).toBe("012ABC3456789");
    expect(applyEdits(TEXT, [ins(3, "C"), ins(3, "B"), ins(3, "A")])).toBe("012CBA3456789");
    // Interleaved with inserts elsewhere, the order at each offset is still the given one.
    expect(applyEdits(TEXT, [ins(7, "x"), ins(3, "A"), ins(0, "<"), ins(7, "y"), ins(3, "B"), ins(10, ">")])).toBe(
      "<012AB3456xy789>",
    );
  });

  it("the registry case: CONCURRENTLY lands before IF NOT EXISTS", () => {
    const sql = 'CREATE INDEX "i" ON "t" ("a");';
    const at = "CREATE INDEX".length;
    expect(applyEdits(sql, [ins(at, " CONCURRENTLY", "concurrent-index"), ins(at, " IF NOT EXISTS", "guards")])).toBe(
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" ("a");',
    );
  });

  it("replacements and deletions, given in any order", () => {
    expect(applyEdits(TEXT, [rep(2, 5, "xy")])).toBe("01xy56789");
    expect(applyEdits(TEXT, [rep(7, 9, ""), rep(0, 1, "ZERO"), rep(2, 5, "xy")])).toBe("ZERO1xy569");
    expect(applyEdits(TEXT, [rep(0, 10, "")])).toBe("");
  });

  it("adjacent replacements do not conflict", () => {
    expect(applyEdits(TEXT, [rep(5, 7, "S"), rep(2, 5, "R")])).toBe("01RS789");
    expect(applyEdits(TEXT, [rep(2, 5, "R"), rep(5, 7, "S")])).toBe("01RS789");
  });

  it("offsets are UTF-16: a replacement covering a surrogate pair", () => {
    expect(applyEdits("a😀b", [rep(1, 3, "☕"), ins(4, "!")])).toBe("a☕b!");
  });

  it("an insert at a replacement's start boundary is kept, in either order", () => {
    expect(applyEdits(TEXT, [ins(2, "I"), rep(2, 5, "R")])).toBe("01IR56789");
    expect(applyEdits(TEXT, [rep(2, 5, "R"), ins(2, "I")])).toBe("01IR56789");
  });

  it("an insert at a replacement's end boundary is kept when given after the replacement", () => {
    expect(applyEdits(TEXT, [rep(2, 5, "R"), ins(5, "I")])).toBe("01RI56789");
  });

  it("an insert at a replacement's end boundary given before the replacement is kept", () => {
    // Regression: magic-string's overwrite() clears the outro that an earlier appendLeft(5) put on
    // the chunk ending at 5, which silently dropped "I" although checkConflicts accepts the edits.
    expect(() => checkConflicts([ins(5, "I"), rep(2, 5, "R")])).not.toThrow();
    expect(applyEdits(TEXT, [ins(5, "I"), rep(2, 5, "R")])).toBe("01RI56789");
    expect(applyEdits(TEXT, [ins(5, "A"), rep(2, 5, "R"), ins(5, "B")])).toBe("01RAB56789");
  });

  it("applies to a sub-range [from, to) and returns only that slice", () => {
    expect(applyEdits(TEXT, [], 3, 8)).toBe("34567");
    expect(applyEdits(TEXT, [ins(4, "I"), rep(5, 7, "R")], 3, 8)).toBe("3I4R7");
    // Inserts exactly at from and to are inside the range.
    expect(applyEdits(TEXT, [ins(3, "<"), ins(8, ">")], 3, 8)).toBe("<34567>");
    expect(applyEdits(TEXT, [rep(3, 8, "all")], 3, 8)).toBe("all");
  });

  it("an edit outside the sub-range throws GuardError naming it and the range", () => {
    const cases: Array<[Edit, string]> = [
      [rep(1, 2, "R", "t1"), "edit [1,2) by t1 is outside [3,8)"],
      [rep(7, 9, "R", "t2"), "edit [7,9) by t2 is outside [3,8)"],
      [rep(2, 4, "R", "t3"), "edit [2,4) by t3 is outside [3,8)"],
      [ins(9, "I", "t4"), "edit [9,9) by t4 is outside [3,8)"],
      [ins(2, "I"), "edit [2,2) by ? is outside [3,8)"],
    ];
    for (const [edit, message] of cases) {
      const e = thrown(() => applyEdits(TEXT, [edit], 3, 8, "m.sql"));
      expect(e).toBeInstanceOf(GuardError);
      expect(e.message).toBe(message);
      expect((e as GuardError).file).toBe("m.sql");
      expect((e as GuardError).exitCode).toBe(70);
    }
  });

  it("an edit with start > end throws", () => {
    expect(thrown(() => applyEdits(TEXT, [rep(5, 4, "R", "t")])).message).toBe("edit [5,4) by t is outside [0,10)");
  });
});

describe("checkConflicts", () => {
  function conflict(edits: Edit[]): EditConflictError {
    const e = thrown(() => checkConflicts(edits, "c.sql"));
    expect(e).toBeInstanceOf(EditConflictError);
    expect(e).toBeInstanceOf(GuardError);
    expect((e as GuardError).exitCode).toBe(70);
    expect((e as GuardError).file).toBe("c.sql");
    // applyEdits checks before editing: the same edits throw the same error there.
    expect(thrown(() => applyEdits(TEXT, edits, 0, TEXT.length, "c.sql")).message).toBe(e.message);
    return e as EditConflictError;
  }

  it("overlapping replacements conflict, in either order", () => {
    expect(conflict([rep(2, 5, "R", "a"), rep(4, 7, "S", "b")]).message).toBe("overlapping edits: [2,5) by a and [4,7) by b");
    expect(conflict([rep(4, 7, "S", "b"), rep(2, 5, "R", "a")]).message).toBe("overlapping edits: [2,5) by a and [4,7) by b");
  });

  it("a replacement inside another, and two equal ranges, conflict", () => {
    expect(conflict([rep(2, 8, "R", "a"), rep(4, 5, "S", "b")]).message).toBe("overlapping edits: [2,8) by a and [4,5) by b");
    expect(conflict([rep(2, 5, "R", "a"), rep(2, 5, "R", "b")]).message).toBe("overlapping edits: [2,5) by a and [2,5) by b");
    expect(conflict([rep(2, 5, "R", "a"), rep(2, 8, "S")]).message).toBe("overlapping edits: [2,5) by a and [2,8) by ?");
  });

  it("an insert strictly inside a replaced range conflicts, in either order", () => {
    expect(conflict([rep(2, 5, "R", "a"), ins(3, "I", "b")]).message).toBe("overlapping edits: [2,5) by a and [3,3) by b");
    expect(conflict([ins(4, "I", "b"), rep(2, 5, "R", "a")]).message).toBe("overlapping edits: [2,5) by a and [4,4) by b");
    expect(conflict([ins(3, "I", "b"), ins(3, "J", "c"), rep(2, 8, "R", "a")]).message).toBe(
      "overlapping edits: [2,8) by a and [3,3) by b",
    );
  });

  it("inserts at one offset, inserts at boundaries and adjacent replacements do not conflict", () => {
    expect(() => checkConflicts([ins(3, "A"), ins(3, "B"), ins(3, "C")])).not.toThrow();
    expect(() => checkConflicts([ins(2, "I"), rep(2, 5, "R"), ins(5, "J")])).not.toThrow();
    expect(() => checkConflicts([rep(2, 5, "R"), ins(5, "J"), rep(5, 7, "S"), ins(2, "I")])).not.toThrow();
    expect(() => checkConflicts([])).not.toThrow();
  });
});
