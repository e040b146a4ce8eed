/** A throwaway copy of the bundled example drizzle project, and a way to run the CLI in it. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "drizzle-guard.js");
export const DRIZZLE_KIT = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs");

/** A throwaway copy of examples/<name> (default: the shop example), with node_modules linked. */
export function makeProject(name = "shop"): string {
  const dir = mkdtempSync(join(tmpdir(), "dg-project-"));
  cpSync(join(ROOT, "examples", name), dir, { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

export function useSchema(dir: string, version: string): void {
  cpSync(join(dir, "schemas", `${version}.ts`), join(dir, "schema.ts"));
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cwd: string, args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env } });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

export function drizzleKit(cwd: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [DRIZZLE_KIT, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir` (relative path -> content), for byte-exact before/after comparisons. */
export function tree(dir: string, base = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, tree(dir, rel));
    else out[rel] = readFileSync(join(dir, rel), "utf8");
  }
  return out;
}
