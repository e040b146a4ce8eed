/**
 * The package as a project installs it: what it declares, and what a user sees when an optional
 * piece (a database driver) is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkDuration } from "../src/config.js";
import { GuardError } from "../src/errors.js";
import { importDriver, redactUrl, sslOption } from "../src/runner/driver.js";
import { adminQuery, createTestDb, PG_URL } from "./helpers/pg.js";
import { BIN, makeProject, ROOT, run, useSchema } from "./helpers/project.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

describe("package.json", () => {
  it("--version is the package's version", () => {
    expect(run(ROOT, ["--version"]).stdout).toMatch(new RegExp(`^drizzle-guard/${pkg.version.replace(/\./g, "\\.")} `));
  });


  it("declares the drivers, drizzle-kit and drizzle-orm (drift), which the project installs, as optional peer dependencies", () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@electric-sql/pglite", "drizzle-kit", "drizzle-orm", "pg"]);
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
  });
});

describe("a missing driver", () => {
  it("is a user error naming the package to install, not a resolution stack", async () => {
    const missing = "drizzle-guard-no-such-driver";
    const e = await importDriver(missing, () => import(missing), "--pglite").catch((x) => x);
    expect(e).toBeInstanceOf(GuardError);
    expect(e.format()).toBe(
      "--pglite needs the package drizzle-guard-no-such-driver, which is not installed in this project\n  hint: npm install drizzle-guard-no-such-driver",
    );
    expect(e.exitCode).toBe(2);
  });

  it("lets any other import failure through", async () => {
    const boom = new Error("boom");
    await expect(importDriver("pg", () => Promise.reject(boom), "--url")).rejects.toBe(boom);
  });
});

describe("passwords in connection strings", () => {
  it("are hidden whole, also when they hold a raw @ or : (the password runs to the authority's last @)", () => {
    expect(redactUrl("postgres://app:s3cret@db:5432/x")).toBe("postgres://app:***@db:5432/x");
    expect(redactUrl("postgres://app:ab@cdSECRET@db:5432/x")).toBe("postgres://app:***@db:5432/x");
    expect(redactUrl("cannot connect to postgresql://app:a:b@c@db/x?sslmode=require: refused")).toBe(
      "cannot connect to postgresql://app:***@db/x?sslmode=require: refused",
    );
    expect(redactUrl("from postgres://a:p1@h1/x to postgres://b:p2@h2/y")).toBe("from postgres://a:***@h1/x to postgres://b:***@h2/y");
    expect(redactUrl("postgres://app@db/x")).toBe("postgres://app@db/x");
  });

  it("a failed connection through the CLI shows none of it", () => {
    const r = run(makeProject(), ["status", "--url", "postgres://app:ab@cdSECRET@127.0.0.1:1/x"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "error: cannot connect to postgres://app:***@127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1\n" +
        "  hint: check the URL, that the server is running and that it accepts connections from here\n",
    );
  });
});

describe("flags with a bad value are refused before anything runs", () => {
  it("--phase other than expand (it used to apply every phase), non-numeric --retries / --lock-wait / --steps, timeouts that are no duration (an internal error from the database)", () => {
    const dir = makeProject();
    const cases: Array<[string[], string]> = [
      [["migrate", "--pglite", "memory://", "--phase", "backfill"], '--phase must be expand (stop before the first contract-phase file), got "backfill"'],
      [["migrate", "--pglite", "memory://", "--retries", "abc"], '--retries must be a whole number, got "abc"'],
      [["migrate", "--pglite", "memory://", "--lock-wait", "soon"], '--lock-wait must be a whole number, got "soon"'],
      [["rollback", "--pglite", "memory://", "--yes", "--steps", "abc"], '--steps must be a whole number, got "abc"'],
      [["rollback", "--pglite", "memory://", "--yes", "--steps", "0"], '--steps must be a whole number of at least 1, got "0"'],
      [["migrate", "--pglite", "memory://", "--lock-timeout", "abc"], '--lock-timeout must be a duration such as 5s, 500ms or 15min, got "abc"'],
      [["migrate", "--pglite", "memory://", "--statement-timeout", "1'; drop"], `--statement-timeout must be a duration such as 5s, 500ms or 15min, got "1'; drop"`],
      [["rollback", "--pglite", "memory://", "--yes", "--lock-timeout", "5 parsecs"], '--lock-timeout must be a duration such as 5s, 500ms or 15min, got "5 parsecs"'],
    ];
    for (const [args, message] of cases) {
      const r = run(dir, args);
      expect({ args, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, status: 2, stdout: "", stderr: `error: ${message}\n` });
    }
  });
});

describe("run in the wrong folder", () => {
  it("no drizzle config and no drizzle folder: says so (exit 2) instead of naming a missing journal", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-empty-"));
    for (const args of [["rewrite"], ["check"], ["migrate", "--pglite", "memory://"], ["status", "--pglite", "memory://"]]) {
      const r = run(dir, args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({
        args,
        status: 2,
        stderr:
          "error: no drizzle config here (drizzle.config.ts, .mts, .js, .mjs, .cjs or .json) and no drizzle folder\n" +
          "  hint: run drizzle-guard from the folder of your drizzle.config.ts, or pass --config PATH (or --out DIR)\n",
      });
    }
  });

  it("lint of a folder without migrations fails (exit 2) rather than passing on nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-empty-"));
    mkdirSync(join(dir, "drizzle"));
    const r = run(dir, ["lint", "drizzle"]);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 2,
      stdout: "",
      stderr: "error: no .sql migration files in drizzle\n  hint: point lint at the migrations folder (out in drizzle.config.ts), e.g. drizzle-guard lint drizzle/\n",
    });
  });
});

describe("--help and the README agree", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "dg-help-"));
  const flagsOf = (text: string) => [...new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]))];
  /** The command table of the README: command -> the flags its first cell shows. */
  const table = new Map(
    [...readme.matchAll(/^\| `drizzle-guard (\w+)([^`]*)` \|/gm)].map((m) => [m[1], flagsOf(m[2]).filter((f) => f !== "--help")]),
  );
  const helpFlags = (command: string) => {
    const r = run(dir, [command, "--help"]);
    expect(r.status).toBe(0);
    return [...r.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]).filter((f) => f !== "--help");
  };

  it("the README's table lists every command of drizzle-guard --help, and only those", () => {
    const top = run(dir, ["--help"]).stdout;
    const commands = [...top.slice(top.indexOf("Commands:"), top.indexOf("For more info")).matchAll(/^\s{2}(\w+)/gm)].map((m) => m[1]);
    expect([...table.keys()]).toEqual(commands);
  });

  it("each flag the table shows for a command is in that command's --help, and each flag of every --help is in the README", () => {
    for (const [command, shown] of table) {
      const help = helpFlags(command);
      expect({ command, missingFromHelp: shown.filter((f) => !help.includes(f)) }).toEqual({ command, missingFromHelp: [] });
      expect({ command, missingFromReadme: help.filter((f) => !flagsOf(readme).includes(f)) }).toEqual({ command, missingFromReadme: [] });
    }
  });
});

describe("dbCredentials.ssl of the drizzle config", () => {
  it("is read the way drizzle-kit reads it", () => {
    expect(sslOption("require")).toEqual({ rejectUnauthorized: false });
    expect(sslOption("prefer")).toEqual({ rejectUnauthorized: false });
    expect(sslOption("verify-full")).toEqual({});
    expect(sslOption(true)).toBe(true);
    expect(sslOption(false)).toBe(false);
    expect(sslOption(undefined)).toBeUndefined();
  });

  it.skipIf(!PG_URL)("PostgreSQL 15 (a server without SSL): ssl in dbCredentials is used (it was dropped), and without it the host form connects", () => {
    const u = new URL(PG_URL!);
    const dir = makeProject();
    const credentials = { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username), database: u.pathname.slice(1) || "postgres" };
    const write = (ssl?: string) =>
      writeFileSync(
        join(dir, "drizzle.config.json"),
        JSON.stringify({ dialect: "postgresql", schema: "./schema.ts", out: "./drizzle", dbCredentials: ssl ? { ...credentials, ssl } : credentials }),
      );
    rmSync(join(dir, "drizzle.config.ts"));
    mkdirSync(join(dir, "drizzle", "meta"), { recursive: true });
    writeFileSync(join(dir, "drizzle", "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "postgresql", entries: [] }));
    write("require");
    const refused = run(dir, ["status"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(": The server does not support SSL connections\n");
    write();
    const plain = run(dir, ["status"]);
    expect({ status: plain.status, stderr: plain.stderr }).toEqual({ status: 0, stderr: "" });
  });
});

describe("a mistyped --pglite folder", () => {
  it("status and rollback refuse it (exit 2) instead of creating an empty database that shows every migration pending", () => {
    const dir = makeProject();
    useSchema(dir, "v1");
    expect(run(dir, ["generate"]).status).toBe(0);
    for (const args of [["status", "--pglite", "./dbtypo"], ["rollback", "--pglite", "./dbtypo", "--yes"]]) {
      const r = run(dir, args);
      expect({ args, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        status: 2,
        stdout: "",
        stderr: "error: no PGlite database at dbtypo\n  hint: check the folder; drizzle-guard migrate --pglite DIR creates one\n",
      });
      expect(existsSync(join(dir, "dbtypo"))).toBe(false);
    }
    expect(run(dir, ["migrate", "--pglite", "./db"]).status).toBe(0);
    expect(run(dir, ["status", "--pglite", "./db"]).stdout).toMatch(/^status of pglite \.\/db\napplied {6}\d{14}_/);
  });
});

describe("stdout closed early (| head)", () => {
  it("no EPIPE crash: the command ends with its own exit code and nothing on stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-pipe-"));
    mkdirSync(join(dir, "many"));
    const sql = 'ALTER TABLE "users" ADD COLUMN "bio" text;--> statement-breakpoint\nCREATE INDEX "users_bio_idx" ON "users" USING btree ("bio");\n';
    for (let i = 0; i < 400; i++) writeFileSync(join(dir, "many", `${String(i).padStart(4, "0")}_m.sql`), sql);
    const r = spawnSync("bash", ["-c", `node "${BIN}" lint many 2>err.txt | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", DRIZZLE_GUARD_THREADS: "1" },
    });
    expect({ exit: r.stdout, stderr: readFileSync(join(dir, "err.txt"), "utf8") }).toEqual({ exit: "0\n", stderr: "" });
  });
});

