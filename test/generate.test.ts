/**
 * `drizzle-guard generate` when drizzle-kit fails but exits 0: its rename prompt without a terminal
 * (CI, a pipe) prints an error and exits 0 without writing a migration.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drizzleKitError, passedFlag, waitBeforeGenerate } from "../src/generate.js";
import { makeProject, ROOT, run, tree, useSchema } from "./helpers/project.js";

describe("generate when drizzle-kit fails with exit 0", () => {
  it("a rename prompt without a terminal is exit 2 with drizzle-kit's error and a hint, not 'no schema changes'", () => {
    const dir = makeProject();
    useSchema(dir, "v1");
    expect(run(dir, ["generate", "--name", "v1"]).status).toBe(0);
    const schema = join(dir, "schema.ts");
    writeFileSync(schema, readFileSync(schema, "utf8").replace('name: text("name").notNull(),', 'fullName: text("full_name").notNull(),'));
    const before = tree(join(dir, "drizzle"));
    const r = run(dir, ["generate", "--name", "rename"]);
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain("no schema changes");
    expect(r.stderr).toContain(
      "error: drizzle-kit generate failed (it exited 0): Error: Interactive prompts require a TTY terminal (process.stdin.isTTY or process.stdout.isTTY is false).",
    );
    expect(r.stderr).toContain(
      "  hint: drizzle-kit asks whether a table or column was renamed or is new, and needs a terminal for that: run drizzle-guard generate in an interactive terminal\n",
    );
    expect(tree(join(dir, "drizzle"))).toEqual(before);
  });

  it("finds the error line in drizzle-kit's stderr, and nothing in a clean one", () => {
    expect(drizzleKitError("Reading config file 'x'\nError: boom\n    at f (bin.cjs:1:1)\n")).toBe("Error: boom");
    expect(drizzleKitError("TypeError: x is not a function\n")).toBe("TypeError: x is not a function");
    expect(drizzleKitError("")).toBeUndefined();
    expect(drizzleKitError("Warning: something\n")).toBeUndefined();
  });
});

describe("generate --custom", () => {
  it("keeps drizzle-kit's empty custom migration (it used to vanish from the journal, its snapshot left behind); the SQL written into it later is rewritten", () => {
    const dir = makeProject();
    useSchema(dir, "v1");
    expect(run(dir, ["generate", "--name", "v1"]).status).toBe(0);
    const r = run(dir, ["generate", "--custom", "--name", "seed"]);
    expect(r.status).toBe(0);
    const out = join(dir, "drizzle");
    const journal = JSON.parse(readFileSync(join(out, "meta", "_journal.json"), "utf8"));
    const tag = journal.entries.at(-1).tag;
    expect(tag).toMatch(/^\d{14}_seed$/);
    expect(r.stdout).toContain(`  0001_seed -> ${tag}  (0/0 statements changed)\n`);
    expect(readFileSync(join(out, `${tag}.sql`), "utf8")).toBe("-- Custom SQL migration file, put your code below! --");
    expect(run(dir, ["check"]).status).toBe(0);
    writeFileSync(join(out, `${tag}.sql`), 'CREATE INDEX "users_name_idx" ON "users" USING btree ("name");');
    expect(run(dir, ["rewrite"]).status).toBe(0);
    expect(readFileSync(join(out, `${tag}.sql`), "utf8")).toBe(
      "-- drizzle-guard: transaction=off\n" +
        "-- CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block: each statement runs on its own.\n" +
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_name_idx" ON "users" USING btree ("name");',
    );
    expect(run(dir, ["check"]).status).toBe(0);
  });
});

describe("generate with drizzle-kit's timestamp prefix", () => {
  it("migrations generated one right after another keep every snapshot (drizzle-kit's name for the next one took a phase file's second and wrote over its snapshot)", () => {
    const dir = makeProject();
    const config = join(dir, "drizzle.config.ts");
    writeFileSync(config, readFileSync(config, "utf8").replace('out: "./drizzle",', 'out: "./drizzle",\n  migrations: { prefix: "timestamp" },'));
    for (const v of ["v1", "v2", "v3", "v4"]) {
      useSchema(dir, v);
      const r = run(dir, ["generate", "--name", v]);
      expect({ v, status: r.status, stderr: r.stderr }).toEqual({ v, status: 0, stderr: "" });
    }
    const journal = JSON.parse(readFileSync(join(dir, "drizzle", "meta", "_journal.json"), "utf8"));
    expect(journal.entries.length).toBeGreaterThan(4); // some were split into phase files
    const check = run(dir, ["check"]);
    expect(check.stdout).toContain("ok   consistency: journal, files and snapshots agree; one unbroken snapshot chain\n");
    expect(check.status).toBe(0);
  });

  it("waits until the newest name in the folder is in the past, for the timestamp prefixes only", () => {
    const now = Date.UTC(2026, 10, 21, 9, 30, 0, 250);
    const tags = ["20261121092959_a", "20261121093000_b", "20261121093001_b_backfill", "20261121093002_b_contract"];
    expect(waitBeforeGenerate(tags, "timestamp", now)).toBe(2750);
    expect(waitBeforeGenerate(tags, "supabase", now)).toBe(2750);
    expect(waitBeforeGenerate(tags, "index", now)).toBe(0);
    expect(waitBeforeGenerate(tags.slice(0, 1), "timestamp", now)).toBe(0);
    expect(waitBeforeGenerate(["0000_init", "20991231235959_far_ahead"], "timestamp", now)).toBe(0);
  });
});

describe("generate with drizzle-kit's options as flags (no config file)", () => {
  it("--out is the folder drizzle-guard rewrites (it looked in ./drizzle and said 'no schema changes')", () => {
    const dir = makeProject();
    useSchema(dir, "v1");
    rmSync(join(dir, "drizzle.config.ts"));
    const r = run(dir, ["generate", "--dialect", "postgresql", "--schema", "./schema.ts", "--out=./migs", "--name", "init"]);
    expect(r.status).toBe(0);
    const journal = JSON.parse(readFileSync(join(dir, "migs", "meta", "_journal.json"), "utf8"));
    expect(journal.entries.map((e: any) => e.tag)).toEqual([expect.stringMatching(/^\d{14}_init$/)]);
    expect(r.stdout).toContain(`  0000_init -> ${journal.entries[0].tag}  (`);
    expect(existsSync(join(dir, "drizzle"))).toBe(false);
    expect(run(dir, ["check", "--out", "migs"]).status).toBe(0);
  });

  it("reads --out and --prefix in both spellings, the last one winning", () => {
    expect(passedFlag(["--out", "a", "--name", "x"], "out")).toBe("a");
    expect(passedFlag(["--out=a", "--out", "b"], "out")).toBe("b");
    expect(passedFlag(["--prefix=timestamp"], "prefix")).toBe("timestamp");
    expect(passedFlag(["--outx", "a", "--out"], "out")).toBeUndefined();
  });
});

describe("generate when drizzle-kit fails with an exit code", () => {
  it("is exit 2 (an input error), not drizzle-kit's 1, which means BLOCKED findings", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-noconfig-"));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    const r = run(dir, ["generate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: drizzle-kit generate failed (exit 1)\n");
  });
});

describe("a hand-edited migration and its down file", () => {
  it("rewrite keeps the down file but says it may no longer undo the migration; deleting it derives it again", () => {
    const dir = makeProject();
    useSchema(dir, "v1");
    expect(run(dir, ["generate", "--name", "v1"]).status).toBe(0);
    expect(run(dir, ["generate", "--custom", "--name", "bio"]).status).toBe(0);
    const out = join(dir, "drizzle");
    const tag = JSON.parse(readFileSync(join(out, "meta", "_journal.json"), "utf8")).entries.at(-1).tag;
    const empty = readFileSync(join(out, `${tag}.down.sql`), "utf8");
    writeFileSync(join(out, `${tag}.sql`), 'ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "bio" text;');
    const r = run(dir, ["rewrite"]);
    expect(r.stdout).toContain(
      `recorded the hand edits of drizzle/${tag}.sql in meta/_drizzle_guard.json\n` +
        `  note drizzle/${tag}.down.sql is kept, but its migration was edited by hand: check that it still undoes it (delete it and run rewrite to derive it again)\n`,
    );
    expect(readFileSync(join(out, `${tag}.down.sql`), "utf8")).toBe(empty);
    rmSync(join(out, `${tag}.down.sql`));
    expect(run(dir, ["rewrite"]).stdout).not.toContain("note");
    expect(readFileSync(join(out, `${tag}.down.sql`), "utf8")).toContain('ALTER TABLE "users" DROP COLUMN IF EXISTS "bio";');
  });
});
