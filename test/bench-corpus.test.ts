/**
 * The benchmark corpus generator (bench/corpus.mjs): the same seed gives the same folder byte for byte, its files
 * are drizzle-kit output drizzle-guard parses, and the folder is a valid drizzle-kit folder (journal and snapshot
 * chain) that a dry-run rewrite accepts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFolder } from "../src/folder/folder.js";
import { rewriteFolder } from "../src/rewrite.js";
import { parseSql } from "../src/sql/parse.js";
import { tree } from "./helpers/project.js";
// @ts-expect-error plain JavaScript module without types
import { writeCorpus } from "../bench/corpus.mjs";

describe("bench corpus generator", () => {
  it("is deterministic, parses, and is a folder rewrite accepts", async () => {
    const base = mkdtempSync(join(tmpdir(), "dg-corpus-"));
    try {
      const a = await writeCorpus(join(base, "a"), { files: 40, seed: 7 });
      await writeCorpus(join(base, "b"), { files: 40, seed: 7 });
      const ta = tree(join(base, "a"));
      expect(tree(join(base, "b"))).toEqual(ta);
      expect(Object.keys(ta).filter((f) => f.endsWith(".sql"))).toHaveLength(40);

      const folder = readFolder(join(base, "a"));
      expect(folder.journal.entries.map((e) => e.idx)).toEqual([...Array(40).keys()]);
      let statements = 0;
      let prevId = "00000000-0000-0000-0000-000000000000";
      for (const e of folder.journal.entries) {
        const text = ta[`${e.tag}.sql`];
        statements += parseSql(text, e.tag).statements.length;
        const snap = JSON.parse(readFileSync(join(base, "a", "meta", `${e.tag.slice(0, 4)}_snapshot.json`), "utf8"));
        expect(snap.prevId).toBe(prevId);
        prevId = snap.id;
      }
      expect(statements).toBe(a.statements);

      const plan = rewriteFolder(join(base, "a"), { dryRun: true });
      expect(plan.entries).toHaveLength(40);
      expect(tree(join(base, "a"))).toEqual(ta); // dry run: nothing written
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