describe("timeouts in drizzle-guard.config", () => {
  it("a lockTimeout that is no duration is refused when the config is read, before it is written into SET statements", () => {
    const dir = makeProject();
    writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ lockTimeout: "5 seconds" }));
    rmSync(join(dir, "drizzle-guard.config.ts"));
    useSchema(dir, "v1");
    const r = run(dir, ["generate"]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 2,
      stderr: `error: ${join(dir, "drizzle-guard.config.json")}: lockTimeout must be a duration such as 5s, 500ms or 15min, got "5 seconds"\n`,
    });
    expect(existsSync(join(dir, "drizzle"))).toBe(false);
    for (const ok of ["5s", "500ms", "1.5min", "2000", "1 h"]) expect(checkDuration(ok, "x")).toBe(ok);
  });
});

describe("a role that only runs migrations", () => {
  it.skipIf(!PG_URL)("PostgreSQL 15: migrate uses the bookkeeping table the owner created (CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists); without it, a user error", async () => {
    const db = await createTestDb("ux_role");
    const role = `${db.name}_app`;
    await adminQuery(`CREATE ROLE "${role}" LOGIN`);
    try {
      await db.query(`REVOKE CREATE ON DATABASE "${db.name}" FROM PUBLIC`);
      await db.query(`GRANT CREATE, USAGE ON SCHEMA public TO "${role}"`);
      const dir = makeProject();
      useSchema(dir, "v1");
      expect(run(dir, ["generate"]).status).toBe(0);
      const u = new URL(db.url);
      u.username = role;
      const refused = run(dir, ["migrate", "--url", u.toString()]);
      expect({ status: refused.status, stderr: refused.stderr }).toEqual({
        status: 2,
        stderr:
          `error: cannot create the bookkeeping table "drizzle"."__drizzle_migrations": permission denied for database ${db.name}\n` +
          "  hint: run migrate as a role that may create it, or have the database owner create the schema and table once\n",
      });
      await db.query(`CREATE SCHEMA drizzle`);
      await db.query(`CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
      await db.query(`GRANT USAGE ON SCHEMA drizzle TO "${role}"`);
      await db.query(`GRANT SELECT, INSERT, DELETE ON drizzle.__drizzle_migrations TO "${role}"`);
      await db.query(`GRANT USAGE ON SEQUENCE drizzle.__drizzle_migrations_id_seq TO "${role}"`);
      const r = run(dir, ["migrate", "--url", u.toString()]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(await db.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)).toEqual([{ n: 1 }]);
    } finally {
      await db.drop();
      await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
    }
  });
});

describe("a connection string that is not postgres://", () => {
  it("is a user error naming where it came from, without echoing it (node-postgres read it as a host name)", () => {
    const dir = makeProject();
    rmSync(join(dir, "drizzle.config.ts"));
    mkdirSync(join(dir, "drizzle"));
    for (const [args, env, from] of [
      [["status", "--url", "notaurl"], {}, "--url"],
      [["migrate"], { DATABASE_URL: "mysql://app:hunter22@db/x" }, "DATABASE_URL"],
    ] as const) {
      const r = run(dir, [...args], env);
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 2,
        stderr: `error: ${from} is not a postgres:// connection string\n  hint: postgres://user@host:port/database (or --pglite DIR)\n`,
      });
    }
  });
});

describe("dbCredentials whose url is not set", () => {
  it("`url: process.env.X` with X unset is refused (it connected to localhost:5432/postgres, whatever database that is)", () => {
    const dir = makeProject();
    writeFileSync(
      join(dir, "drizzle.config.ts"),
      'export default { dialect: "postgresql", schema: "./schema.ts", out: "./drizzle", dbCredentials: { url: process.env.DG_TEST_UNSET_URL! } };\n',
    );
    mkdirSync(join(dir, "drizzle"));
    for (const args of [["status"], ["migrate"], ["rollback", "--yes"]]) {
      const r = run(dir, args, { DATABASE_URL: "postgres://other@127.0.0.1:1/other" });
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({
        args,
        status: 2,
        stderr: `error: ${join(dir, "drizzle.config.ts")}: dbCredentials in the drizzle config has an empty url (is its environment variable set?)\n  hint: set it, or pass --url / --pglite\n`,
      });
    }
  });
});
