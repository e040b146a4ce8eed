/**
 * The package as a project installs it: what it declares, and what a user sees when an optional
 * piece (a database driver) is missing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GuardError } from "../src/errors.js";
import { importDriver } from "../src/runner/driver.js";
import { ROOT } from "./helpers/project.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

describe("package.json", () => {
  it("declares the drivers and drizzle-kit, which the project installs, as optional peer dependencies", () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@electric-sql/pglite", "drizzle-kit", "pg"]);
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
