#!/usr/bin/env node
// The main job on the bundled example: a copy of examples/shop goes through five schema changes,
// each generated with `drizzle-guard generate`; the rewritten files are shown and applied to an
// embedded PGlite database with `drizzle-guard migrate` (twice: the second run finds nothing).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "drizzle-guard.js");
const dir = mkdtempSync(join(tmpdir(), "drizzle-guard-demo-"));
cpSync(join(root, "examples", "shop"), dir, { recursive: true });
symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");

function guard(args) {
  console.log(`\n$ drizzle-guard ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, stdio: ["inherit", "inherit", "inherit"] });
  if (r.status !== 0) {
    console.error(`drizzle-guard ${args[0]} exited ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

try {
  for (const v of ["v1", "v2", "v3", "v4", "v5"]) {
    cpSync(join(dir, "schemas", `${v}.ts`), join(dir, "schema.ts"));
    console.log(`\n=== schema ${v} ===`);
    guard(["generate", "--name", v]);
  }
  const out = join(dir, "drizzle");
  console.log("\n=== rewritten migrations ===");
  for (const f of readdirSync(out).filter((f) => f.endsWith(".sql")).sort()) {
    console.log(`\n--- drizzle/${f}`);
    console.log(readFileSync(join(out, f), "utf8"));
  }
  console.log("\n=== applied to PGlite ===");
  const db = join(dir, ".pglite");
  guard(["migrate", "--pglite", db]);
  guard(["migrate", "--pglite", db]);
  guard(["status", "--pglite", db]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
