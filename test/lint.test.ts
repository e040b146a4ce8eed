import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lintText } from "../src/lint/lint.js";
// Worker threads run the compiled worker (dist/src/lint/worker.js), so these tests use the compiled modules.
import { GuardError } from "../dist/src/errors.js";
import { lintFiles } from "../dist/src/lint/lint.js";
import { lintFilesParallel, threadCount } from "../dist/src/lint/parallel.js";
import { rewriteFolder } from "../src/rewrite.js";
import { ROOT, run, tree } from "./helpers/project.js";

const CORPUS = join(ROOT, "fixtures", "corpus", "shop");
const APPROVALS = [
  { rule: "ban-drop-table", target: "billing.invoices", reason: "test corpus" },
  { rule: "ban-drop-schema", target: "billing", reason: "test corpus" },
];

function project(opts: { rewrite?: boolean; approvals?: boolean } = {}): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "dg-lint-"));
  const out = join(dir, "drizzle");
  cpSync(CORPUS, out, { recursive: true });
  writeFileSync(join(dir, "drizzle.config.json"), JSON.stringify({ dialect: "postgresql", out: "./drizzle" }));
  if (opts.approvals !== false) writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ approve: APPROVALS }));
  if (opts.rewrite !== false) rewriteFolder(out);
  return { dir, out };
}

const rulesOf = (sql: string) => lintText(sql, "x.sql").statements.map((s) => `${s.rule}:${s.lock}:${s.risk}`);

