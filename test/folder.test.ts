/**
 * The migrations folder: readFolder's validation (and rewriteFolder refusing, byte for byte, a
 * folder it rejects), a whole-folder rewrite of the shop corpus (a real drizzle-kit folder), and
 * crash safety of commitChange: a child process is SIGKILLed at every fault point of the write,
 * then the folder must still be readable, and the next run must finish the job exactly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GuardError } from "../src/errors.js";
import { readFolder, sha256, JOURNAL, SUM } from "../src/folder/folder.js";
import { STAGING } from "../src/folder/write.js";
import { planRewrite, rewriteFolder } from "../src/rewrite.js";
import { deriveDown } from "../src/down/down.js";
import { rewriteSql } from "../src/rewrite-sql.js";

const ROOT = join(import.meta.dirname, "..");
const CORPUS = join(ROOT, "fixtures", "corpus", "shop");

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

/**
 * Every entry under `dir`, by relative path: directories as "<dir>", symlinks as "-> target"
 * (never followed), files by content (UTF-8 text when that is lossless, base64 otherwise).
 */
function snapshot(dir: string, base = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, base)).sort()) {
    const rel = base ? `${base}/${name}` : name;
    const path = join(dir, rel);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
    else if (st.isDirectory()) {
      out[rel] = "<dir>";
      Object.assign(out, snapshot(dir, rel));
    } else {
      const bytes = readFileSync(path);
      const text = bytes.toString("utf8");
      out[rel] = Buffer.from(text, "utf8").equals(bytes) ? text : `base64:${bytes.toString("base64")}`;
    }
  }
  return out;
}

function caught(f: () => unknown): GuardError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GuardError);
    return e as GuardError;
  }
  throw new Error("expected a GuardError");
}

function journalText(dir: string): string {
  return readFileSync(join(dir, JOURNAL), "utf8");
}

function setJournal(dir: string, mutate: (j: any) => void): void {
  const j = JSON.parse(journalText(dir));
  mutate(j);
  writeFileSync(join(dir, JOURNAL), JSON.stringify(j, null, 2));
}

function jsonErrorMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (e: any) {
    return e.message;
  }
  throw new Error("expected invalid JSON");
}

