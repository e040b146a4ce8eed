/**
 * Secrets: a connection string's password never appears in output, errors, progress lines or
 * reports: on a refused connection and on a failing statement (whose text and error both carry the
 * password), for migrate, status, rollback and the tenant fan-out (plain progress lines, summary,
 * --report file). The server trusts every connection, so any password connects.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, PG_URL, type TestDb } from "../helpers/pg.js";
import { BIN } from "../helpers/project.js";
import { trial } from "./trials.js";

const PASSWORD = "S3cr3t-pw!7x";
const ENCODED = encodeURIComponent(PASSWORD);

function withPassword(url: string, password = PASSWORD): string {
  const u = new URL(url);
  u.username ||= "postgres";
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** A folder of two migrations; the second fails, and both its text and PostgreSQL's error name the password. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "dg-secrets-"));
  mkdirSync(join(dir, "drizzle", "meta"), { recursive: true });
  const entries = ["0000_init", "0001_fails"].map((tag, idx) => ({ idx, version: "7", when: 1700000000000 + idx, tag, breakpoints: true }));
  writeFileSync(join(dir, "drizzle", "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "postgresql", entries }, null, 2));
  writeFileSync(join(dir, "drizzle", "0000_init.sql"), 'CREATE TABLE "t" ("id" integer);');
  writeFileSync(join(dir, "drizzle", "0001_fails.sql"), `SELECT '${PASSWORD}'::integer;`);
  writeFileSync(join(dir, "drizzle.config.json"), JSON.stringify({ dialect: "postgresql", out: "./drizzle" }));
  return dir;
}

function cli(cwd: string, args: string[]): { status: number | null; text: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", CI: "1" } });
  return { status: r.status, text: r.stdout + r.stderr };
}

function noSecret(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(ENCODED);
}

describe.skipIf(!PG_URL)("secrets", () => {
  const dirs: string[] = [];
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb("secrets");
  });
  afterAll(async () => {
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const refused = `postgres://alice:${ENCODED}@127.0.0.1:1/nope`;

  it("a refused connection: migrate, status and rollback name the server, never the password", async () => {
    const dir = project();
    dirs.push(dir);
    for (const args of [["migrate"], ["status"], ["rollback", "--yes"], ["migrate", "--dry-run"]]) {
      await trial("secrets", () => {
        const r = cli(dir, [...args, "--url", refused]);
        expect({ args, status: r.status }).toEqual({ args, status: 2 });
        expect(r.text).toContain("cannot connect to postgres://alice:***@127.0.0.1:1/nope");
        noSecret(r.text);
      });
    }
  });

  it("a failing statement whose text and error carry the password: migrate and status show neither", async () => {
    const dir = project();
    dirs.push(dir);
    const url = withPassword(db.url);
    await trial("secrets", () => {
      const r = cli(dir, ["migrate", "--url", url]);
      expect(r.status).toBe(1);
      expect(r.text).toContain('0001_fails.sql:1:8: [22P02] invalid input syntax for type integer: "***"');
      expect(r.text).toContain("in: SELECT '***'::integer\n");
      noSecret(r.text);
    });
    await trial("secrets", () => {
      const r = cli(dir, ["status", "--url", url]);
      expect(r.text).toContain("pending      0001_fails");
      noSecret(r.text);
    });
  });

  it("tenants: progress lines, summary, --report and status across tenants, with a failing statement and a refused tenant", async () => {
    const dir = project();
    dirs.push(dir);
    const tenants = join(dir, "tenants.txt");
    writeFileSync(tenants, `${withPassword(db.url)}\n${refused}\n`);
    const report = join(dir, "report.json");
    await trial("secrets", () => {
      const r = cli(dir, ["migrate", "--tenants", tenants, "--continue-on-error", "--report", report]);
      expect(r.status).toBe(1);
      expect(r.text).toContain("2 tenant(s): 0 migrated, 2 failed, 0 not started");
      expect(r.text).toContain("FAILED nope: cannot connect to postgres://alice:***@127.0.0.1:1/nope");
      noSecret(r.text);
      const json = readFileSync(report, "utf8");
      const errors = JSON.parse(json).tenants.map((t: any) => t.error);
      expect(errors[0]).toContain('invalid input syntax for type integer: "***"');
      noSecret(json);
    });
    await trial("secrets", () => {
      const r = cli(dir, ["status", "--tenants", tenants]);
      expect(r.text).toContain("cannot connect to postgres://alice:***@");
      noSecret(r.text);
    });
    await trial("secrets", () => {
      const r = cli(dir, ["migrate", "--url", withPassword(db.url), "--schemas", "sec_a,sec_b"]);
      expect(r.status).toBe(1);
      expect(r.text).toContain('invalid input syntax for type integer: "***"');
      noSecret(r.text);
    });
  });
});