describe("lint rules", () => {
  it("a SELECT (a backfill's DO block reads, setval) is a select, not a setting", () => {
    expect(rulesOf("SELECT setval('\"orders_id_seq\"', 5);")).toEqual(["select:ACCESS SHARE:low"]);
  });


  it("classifies real drizzle-kit statements: lock level, rewrite/scan, risk", () => {
    const r = lintText(readFileSync(join(CORPUS, "0001_billing.sql"), "utf8"), "0001_billing.sql");
    expect(r.statements.map((s) => `${s.line} ${s.rule} ${s.lock} ${s.rewrite ? "rewrite" : s.scan ? "scan" : "-"} ${s.risk}`)).toEqual([
      "1 create-schema none - low",
      "3 create-type none - low",
      "4 enum-add-value EXCLUSIVE - low",
      "5 sequence none - low",
      "6 create-table none - low",
      "13 drop-index ACCESS EXCLUSIVE - medium",
      "14 add-column-nullable ACCESS EXCLUSIVE - low",
      "15 add-column-default ACCESS EXCLUSIVE - medium",
      "16 add-column-nullable ACCESS EXCLUSIVE - low",
      "17 add-constraint-new-table ACCESS EXCLUSIVE - low",
      "18 create-index-new-table SHARE - low",
      "19 create-index SHARE scan high",
      "20 create-index SHARE scan high",
      "21 add-unique ACCESS EXCLUSIVE scan high",
      "22 add-check ACCESS EXCLUSIVE scan high",
    ]);
    expect(r.findings).toEqual([]);
  });

  it("sees through drizzle-guard's DO guards, and knows the safe variants", () => {
    expect(rulesOf(`DO $$ BEGIN\nIF NOT EXISTS (SELECT 1) THEN\nALTER TABLE "o" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "public"."u"("id");\nEND IF;\nEND $$;`)).toEqual([
      "add-foreign-key:SHARE ROW EXCLUSIVE:high",
    ]);
    expect(rulesOf(`ALTER TABLE "o" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "u"("id") NOT VALID;`)).toEqual(["add-constraint-not-valid:SHARE ROW EXCLUSIVE:low"]);
    expect(rulesOf(`ALTER TABLE "o" VALIDATE CONSTRAINT "fk";`)).toEqual(["validate-constraint:SHARE UPDATE EXCLUSIVE:low"]);
    expect(rulesOf(`ALTER TABLE "p" ADD CONSTRAINT "u" UNIQUE USING INDEX "u";`)).toEqual(["add-unique-using-index:ACCESS EXCLUSIVE:low"]);
    expect(rulesOf(`ALTER TABLE "o" ADD COLUMN "k" uuid DEFAULT gen_random_uuid();`)).toEqual(["add-column-volatile-default:ACCESS EXCLUSIVE:high"]);
    expect(rulesOf(`ALTER TABLE "o" ADD COLUMN "k" text NOT NULL;`)).toEqual(["add-column-not-null:ACCESS EXCLUSIVE:high"]);
    expect(rulesOf(`ALTER TABLE "o" ALTER COLUMN "n" SET NOT NULL;`)).toEqual(["set-not-null:ACCESS EXCLUSIVE:high"]);
    expect(
      rulesOf(`ALTER TABLE "o" ADD CONSTRAINT "n_nn" CHECK ("n" IS NOT NULL) NOT VALID;\nALTER TABLE "o" VALIDATE CONSTRAINT "n_nn";\nALTER TABLE "o" ALTER COLUMN "n" SET NOT NULL;`),
    ).toEqual(["add-constraint-not-valid:SHARE ROW EXCLUSIVE:low", "validate-constraint:SHARE UPDATE EXCLUSIVE:low", "set-not-null-validated:ACCESS EXCLUSIVE:low"]);
    expect(rulesOf(`CREATE INDEX CONCURRENTLY "i" ON "t" ("a");`)).toEqual(["create-index-concurrently:SHARE UPDATE EXCLUSIVE:low"]);
  });

  it("forbidden operations need an approval with a reason, directly above the statement", () => {
    const f = (sql: string) => lintText(sql, "x.sql").findings.map((x) => `${x.rule}:${x.target}:${x.approved}`);
    expect(f(`DELETE FROM "users";`)).toEqual(["ban-delete-without-where:public.users:false"]);
    expect(f(`DELETE FROM "users" WHERE id = 1;`)).toEqual([]);
    expect(f(`UPDATE "users" SET a = 1;`)).toEqual(["ban-update-without-where:public.users:false"]);
    expect(f(`TRUNCATE "users";`)).toEqual(["ban-truncate:public.users:false"]);
    expect(f(`ALTER TABLE "users" RENAME COLUMN "a" TO "b";`)).toEqual(["ban-rename-column:public.users.a:false"]);
    expect(f(`ALTER TABLE "users" RENAME TO "people";`)).toEqual(["ban-rename-table:public.users:false"]);
    expect(f(`BEGIN;\nCREATE TABLE "t" (a int);\nCOMMIT;`)).toEqual(["ban-transaction-control:BEGIN:false", "ban-transaction-control:COMMIT:false"]);
    expect(f(`CREATE INDEX CONCURRENTLY "i" ON "t" ("a");`)).toEqual(["ban-concurrently-in-transaction:i:false"]);
    expect(f(`-- drizzle-guard: transaction=off\nCREATE INDEX CONCURRENTLY "i" ON "t" ("a");`)).toEqual([]);
    expect(f(`ALTER TABLE "t" ADD COLUMN "a" int;\nINSERT INTO "t" ("a") VALUES (1);`)).toEqual(["ban-mixed-ddl-and-data:INSERT:false"]);
    expect(f(`-- drizzle-guard: approve ban-drop-table replaced by archive\nDROP TABLE "old";`)).toEqual(["ban-drop-table:public.old:true"]);
    expect(f(`-- drizzle-guard: approve ban-drop-table\nDROP TABLE "old";`)).toEqual(["ban-drop-table:public.old:false"]);
    expect(f(`-- drizzle-guard: approve ban-drop-table reason\nSELECT 1;\nDROP TABLE "old";`)).toEqual(["ban-drop-table:public.old:false"]);
  });
});

