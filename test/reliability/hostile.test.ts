/**
 * Hostile folders: journal tags with `../` or an absolute path, files and folders symlinked out of
 * the migrations folder, malformed journal / snapshot / sum JSON, duplicate tags. Every one is
 * refused with a clear message (file, and line:column for JSON) by the API and by every command
 * that reads the folder (rewrite, rewrite --dry-run, generate, check, migrate), with exit 2; no byte
 * changes inside the folder or around it.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GuardError } from "../../src/errors.js";
import { JOURNAL, readFolder, SUM } from "../../src/folder/folder.js";
import { rewriteFolder } from "../../src/rewrite.js";
import { CORPUS } from "../helpers/corpus.js";
import { snapshot } from "../helpers/folder.js";
import { PG_URL } from "../helpers/pg.js";
import { BIN, ROOT } from "../helpers/project.js";
import { trial } from "./trials.js";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/**
 * A temp root holding a fresh copy of the corpus at `<root>/shop`, and beside it a drizzle config
 * naming it as `out` (for the commands).
 */
function freshCopy(): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), "dg-hostile-"));
  roots.push(root);
  const dir = join(root, "shop");
  cpSync(CORPUS, dir, { recursive: true });
  const schema = join(ROOT, "examples", "shop", "schemas", "v1.ts");
  writeFileSync(join(root, "drizzle.config.json"), JSON.stringify({ dialect: "postgresql", out: "./shop", schema }));
  return { root, dir };
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

function cli(cwd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The commands that read the folder; generate is left out where a missing journal is its normal start. */
function commands(missingJournal: boolean): string[][] {
  return [
    ["rewrite"],
    ["rewrite", "--dry-run"],
    ["check"],
    ...(missingJournal ? [] : [["generate"]]),
    ...(PG_URL ? [["migrate", "--url", PG_URL]] : []),
  ];
}

describe("hostile folders: refused with a clear message, no byte changed in or around the folder", () => {
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
    {
      name: "the sum file is malformed JSON",
      make(_root, dir) {
        writeFileSync(join(dir, SUM), '{"version": 1, "entries": [');
        return { message: `malformed JSON: ${jsonErrorMessage('{"version": 1, "entries": [')}`, file: join(dir, SUM), line: 1, column: 28 };
      },
    },
    {
      name: "meta/ is a symlink to a folder outside",
      make(root, dir) {
        cpSync(join(dir, "meta"), join(root, "meta-elsewhere"), { recursive: true });
        rmSync(join(dir, "meta"), { recursive: true });
        symlinkSync(join(root, "meta-elsewhere"), join(dir, "meta"));
        return { message: "meta/_journal.json resolves outside the migrations folder", file: "meta/_journal.json" };
      },
    },
    {
      name: "a journal entry's .sql is a directory",
      make(_root, dir) {
        unlinkSync(join(dir, "0001_billing.sql"));
        mkdirSync(join(dir, "0001_billing.sql"));
        return { message: "0001_billing.sql is not a regular file", file: join(dir, "0001_billing.sql") };
      },
    },
    {
      name: "a journal entry that is not an object",
      make(_root, dir) {
        setJournal(dir, (j) => (j.entries[1] = "0001_billing"));
        return { message: "journal entry 1 is not an object", file: join(dir, JOURNAL) };
      },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      await trial("hostile folders", async () => {
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

        // Every command: exit 2, the message (with its place) on stderr, nothing else changed.
        const runs = await Promise.all(commands(c.name === "missing journal").map((args) => cli(root, args)));
        runs.forEach((run, i) => {
          // The CLI names the file from its working directory (root), as lint does.
          const where = e.file ? [relative(root, resolve(dir, e.file)), e.line, e.column].filter((p) => p !== undefined).join(":") + ": " : "";
          expect({ command: commands(c.name === "missing journal")[i].join(" "), status: run.status, stderr: run.stderr.split("\n")[0] }).toEqual({
            command: commands(c.name === "missing journal")[i].join(" "),
            status: 2,
            stderr: `error: ${where}${expected.message}`,
          });
        });
        expect(snapshot(root)).toEqual(before);
      });
    });
  }

  it("a malformed snapshot: readable folder, but rewrite and check refuse it with its line and column", async () => {
    await trial("hostile folders", async () => {
      const { root, dir } = freshCopy();
      const bad = readFileSync(join(dir, "meta", "0002_snapshot.json"), "utf8").replace('"version": "7",', '"version": "7"');
      writeFileSync(join(dir, "meta", "0002_snapshot.json"), bad);
      const before = snapshot(root);
      readFolder(dir);
      const e = caught(() => rewriteFolder(dir));
      expect(e.message).toBe(`malformed JSON: ${jsonErrorMessage(bad)}`);
      expect(e.file).toBe("meta/0002_snapshot.json");
      expect(e.line).toBeGreaterThan(1);
      const runs = await Promise.all([["rewrite"], ["check"]].map((args) => cli(root, args)));
      const shown = new GuardError(e.message, { file: relative(root, resolve(dir, e.file!)), line: e.line, column: e.column });
      expect(shown.file).toBe("shop/meta/0002_snapshot.json");
      for (const run of runs) expect({ status: run.status, stderr: run.stderr.split("\n")[0] }).toEqual({ status: 2, stderr: `error: ${shown.format().split("\n")[0]}` });
      expect(snapshot(root)).toEqual(before);
    });
  });

  it("a down file symlinked to a file outside: rewrite replaces the link, the outside file keeps every byte", async () => {
    await trial("hostile folders", async () => {
      const { root, dir } = freshCopy();
      writeFileSync(join(root, "outside.sql"), "-- not drizzle-guard's\n");
      // The down file the rewrite will write for 0001_billing, already there as a link out of the folder.
      symlinkSync(join(root, "outside.sql"), join(dir, "20261122011701_billing.down.sql"));
      const r = await cli(root, ["rewrite"]);
      expect(r.status).toBe(0);
      expect(readFileSync(join(root, "outside.sql"), "utf8")).toBe("-- not drizzle-guard's\n");
      expect(snapshot(dir)["20261122011701_billing.down.sql"]).toMatch(/^-- /);
      expect(snapshot(dir)["20261122011701_billing.down.sql"].startsWith("->")).toBe(false);
    });
  });

  it("malformed journal JSON from a git merge conflict reports line and column", async () => {
    await trial("hostile folders", () => {
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
});
