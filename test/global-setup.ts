/** Builds dist/ once (the CLI tests run bin/drizzle-guard.js) and says loudly whether PostgreSQL tests run. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export default function setup(): void {
  const root = join(import.meta.dirname, "..");
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], {
    stdio: "inherit",
  });
  if (!process.env.DRIZZLE_GUARD_TEST_PG_URL) {
    const banner = "=".repeat(78);
    const msg = "DRIZZLE_GUARD_TEST_PG_URL is not set: the PostgreSQL 15 suites are SKIPPED (PGlite suites still run). `bash .ci/run` starts a server and sets it.";
    process.stderr.write(`\n${banner}\n${msg}\n${banner}\n\n`);
    if (process.env.CI) throw new Error(`CI=true but ${msg}`);
  }
}
