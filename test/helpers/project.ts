/** A throwaway copy of the bundled example drizzle project, and a way to run the CLI in it. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "drizzle-guard.js");
export const DRIZZLE_KIT = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs");

/** A throwaway copy of examples/<name> (default: the shop example; or of <parent>/<name>), with node_modules linked. */
export function makeProject(name = "shop", parent = join(ROOT, "examples")): string {
  const dir = mkdtempSync(join(tmpdir(), "dg-project-"));
  cpSync(join(parent, name), dir, { recursive: true });
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

/** Generates every schema version of a project copy with `drizzle-guard generate`; returns its migrations folder. */
export function generateAll(dir: string, versions = ["v1", "v2", "v3", "v4", "v5"]): string {
  for (const v of versions) {
    useSchema(dir, v);
    const r = run(dir, ["generate", "--name", v]);
    if (r.status !== 0) throw new Error(`generate ${v} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return join(dir, "drizzle");
}
