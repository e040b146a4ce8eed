/**
 * The migrations folder: a whole-folder rewrite of the shop corpus (a real drizzle-kit folder): names,
 * snapshots, journal, sum file and down files; a second run is a fixed point; a dry run writes nothing.
 * readFolder's refusals (hostile folders) and crash trials of the atomic write are in test/reliability/.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFolder, sha256 } from "../src/folder/folder.js";
import { planRewrite, rewriteFolder } from "../src/rewrite.js";
import { deriveDown } from "../src/down/down.js";
import { rewriteSql } from "../src/rewrite-sql.js";
import { snapshot } from "./helpers/folder.js";
import { CORPUS } from "./helpers/corpus.js";

const OLD_TAGS = ["0000_init", "0001_billing", "0002_catalog", "0003_audit", "0004_cleanup"];
const NEW_TAGS = ["20261122011651_init", "20261122011701_billing", "20261122011719_catalog", "20261122011720_audit", "20261122011723_cleanup"];
const WHENS = [1795310211492, 1795310221251, 1795310239673, 1795310240267, 1795310243538];

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A temp root holding a fresh copy of the corpus at `<root>/shop`. */
function freshCopy(): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), "dg-folder-"));
  roots.push(root);
  const dir = join(root, "shop");
  cpSync(CORPUS, dir, { recursive: true });
  return { root, dir };
}

describe("rewriteFolder on the shop corpus", () => {
  const original = snapshot(CORPUS);

  it("the corpus is what these tests expect", () => {
    expect(Object.keys(original)).toEqual([
      "0000_init.sql",
      "0001_billing.sql",
      "0002_catalog.sql",
      "0003_audit.sql",
      "0004_cleanup.sql",
      "meta",
      "meta/0000_snapshot.json",
      "meta/0001_snapshot.json",
      "meta/0002_snapshot.json",
      "meta/0003_snapshot.json",
      "meta/0004_snapshot.json",
      "meta/_journal.json",
    ]);
    expect(JSON.parse(original["meta/_journal.json"]).entries.map((e: any) => [e.tag, e.when])).toEqual(
      OLD_TAGS.map((t, i) => [t, WHENS[i]]),
    );
  });

  it("renames tags, SQL files and snapshots, keeps `when`, writes the sum file", () => {
    const { dir } = freshCopy();
    const plan = rewriteFolder(dir);
    expect(plan.unchanged).toBe(false);
    expect(plan.entries.map((e) => [e.oldTag, e.tags, e.split])).toEqual(OLD_TAGS.map((t, i) => [t, [NEW_TAGS[i]], false]));
    for (const e of plan.entries) for (const t of e.tags) expect(t).toMatch(/^\d{14}_/);

    const after = snapshot(dir);
    expect(Object.keys(after)).toEqual([
      ...NEW_TAGS.flatMap((t) => [`${t}.down.sql`, `${t}.sql`]),
      "meta",
      ...NEW_TAGS.map((t) => `meta/${t.slice(0, 14)}_snapshot.json`),
      "meta/_drizzle_guard.json",
      "meta/_journal.json",
    ]);
    for (const name of Object.keys(after).filter((n) => n.endsWith("_snapshot.json"))) {
      expect(name).toMatch(/^meta\/\d{14}_snapshot\.json$/);
    }

    // SQL: each file is the rewrite of the original, under its new name.
    OLD_TAGS.forEach((old, i) => {
      const expected = rewriteSql(original[`${old}.sql`], `${old}.sql`, { split: false });
      expect(expected.parts.length).toBe(1);
      expect(after[`${NEW_TAGS[i]}.sql`]).toBe(expected.parts[0].text);
    });
    // Down files: derived from the rewritten file and the snapshot before it.
    NEW_TAGS.forEach((tag, i) => {
      const prev = i > 0 ? JSON.parse(original[`meta/${OLD_TAGS[i - 1].slice(0, 4)}_snapshot.json`]) : {};
      const own = JSON.parse(original[`meta/${OLD_TAGS[i].slice(0, 4)}_snapshot.json`]);
      expect(after[`${tag}.down.sql`]).toBe(deriveDown(after[`${tag}.sql`], `${tag}.sql`, prev, own).text);
    });
    // Snapshots: moved, not rewritten.
    OLD_TAGS.forEach((old, i) => {
      expect(after[`meta/${NEW_TAGS[i].slice(0, 14)}_snapshot.json`]).toBe(original[`meta/${old.slice(0, 4)}_snapshot.json`]);
    });

    // Journal: same text but for the tags; `when` unchanged.
    let expectedJournal = original["meta/_journal.json"];
    OLD_TAGS.forEach((old, i) => (expectedJournal = expectedJournal.replace(`"tag": "${old}"`, `"tag": "${NEW_TAGS[i]}"`)));
    expect(after["meta/_journal.json"]).toBe(expectedJournal);
    expect(JSON.parse(after["meta/_journal.json"]).entries.map((e: any) => e.when)).toEqual(WHENS);

    // Sum file: hash of each file now, and of the version it was rewritten from.
    expect(JSON.parse(after["meta/_drizzle_guard.json"])).toEqual({
      version: 1,
      entries: OLD_TAGS.map((old, i) => ({
        tag: NEW_TAGS[i],
        when: WHENS[i],
        sha256: sha256(after[`${NEW_TAGS[i]}.sql`]),
        rewrittenFrom: [sha256(original[`${old}.sql`])],
      })),
    });
    expect(after["meta/_drizzle_guard.json"].endsWith("}\n")).toBe(true);

    // readFolder sees the new folder.
    const folder = readFolder(dir);
    expect(folder.journal.entries.map((e) => e.tag)).toEqual(NEW_TAGS);
    expect(folder.snapshots).toEqual(NEW_TAGS.map((t) => `${t.slice(0, 14)}_snapshot.json`));
    expect(folder.sum?.entries.map((e) => e.tag)).toEqual(NEW_TAGS);
  });

  it("a second rewrite is a fixed point: unchanged, no byte changed", () => {
    const { dir } = freshCopy();
    rewriteFolder(dir);
    const once = snapshot(dir);
    const again = rewriteFolder(dir);
    expect(again.unchanged).toBe(true);
    expect(again.change.ops).toEqual([]);
    expect([...again.change.files.keys()]).toEqual([]);
    expect(again.entries.map((e) => e.tags)).toEqual(NEW_TAGS.map((t) => [t]));
    expect(snapshot(dir)).toEqual(once);
  });

  it("dry run changes no byte, and plans what the real run does", () => {
    const { root, dir } = freshCopy();
    const before = snapshot(root);
    const dry = rewriteFolder(dir, { dryRun: true });
    expect(snapshot(root)).toEqual(before);
    expect(dry.unchanged).toBe(false);
    const real = planRewrite(readFolder(dir));
    expect(dry.change.ops).toEqual(real.change.ops);
    expect(dry.change.files).toEqual(real.change.files);
    // And a dry run on an already rewritten folder is also byte-neutral.
    rewriteFolder(dir);
    const done = snapshot(root);
    expect(rewriteFolder(dir, { dryRun: true }).unchanged).toBe(true);
    expect(snapshot(root)).toEqual(done);
  });
});