describe("readFolder validation; rewriteFolder refuses and changes no byte", () => {
  interface Case {
    name: string;
    /** Breaks a fresh copy; returns the expected error (message, file, line, column). */
    make(root: string, dir: string): { message: string; file?: string; line?: number; column?: number };
  }
  const cases: Case[] = [
    {
      name: "missing journal",
      make(_root, dir) {
        unlinkSync(join(dir, JOURNAL));
        return { message: `no drizzle migrations folder at ${dir} (missing meta/_journal.json)` };
      },
    },
    {
      name: "malformed journal JSON (a missing comma) reports line and column",
      make(_root, dir) {
        const bad = journalText(dir).replace('"when": 1795310221251,', '"when": 1795310221251');
        writeFileSync(join(dir, JOURNAL), bad);
        // The error is at `"tag"` on line 16, after the 6-space indent.
        expect(bad.split("\n")[15]).toBe('      "tag": "0001_billing",');
        return { message: `malformed JSON: ${jsonErrorMessage(bad)}`, file: join(dir, JOURNAL), line: 16, column: 7 };
      },
    },
    {
      name: "journal entries is not an array",
      make(_root, dir) {
        setJournal(dir, (j) => (j.entries = {}));
        return { message: "journal has no entries array", file: join(dir, JOURNAL) };
      },
    },
    {
      name: "journal entry whose .sql file is missing",
      make(_root, dir) {
        unlinkSync(join(dir, "0002_catalog.sql"));
        return { message: "journal entry 0002_catalog has no file 0002_catalog.sql", file: join(dir, JOURNAL) };
      },
    },
    {
      name: "duplicate tags",
      make(_root, dir) {
        setJournal(dir, (j) => (j.entries[3].tag = "0002_catalog"));
        return { message: "duplicate journal tag 0002_catalog", file: join(dir, JOURNAL) };
      },
    },
    {
      name: "a tag containing ../ (naming a file that exists outside the folder)",
      make(root, dir) {
        writeFileSync(join(root, "outside.sql"), "SELECT 1;");
        setJournal(dir, (j) => (j.entries[2].tag = "../outside"));
        return { message: 'journal tag "../outside" is not a plain file name', file: join(dir, JOURNAL) };
      },
    },
    {
      name: "a tag that is an absolute path (naming a file that exists)",
      make(root, dir) {
        writeFileSync(join(root, "abs.sql"), "SELECT 1;");
        const tag = join(root, "abs");
        setJournal(dir, (j) => (j.entries[1].tag = tag));
        return { message: `journal tag ${JSON.stringify(tag)} is not a plain file name`, file: join(dir, JOURNAL) };
      },
    },
    {
      name: "a .sql file that is a symlink pointing outside the folder",
      make(root, dir) {
        mkdirSync(join(root, "elsewhere"));
        cpSync(join(dir, "0002_catalog.sql"), join(root, "elsewhere", "0002_catalog.sql"));
        unlinkSync(join(dir, "0002_catalog.sql"));
        symlinkSync(join(root, "elsewhere", "0002_catalog.sql"), join(dir, "0002_catalog.sql"));
        return { message: "0002_catalog.sql resolves outside the migrations folder", file: "0002_catalog.sql" };
      },
    },
    {
      name: "a .sql file that is a relative symlink climbing out of the folder",
      make(root, dir) {
        cpSync(join(dir, "0003_audit.sql"), join(root, "0003_audit.sql"));
        unlinkSync(join(dir, "0003_audit.sql"));
        symlinkSync("../0003_audit.sql", join(dir, "0003_audit.sql"));
        return { message: "0003_audit.sql resolves outside the migrations folder", file: "0003_audit.sql" };
      },
    },
    {
      name: "the journal is a symlink pointing outside the folder",
      make(root, dir) {
        cpSync(join(dir, JOURNAL), join(root, "journal.json"));
        unlinkSync(join(dir, JOURNAL));
        symlinkSync(join(root, "journal.json"), join(dir, JOURNAL));
        return { message: "meta/_journal.json resolves outside the migrations folder", file: "meta/_journal.json" };
      },
    },
    {
      name: "a snapshot that is a symlink pointing outside the folder",
      make(root, dir) {
        cpSync(join(dir, "meta", "0001_snapshot.json"), join(root, "snap.json"));
        unlinkSync(join(dir, "meta", "0001_snapshot.json"));
        symlinkSync(join(root, "snap.json"), join(dir, "meta", "0001_snapshot.json"));
        return { message: "meta/0001_snapshot.json resolves outside the migrations folder", file: "meta/0001_snapshot.json" };
      },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const { root, dir } = freshCopy();
      const expected = c.make(root, dir);
      const before = snapshot(root);

      const e = caught(() => readFolder(dir));
      expect({ message: e.message, file: e.file, line: e.line, column: e.column }).toEqual({
        file: undefined,
        line: undefined,
        column: undefined,
        ...expected,
      });
      expect(snapshot(root)).toEqual(before);

      const r = caught(() => rewriteFolder(dir));
      expect(r.message).toBe(expected.message);
      expect(snapshot(root)).toEqual(before);

      const dry = caught(() => rewriteFolder(dir, { dryRun: true }));
      expect(dry.message).toBe(expected.message);
      expect(snapshot(root)).toEqual(before);
    });
  }

  it("malformed journal JSON from a git merge conflict reports line and column", () => {
    // Regression: on Node 20, V8's message for an unexpected character ("Unexpected token '<',
    // ... is not valid JSON") carries no "position N"; the position must not come from it.
    const { root, dir } = freshCopy();
    const lines = journalText(dir).split("\n");
    // Lines 33..39 are the last entry; put it in a conflict with another branch's entry.
    expect(lines[32]).toBe("    {");
    expect(lines[36]).toBe('      "tag": "0004_cleanup",');
    expect(lines[38]).toBe("    }");
    const ours = lines.slice(32, 39);
    const theirs = ours.map((l) => l.replace("0004_cleanup", "0004_other").replace("1795310243538", "1795310250000"));
    const bad = [...lines.slice(0, 32), "<<<<<<< HEAD", ...ours, "=======", ...theirs, ">>>>>>> feature", ...lines.slice(39)].join("\n");
    writeFileSync(join(dir, JOURNAL), bad);
    expect(bad.split("\n")[32]).toBe("<<<<<<< HEAD");
    const before = snapshot(root);

    const e = caught(() => readFolder(dir));
    expect(e.message).toBe(`malformed JSON: ${jsonErrorMessage(bad)}`);
    expect({ file: e.file, line: e.line, column: e.column }).toEqual({ file: join(dir, JOURNAL), line: 33, column: 1 });
    expect(caught(() => rewriteFolder(dir)).message).toBe(e.message);
    expect(snapshot(root)).toEqual(before);
  });
});

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

