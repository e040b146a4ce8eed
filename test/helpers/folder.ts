/** Byte-exact views of a folder, and a private copy of the built CLI for child processes. */
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./project.js";

/**
 * Every entry under `dir`, by relative path: directories as "<dir>", symlinks as "-> target"
 * (never followed), files by content (UTF-8 text when that is lossless, base64 otherwise).
 */
export function snapshot(dir: string, base = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, base)).sort()) {
    const rel = base ? `${base}/${name}` : name;
    const path = join(dir, rel);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
    else if (st.isDirectory()) {
      out[rel] = "<dir>";
      Object.assign(out, snapshot(dir, rel));
    } else {
      const bytes = readFileSync(path);
      const text = bytes.toString("utf8");
      out[rel] = Buffer.from(text, "utf8").equals(bytes) ? text : `base64:${bytes.toString("base64")}`;
    }
  }
  return out;
}

/**
 * A private copy of dist/ and bin/ (node_modules linked), so that children SIGKILLed by crash trials
 * never load a module that another build of the project is rewriting meanwhile. The caller removes `root`.
 */
export function privateBuild(): { root: string; bin: string; indexUrl: string } {
  const root = mkdtempSync(join(tmpdir(), "dg-dist-"));
  cpSync(join(ROOT, "dist"), join(root, "dist"), { recursive: true });
  cpSync(join(ROOT, "bin"), join(root, "bin"), { recursive: true });
  writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  return { root, bin: join(root, "bin", "drizzle-guard.js"), indexUrl: pathToFileURL(join(root, "dist", "src", "index.js")).href };
}