describe("drizzle-guard lint (CLI)", () => {
  it("prints the report and VERDICT: BLOCKED as last line, exit 1; approvals in config give PASS, exit 0", () => {
    const { dir } = project({ approvals: false });
    const r = run(dir, ["lint", "drizzle"]);
    expect(r.status).toBe(1);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: BLOCKED (ban-drop-schema, ban-drop-table)");
    expect(r.stdout).toMatch(/drizzle\/\d{14}_cleanup\.sql:4:1 BLOCKED ban-drop-table \(billing\.invoices\)/);
    const ok = run(project().dir, ["lint", "drizzle"]);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
  });

  it("--format json follows the documented schema; github and sarif formats", () => {
    const { dir } = project({ approvals: false });
    const j = JSON.parse(run(dir, ["lint", "drizzle", "--format", "json"]).stdout);
    expect(Object.keys(j)).toEqual(["version", "verdict", "blockedRules", "files"]);
    expect(j.version).toBe(1);
    expect(j.verdict).toBe("BLOCKED");
    expect(Object.keys(j.files[0])).toEqual(["file", "nonTransactional", "statements", "findings"]);
    expect(Object.keys(j.files[0].statements[0]).sort()).toEqual(["column", "endLine", "guarded", "line", "lock", "operation", "rewrite", "risk", "rule", "scan", "target"]);
    const gh = run(dir, ["lint", "drizzle"], { GITHUB_ACTIONS: "true" });
    expect(gh.stdout).toMatch(/^::error file=drizzle\/\d{14}_cleanup\.sql,line=4,col=1,title=ban-drop-table::/m);
    const sarif = JSON.parse(run(dir, ["lint", "drizzle", "--format", "sarif"]).stdout);
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs[0].tool.driver.name).toBe("drizzle-guard");
    expect(sarif.runs[0].results.filter((x: any) => x.level === "error").map((x: any) => x.ruleId)).toEqual(["ban-drop-table", "ban-drop-schema"]);
  });

  it("invalid SQL: exit 2 with file:line:col", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-lint-"));
    writeFileSync(join(dir, "bad.sql"), "SELECT 1;\nCREATE TABLE (;\n");
    const r = run(dir, ["lint", "bad.sql"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bad.sql:2:14: syntax error at or near \"(\"");
  });
});