describe("crash safety of commitChange (child process SIGKILLed at each fault point)", () => {
  // The fault points, from a plan made on another copy.
  const planned = planRewrite(readFolder(freshCopy().dir));
  const stages = planned.change.files.size;
  const opCount = planned.change.ops.length;
  const steps = [
    ...Array.from({ length: stages }, (_, i) => `stage:${i}`),
    "before-commit",
    "committed",
    ...Array.from({ length: opCount }, (_, i) => `op:${i}`),
    "cleanup",
  ];

  let reference: Record<string, string>;
  let run = 0;
  let failed = 0;

  let indexUrl: string;

  beforeAll(() => {
    try {
      execFileSync("npx", ["tsc", "-p", "."], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    } catch (e: any) {
      throw new Error(`npx tsc -p . failed (status ${e.status}):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    // The children run a private copy of dist/, so that another build of the project rewriting
    // dist/ meanwhile cannot hand a child a half-written module.
    const copy = mkdtempSync(join(tmpdir(), "dg-dist-"));
    roots.push(copy);
    cpSync(join(ROOT, "dist"), join(copy, "dist"), { recursive: true });
    writeFileSync(join(copy, "package.json"), JSON.stringify({ type: "module" }));
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
    indexUrl = pathToFileURL(join(copy, "dist", "src", "index.js")).href;
    const { dir } = freshCopy();
    rewriteFolder(dir);
    reference = snapshot(dir);
  });

  afterAll(() => {
    console.log(`crash trials: ${run} run, ${failed} failed`);
  });

  function child(dir: string, step: string | undefined) {
    const env: NodeJS.ProcessEnv = { ...process.env, DG_DIR: dir, DG_INDEX_URL: indexUrl };
    delete env.DRIZZLE_GUARD_FAULT_AT;
    if (step !== undefined) env.DRIZZLE_GUARD_FAULT_AT = step;
    const script = "const { rewriteFolder } = await import(process.env.DG_INDEX_URL); rewriteFolder(process.env.DG_DIR);";
    return spawnSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" });
  }

  it("the plan has the fault points these trials expect", () => {
    // 5 SQL files, 5 down files, the journal and the sum file staged; 5 snapshot renames and 5 deletes added.
    expect(stages).toBe(12);
    expect(opCount).toBe(22);
    expect(steps.length).toBe(37);
  });

  it("control: the child without a fault completes the same rewrite", () => {
    const { dir } = freshCopy();
    const r = child(dir, undefined);
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: "" });
    expect(snapshot(dir)).toEqual(reference);
  });

  for (const step of steps) {
    it(`killed at ${step}: readable, and the next run finishes the job exactly`, () => {
      run++;
      try {
        const { dir } = freshCopy();
        const original = snapshot(dir);
        const r = child(dir, step);
        expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: null, signal: "SIGKILL", stderr: "" });
        // Every fault point lies between creating the staging folder and removing it.
        expect(existsSync(join(dir, STAGING))).toBe(true);

        // Readable as it is: every journal tag has its .sql file.
        const folder = readFolder(dir);
        for (const e of folder.journal.entries) expect(existsSync(join(dir, `${e.tag}.sql`))).toBe(true);

        // Killed before the commit: nothing outside the staging folder changed.
        if (step.startsWith("stage:") || step === "before-commit") {
          const now = snapshot(dir);
          for (const k of Object.keys(now)) if (k === STAGING || k.startsWith(`${STAGING}/`)) delete now[k];
          expect(now).toEqual(original);
        }

        const plan = rewriteFolder(dir);
        expect(snapshot(dir)).toEqual(reference);
        expect(plan.entries.map((e) => e.tags)).toEqual(NEW_TAGS.map((t) => [t]));
        expect(rewriteFolder(dir).unchanged).toBe(true);
        expect(snapshot(dir)).toEqual(reference);
      } catch (e) {
        failed++;
        throw e;
      }
    });
  }
});
