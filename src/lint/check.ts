/**
 * `drizzle-guard check` (for CI): every migration in rewritten form, names timestamped and unique,
 * journal / files / snapshots consistent (no orphan, no fork in the id/prevId chain, `when`
 * strictly increasing), the sum file matching the files, and the lint verdict.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readFolder, readSql, sha256, snapshotFile } from "../folder/folder.js";
import { planRewrite } from "../rewrite.js";
import { downFile, guarded } from "../down/down.js";
import { isGuardError } from "../errors.js";
import type { Naming } from "../transform.js";
import type { ConfigApproval, RuleLevels } from "./forbidden.js";
import type { CheckItem } from "./format.js";
import { lintText, verdictOf, type LintResult } from "./lint.js";

const NAME = { timestamp: /^\d{14}_[A-Za-z0-9_-]+$/, "timestamp-underscore": /^\d{8}_\d{6}_[A-Za-z0-9_-]+$/ };

export function check(out: string, opts: { naming: Naming; approvals: readonly ConfigApproval[]; levels?: RuleLevels; display?: string }): { checks: CheckItem[]; lint: LintResult } {
  const folder = readFolder(out);
  const shown = opts.display ?? out;
  const entries = folder.journal.entries;
  const checks: CheckItem[] = [];
  const rel = (f: string) => join(shown, f);

  // 1. rewritten form
  const plan = planRewrite(folder, { naming: opts.naming });
  const notRewritten = plan.diffs.filter((d) => d.before && d.after && (d.before.text !== d.after.text || d.before.path !== d.after.path));
  checks.push(
    notRewritten.length
      ? {
          check: "rewritten",
          ok: false,
          message: `${notRewritten.length} migration(s) not in rewritten form: ${notRewritten.map((d) => d.before!.path).join(", ")}`,
          file: rel(notRewritten[0].before!.path),
          fix: "run drizzle-guard rewrite (or generate with drizzle-guard generate) and commit the result",
        }
      : { check: "rewritten", ok: true, message: `${entries.length} migration(s) in rewritten form` },
  );

  // 2. names
  const badNames = entries.filter((e) => !NAME[opts.naming].test(e.tag));
  checks.push(
    badNames.length
      ? { check: "names", ok: false, message: `not timestamped: ${badNames.map((e) => e.tag).join(", ")}`, fix: "run drizzle-guard rewrite" }
      : { check: "names", ok: true, message: "timestamped and unique" },
  );

  // 3. consistency
  const problems: string[] = [];
  const tags = new Set(entries.map((e) => e.tag));
  const orphans = readdirSync(folder.dir).filter((f) => f.endsWith(".sql") && !f.endsWith(".down.sql") && !tags.has(f.slice(0, -4)));
  if (orphans.length) problems.push(`SQL files not in the journal: ${orphans.join(", ")}`);
  for (let i = 1; i < entries.length; i++) {
    if (!(entries[i].when > entries[i - 1].when)) problems.push(`"when" of ${entries[i].tag} is not after ${entries[i - 1].tag}'s`);
  }
  const snaps = new Map<string, { id: string; prevId: string }>();
  for (const s of folder.snapshots) {
    try {
      const j = JSON.parse(readFileSync(join(folder.dir, "meta", s), "utf8"));
      snaps.set(s, { id: j.id, prevId: j.prevId });
    } catch {
      problems.push(`meta/${s} is not valid JSON`);
    }
  }
  const byPrev = new Map<string, string[]>();
  for (const [name, s] of snaps) byPrev.set(s.prevId, [...(byPrev.get(s.prevId) ?? []), name]);
  for (const [prev, names] of byPrev) {
    if (names.length > 1) problems.push(`fork: ${names.join(" and ")} both follow snapshot ${prev} (two branches generated from the same parent)`);
  }
  let prevId = "00000000-0000-0000-0000-000000000000";
  for (const e of entries) {
    const s = snaps.get(snapshotFile(e.tag));
    if (!s) {
      problems.push(`no snapshot meta/${snapshotFile(e.tag)} for ${e.tag}`);
      continue;
    }
    if (s.prevId !== prevId) problems.push(`meta/${snapshotFile(e.tag)} follows ${s.prevId}, not the previous migration's snapshot ${prevId}`);
    prevId = s.id;
  }
  const extra = [...snaps.keys()].filter((n) => !entries.some((e) => snapshotFile(e.tag) === n));
  if (extra.length) problems.push(`snapshots without a migration: ${extra.join(", ")}`);
  checks.push(
    problems.length
      ? {
          check: "consistency",
          ok: false,
          message: problems.join("; "),
          file: rel("meta/_journal.json"),
          fix: "a fork comes from two branches that each generated a migration: drop one, merge, and generate again",
        }
      : { check: "consistency", ok: true, message: "journal, files and snapshots agree; one unbroken snapshot chain" },
  );

  // 4. integrity
  const sum = new Map((folder.sum?.entries ?? []).map((s) => [s.tag, s]));
  const edited: string[] = [];
  for (const e of entries) {
    const s = sum.get(e.tag);
    if (!s || s.sha256 !== sha256(readSql(folder, e.tag))) edited.push(`${e.tag}.sql`);
  }
  const gone = [...sum.keys()].filter((t) => !tags.has(t));
  checks.push(
    !folder.sum
      ? { check: "integrity", ok: false, message: "no meta/_drizzle_guard.json sum file", fix: "run drizzle-guard rewrite" }
      : edited.length || gone.length
        ? {
            check: "integrity",
            ok: false,
            message: [edited.length ? `changed or added by hand: ${edited.join(", ")}` : "", gone.length ? `removed: ${gone.join(", ")}` : ""].filter(Boolean).join("; "),
            file: edited[0] ? rel(edited[0]) : undefined,
            fix: "put changes in a new migration; if this edit is intended and not yet applied anywhere, run drizzle-guard rewrite to record it",
          }
        : { check: "integrity", ok: true, message: "every file matches the sum file" },
  );

  // 5. down files: one per migration, parsing, with the guards of rewritten form
  const down: string[] = [];
  const missing: string[] = [];
  for (const e of entries) {
    const path = join(folder.dir, downFile(e.tag));
    if (!existsSync(path)) {
      missing.push(downFile(e.tag));
      continue;
    }
    const text = readFileSync(path, "utf8");
    try {
      if (guarded(text, downFile(e.tag)).text !== text) down.push(`${downFile(e.tag)} is not guarded`);
    } catch (err) {
      down.push(isGuardError(err) ? err.format() : String(err));
    }
  }
  if (missing.length) down.unshift(`no down file: ${missing.join(", ")}`);
  checks.push(
    down.length
      ? { check: "down-files", ok: false, message: down.join("; "), file: rel(missing[0] ?? downFile(entries[0].tag)), fix: "run drizzle-guard rewrite to write the missing down files; guard hand-written ones with IF [NOT] EXISTS" }
      : { check: "down-files", ok: true, message: `${entries.length} down file(s), in rewritten form` },
  );

  // 6. lint
  const files = entries.map((e) => lintText(readSql(folder, e.tag), rel(`${e.tag}.sql`), opts.approvals, undefined, opts.levels));
  const lint: LintResult = { files, ...verdictOf(files) };
  checks.push(
    lint.verdict === "PASS"
      ? { check: "lint", ok: true, message: "VERDICT: PASS" }
      : { check: "lint", ok: false, message: `VERDICT: BLOCKED (${lint.blockedRules.join(", ")})`, fix: "approve each finding with -- drizzle-guard: approve <rule-id> <reason>, or change the migration" },
  );
  return { checks, lint };
}