describe("drizzle-guard check", () => {
  it("passes on a rewritten folder", () => {
    const dir = project().dir;
    expect(JSON.parse(run(dir, ["check", "--format", "json"]).stdout).ok).toBe(true);
    const r = run(dir, ["check"]);
    expect(r.stdout).toContain("ok   rewritten");
    expect(r.status).toBe(0);
  });

  it("fails on a legacy folder, saying to run rewrite", () => {
    const r = run(project({ rewrite: false }).dir, ["check"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("FAIL rewritten: 5 migration(s) not in rewritten form");
    expect(r.stdout).toContain("FAIL names: not timestamped: 0000_init");
    expect(r.stdout).toContain("fix: run drizzle-guard rewrite");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: FAIL (rewritten, names, integrity, down-files)");
  });

  it("catches a file edited by hand, an orphan file, and a fork in the snapshot chain", () => {
    const { dir, out } = project();
    const sql = readdirSync(out).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql")).sort();
    writeFileSync(join(out, sql[4]), readFileSync(join(out, sql[4]), "utf8") + "\n-- hand edit");
    let r = run(dir, ["check", "--format", "json"]);
    expect(r.status).toBe(1);
    const integrity = JSON.parse(r.stdout).checks.find((c: any) => c.check === "integrity");
    expect(integrity.message).toBe(`changed or added by hand: ${sql[4]}`);
    // verdict is lint's alone; ok is the whole check's (it was missing: a failing check read PASS).
    expect([JSON.parse(r.stdout).verdict, JSON.parse(r.stdout).ok]).toEqual(["PASS", false]);
    // The last line is the whole check's verdict, not only lint's: never PASS with exit 1.
    expect(run(dir, ["check"]).stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: FAIL (integrity)");
    expect(run(dir, ["check"], { GITHUB_ACTIONS: "true" }).stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: FAIL (integrity)");
    writeFileSync(join(out, "20990101000000_stray.sql"), "SELECT 1;");
    const snaps = readdirSync(join(out, "meta")).filter((f) => f.endsWith("_snapshot.json")).sort();
    const forked = JSON.parse(readFileSync(join(out, "meta", snaps[4]), "utf8"));
    writeFileSync(join(out, "meta", "20990101000001_snapshot.json"), JSON.stringify({ ...forked, id: "11111111-1111-1111-1111-111111111111" }, null, 2));
    r = run(dir, ["check"]);
    expect(r.stdout).toContain("SQL files not in the journal: 20990101000000_stray.sql");
    expect(r.stdout).toMatch(/fork: \d{14}_snapshot\.json and 20990101000001_snapshot\.json both follow snapshot/);
  });

  it("rewrite records an intended hand edit and says so (dry run: that it would)", () => {
    const { dir, out } = project();
    const file = readdirSync(out).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql")).sort()[2];
    writeFileSync(join(out, file), readFileSync(join(out, file), "utf8") + "\n-- reviewed by hand");
    const dry = run(dir, ["rewrite", "--dry-run"]);
    expect(dry.stdout).toContain(`\nwould record the hand edits of drizzle/${file} in meta/_drizzle_guard.json\ndry run: nothing written\n`);
    expect(run(dir, ["check"]).status).toBe(1);
    const r = run(dir, ["rewrite"]);
    expect(r.stdout).toContain(`\nrecorded the hand edits of drizzle/${file} in meta/_drizzle_guard.json\n`);
    expect(run(dir, ["check"]).status).toBe(0);
    expect(run(dir, ["rewrite"]).stdout).not.toContain("hand edits");
  });

  it("a malformed journal is an input error: exit 2", () => {
    const { dir, out } = project();
    writeFileSync(join(out, "meta", "_journal.json"), "{ not json");
    const r = run(dir, ["check"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("_journal.json:1:3: malformed JSON");
  });
});

describe("a user error names its file from the working directory", () => {
  it("a SQL syntax error in a legacy file: rewrite, check, migrate and status print drizzle/<file>:line:col, exit 2, and nothing changes on disk", () => {
    const { dir, out } = project({ rewrite: false });
    const file = readdirSync(out).filter((f) => f.endsWith(".sql")).sort()[0];
    writeFileSync(join(out, file), "SELECT 1;\nSELEC 2;\n" + readFileSync(join(out, file), "utf8"));
    const before = tree(out);
    for (const args of [["rewrite"], ["rewrite", "--dry-run"], ["check"], ["migrate", "--pglite", "memory://"], ["status", "--pglite", "memory://"]]) {
      const r = run(dir, args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 2, stderr: `error: drizzle/${file}:2:1: syntax error at or near "SELEC"\n` });
    }
    expect(tree(out)).toEqual(before);
  });

  it("a malformed journal and a malformed snapshot", () => {
    const { dir, out } = project({ rewrite: false });
    const snapshot = readdirSync(join(out, "meta")).filter((f) => f.endsWith("_snapshot.json")).sort()[0];
    writeFileSync(join(out, "meta", snapshot), "{\n  oops\n}\n");
    expect(run(dir, ["rewrite"]).stderr).toMatch(new RegExp(`^error: drizzle/meta/${snapshot}:2:3: malformed JSON: `));
    writeFileSync(join(out, "meta", "_journal.json"), "{ not json");
    for (const args of [["rewrite"], ["check"], ["status", "--pglite", "memory://"]]) {
      const r = run(dir, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^error: drizzle\/meta\/_journal\.json:1:3: malformed JSON: /);
    }
  });
});

describe("output schemas", () => {
  it("json output (lint and check) validates against docs/lint-output.schema.json", async () => {
    const { default: Ajv } = await import("ajv");
    const ajv = new Ajv({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, "docs", "lint-output.schema.json"), "utf8")));
    const { dir } = project({ approvals: false });
    for (const args of [["lint", "drizzle", "--format", "json"], ["check", "--format", "json"]]) {
      const out = JSON.parse(run(dir, args).stdout);
      const ok = validate(out);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
    // The schema is strict enough to fail.
    expect(validate({ version: 1, verdict: "MAYBE", blockedRules: [], files: [] })).toBe(false);
  });

  it("sarif output validates against the SARIF 2.1.0 schema", async () => {
    const { default: AjvDraft4 } = await import("ajv-draft-04");
    const ajv = new AjvDraft4({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false });
    const schema = JSON.parse(readFileSync(join(ROOT, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json"), "utf8"));
    const validate = ajv.compile(schema);
    const { dir } = project({ approvals: false });
    for (const args of [["lint", "drizzle", "--format", "sarif"], ["check", "--format", "sarif"]]) {
      const out = JSON.parse(run(dir, args).stdout);
      expect(out.runs[0].results.length).toBeGreaterThan(0);
      validate(out);
      expect(validate.errors ?? []).toEqual([]);
    }
    expect(validate({ version: "2.1.0", runs: [{ tool: {} }] })).toBe(false);
  });
});

describe("rules documentation", () => {
  it("docs/rules.md is generated from the registries (npm run docs:rules)", async () => {
    const { renderRulesDoc } = await import("../src/lint/doc.js");
    expect(readFileSync(join(ROOT, "docs", "rules.md"), "utf8")).toBe(renderRulesDoc());
  });

  it("every rule has an example, and the example is classified as that rule", async () => {
    const { EXAMPLES } = await import("../src/lint/examples.js");
    const { RULES } = await import("../src/lint/rules.js");
    const { FORBIDDEN } = await import("../src/lint/forbidden.js");
    const ids = [...Object.keys(RULES), ...FORBIDDEN.map((r) => r.id)];
    expect(Object.keys(EXAMPLES).sort()).toEqual([...ids].sort());
    for (const id of Object.keys(RULES)) {
      const report = lintText(EXAMPLES[id], `${id}.sql`);
      expect(report.statements.at(-1)?.rule, id).toBe(id);
    }
    for (const r of FORBIDDEN) {
      expect(lintText(EXAMPLES[r.id], `${r.id}.sql`).findings.map((f) => f.rule), r.id).toContain(r.id);
    }
  });
});

describe("drizzle-guard.config", () => {
  it("unknown keys and unknown rules are errors; rule levels warn/off stop blocking", () => {
    const { dir } = project({ approvals: false });
    writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ aprove: [] }));
    let r = run(dir, ["lint", "drizzle"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown drizzle-guard option(s): aprove");
    writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ rules: { "ban-dorp-table": "off" } }));
    r = run(dir, ["check"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("rules: unknown rule ban-dorp-table");
    writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ rules: { "ban-drop-table": "warn", "ban-drop-schema": "off" } }));
    r = run(dir, ["lint", "drizzle"]);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
    expect(r.stdout).toContain("allowed: rule level is warn in the config");
  });
});

describe("two branches generating from the same parent", () => {
  it("check reports the fork, naming both snapshot files", async () => {
    const { makeProject, useSchema } = await import("./helpers/project.js");
    const a = makeProject();
    useSchema(a, "v1");
    expect(run(a, ["generate", "--name", "init"]).status).toBe(0);
    const b = mkdtempSync(join(tmpdir(), "dg-branch-"));
    cpSync(a, b, { recursive: true, verbatimSymlinks: true });
    // Branch A: the v2 schema. Branch B: a different change to v1.
    useSchema(a, "v2");
    expect(run(a, ["generate", "--name", "billing"]).status).toBe(0);
    writeFileSync(join(b, "schema.ts"), readFileSync(join(b, "schemas", "v1.ts"), "utf8").replace('name: text("name").notNull(),', 'name: text("name").notNull(),\n    nickname: text("nickname"),'));
    // A later time, as a real other branch would be (A's split parts took the next seconds for their names).
    await new Promise((r) => setTimeout(r, 3500));
    expect(run(b, ["generate", "--name", "nickname"]).status).toBe(0);
    // A git merge of both branches: the union of files, journal entries in time order.
    const outA = join(a, "drizzle");
    const outB = join(b, "drizzle");
    const bOnly = readdirSync(outB).filter((f) => f.endsWith(".sql") && !readdirSync(outA).includes(f));
    for (const f of bOnly) cpSync(join(outB, f), join(outA, f));
    const snapB = readdirSync(join(outB, "meta")).filter((f) => f.endsWith("_snapshot.json") && !readdirSync(join(outA, "meta")).includes(f));
    for (const f of snapB) cpSync(join(outB, "meta", f), join(outA, "meta", f));
    const ja = JSON.parse(readFileSync(join(outA, "meta", "_journal.json"), "utf8"));
    const jb = JSON.parse(readFileSync(join(outB, "meta", "_journal.json"), "utf8"));
    const merged = [...ja.entries, ...jb.entries.filter((e: any) => !ja.entries.some((x: any) => x.tag === e.tag))].sort((x: any, y: any) => x.when - y.when);
    writeFileSync(join(outA, "meta", "_journal.json"), JSON.stringify({ ...ja, entries: merged.map((e: any, idx: number) => ({ ...e, idx })) }, null, 2));
    const r = run(a, ["check", "--format", "json"]);
    expect(r.status).toBe(1);
    const consistency = JSON.parse(r.stdout).checks.find((c: any) => c.check === "consistency");
    const forkSnaps = [...readdirSync(join(outA, "meta")).filter((f) => f.endsWith("_snapshot.json"))].sort().slice(1);
    expect(forkSnaps.length).toBeGreaterThanOrEqual(3);
    expect(consistency.ok).toBe(false);
    expect(consistency.message).toMatch(new RegExp(`fork: (${forkSnaps.join("|")}) and (${forkSnaps.join("|")}) both follow snapshot`));
    expect(consistency.message).toContain(snapB[0]);
  });
});

describe("lint on worker threads", () => {
  /** Every fixture .sql file copied into one folder (49 files: several chunks for each thread). */
  function fixtureFolder(): { dir: string; files: string[] } {
    const dir = mkdtempSync(join(tmpdir(), "dg-lint-threads-"));
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith(".sql") ? [join(d, e.name)] : []));
    const files = walk(join(ROOT, "fixtures")).map((f, i) => {
      const to = join(dir, "drizzle", `${String(i).padStart(4, "0")}_${f.split("/").at(-1)}`);
      cpSync(f, to);
      return to;
    });
    return { dir, files };
  }

  it("give the same result, in file order, as one thread", async () => {
    const { dir, files } = fixtureFolder();
    expect(files.length).toBeGreaterThan(40);
    const one = lintFiles(files, APPROVALS, dir);
    for (const threads of [2, 3]) expect(await lintFilesParallel(files, APPROVALS, dir, {}, threads)).toEqual(one);
  });

  it("report the first bad file in order, as one thread does", async () => {
    const { dir, files } = fixtureFolder();
    writeFileSync(files[20], "SELECT 1;\nSELEC 2;\n");
    writeFileSync(files[40], "CREATE TABLE;\n");
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as GuardError;
      }
      throw new Error("no error");
    };
    const one = error(() => lintFiles(files, [], dir));
    expect(one.format()).toBe(`drizzle/${files[20].split("/").at(-1)}:2:1: syntax error at or near "SELEC"`);
    for (const threads of [2, 3]) {
      const many = await lintFilesParallel(files, [], dir, {}, threads).then(
        () => undefined,
        (e) => e as GuardError,
      );
      expect(many).toBeInstanceOf(GuardError);
      expect(many!.format()).toBe(one.format());
    }
  });

  it("the CLI prints the same report with DRIZZLE_GUARD_THREADS=3 as with 1 (tty and json)", () => {
    const { dir } = fixtureFolder();
    for (const format of ["tty", "json"]) {
      const one = run(dir, ["lint", "drizzle", "--format", format], { DRIZZLE_GUARD_THREADS: "1" });
      const three = run(dir, ["lint", "drizzle", "--format", format], { DRIZZLE_GUARD_THREADS: "3" });
      expect(one.stderr).toBe("");
      expect(one.stdout.length).toBeGreaterThan(1000);
      expect(three).toEqual(one);
    }
  });

  it("threadCount: one per idle core up to 4, none for few files, DRIZZLE_GUARD_THREADS wins, never more than chunks", () => {
    expect(threadCount(10, undefined, 2, 0)).toBe(1);
    expect(threadCount(2000, undefined, 2, 0)).toBe(2);
    expect(threadCount(2000, undefined, 8, 0)).toBe(4);
    expect(threadCount(2000, undefined, 8, 5.8)).toBe(2);
    expect(threadCount(2000, undefined, 2, 2)).toBe(1); // every core busy
    expect(threadCount(2000, undefined, 2, 7)).toBe(1);
    expect(threadCount(2000, "1", 8, 0)).toBe(1);
    expect(threadCount(2000, "3", 2, 7)).toBe(3);
    expect(threadCount(20, "3", 8, 0)).toBe(2);
    expect(threadCount(2000, "zero", 2, 0)).toBe(2);
  });
});

describe("lint reads the config only when findings need it", () => {
  it("without findings a broken drizzle-guard config is not read (check still refuses it); with findings it is", () => {
    const dir = mkdtempSync(join(tmpdir(), "dg-lint-config-"));
    writeFileSync(join(dir, "ok.sql"), 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    writeFileSync(join(dir, "drizzle-guard.config.json"), JSON.stringify({ aprove: [] }));
    const ok = run(dir, ["lint", "ok.sql"]);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trimEnd().split("\n").at(-1)).toBe("VERDICT: PASS");
    writeFileSync(join(dir, "drop.sql"), 'DROP TABLE "users";');
    const bad = run(dir, ["lint", "drop.sql"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown drizzle-guard option(s): aprove");
    expect(run(dir, ["lint", "ok.sql", "--config", "drizzle-guard.config.json"]).status).toBe(2);
  });
});
