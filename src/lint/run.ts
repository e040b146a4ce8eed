/**
 * The `lint` command body. It lives apart from src/commands.ts so that `drizzle-guard lint` loads
 * only the lint modules (not the rewrite, generate, runner and diff code the other commands need):
 * lint runs on every commit and editor save, and its start-up is most of its time on one file.
 */
import type { ResolvedConfig } from "../config.js";
import { GuardError } from "../errors.js";
import { FORBIDDEN } from "./forbidden.js";
import { formatGithub, formatJson, formatSarif, formatTty, pickFormat, type CheckItem, type Format } from "./format.js";
import { collectSqlFiles, lintFile, verdictOf, type LintResult } from "./lint.js";
import { lintFilesParallel } from "./parallel.js";
import { RULES } from "./rules.js";

type Print = (line?: string) => void;

export function emit(format: Format, result: LintResult, checks: CheckItem[] | undefined, print: Print): void {
  if (format === "json") print(formatJson(result, checks));
  // One write for the whole report: a write per line costs more than linting on large folders.
  else if (format === "github") print(formatGithub(result, checks).join("\n"));
  else if (format === "sarif") print(formatSarif(result, checks, [...Object.values(RULES), ...FORBIDDEN]));
  else print(formatTty(result, checks).join("\n"));
}

export async function runLint(o: { paths: string[]; config?: string; format?: string }, print: Print): Promise<number> {
  const format = pickFormat(o.format);
  if (!o.paths.length) throw new GuardError("lint needs files or folders: drizzle-guard lint drizzle/");
  const load = async (): Promise<ResolvedConfig> => (await import("../config.js")).loadConfig({ config: o.config });
  // The config holds approvals and rule levels, which only act on forbidden-operation findings: without
  // --config it is read only when there are findings, and then only the files with findings are linted again.
  const config = o.config ? await load() : undefined;
  const cwd = process.cwd();
  const files = collectSqlFiles(o.paths);
  // Linting nothing would pass: a CI step pointed at the wrong folder must not go green.
  if (!files.length) throw new GuardError(`no .sql migration files in ${o.paths.join(", ")}`, { hint: "point lint at the migrations folder (out in drizzle.config.ts), e.g. drizzle-guard lint drizzle/" });
  let result = await lintFilesParallel(files, config?.guard.approve ?? [], cwd, config?.guard.rules ?? {});
  if (!config && result.files.some((f) => f.findings.length)) {
    const { approve, rules } = (await load()).guard;
    if (approve.length || Object.keys(rules).length) {
      const reports = result.files.map((r, i) => (r.findings.length ? lintFile(files[i], approve, cwd, rules) : r));
      result = { files: reports, ...verdictOf(reports) };
    }
  }
  emit(format, result, undefined, print);
  return result.verdict === "PASS" ? 0 : 1;
}
