/**
 * The drizzle migrations folder: `<out>/<tag>.sql`, `<out>/meta/_journal.json`,
 * `<out>/meta/<prefix>_snapshot.json`, and drizzle-guard's own `<out>/meta/_drizzle_guard.json`
 * (its name starts with `_` so drizzle-kit does not take it for a snapshot).
 * Reading validates everything; nothing here writes.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { GuardError } from "../errors.js";
import { jsonErrorOffset } from "../util/json-position.js";

export interface JournalEntry {
  idx: number;
  version: string;
  when: number;
  tag: string;
  breakpoints: boolean;
  [key: string]: unknown;
}

export interface Journal {
  version: string;
  dialect: string;
  entries: JournalEntry[];
  [key: string]: unknown;
}

export interface SumEntry {
  tag: string;
  when: number;
  /** sha256 of the file as it is now (what drizzle-orm would record when applying it). */
  sha256: string;
  /** sha256 of earlier versions that drizzle-guard rewrote into this one (a database may hold them). */
  rewrittenFrom: string[];
}

export interface SumFile {
  version: 1;
  entries: SumEntry[];
}

export interface Folder {
  /** Absolute path of `out`. */
  dir: string;
  journal: Journal;
  /** Snapshot file names in meta/, sorted as drizzle-kit sorts them. */
  snapshots: string[];
  sum: SumFile | null;
}

export const JOURNAL = "meta/_journal.json";
export const SUM = "meta/_drizzle_guard.json";

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A tag must name a file directly inside `out`: no separators, no `..`, nothing absolute. */
export function assertSafeTag(tag: unknown, where: string): asserts tag is string {
  if (typeof tag !== "string" || tag === "" || /[\\/\0]/.test(tag) || tag === "." || tag === ".." || isAbsolute(tag)) {
    throw new GuardError(`journal tag ${JSON.stringify(tag)} is not a plain file name`, {
      file: where,
      hint: "tags must name a file inside the migrations folder",
    });
  }
}

function readJson(path: string, display: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e: any) {
    throw new GuardError(`cannot read ${display}: ${e.code ?? e.message}`, { file: display });
  }
  try {
    return JSON.parse(text);
  } catch (e: any) {
    const offset = jsonErrorOffset(text);
    let line: number | undefined;
    let column: number | undefined;
    if (offset >= 0) {
      const before = text.slice(0, offset);
      line = before.split("\n").length;
      column = offset - before.lastIndexOf("\n");
    }
    throw new GuardError(`malformed JSON: ${e.message}`, { file: display, line, column });
  }
}

/** Refuses a path that resolves (through symlinks) outside `dir`. */
export function assertInside(dir: string, path: string, display: string): void {
  if (!existsSync(path)) return;
  const real = realpathSync(path);
  const root = realpathSync(dir);
  const rel = relative(root, real);
  if (rel.startsWith("..") || isAbsolute(rel) || rel.split(sep).includes("..")) {
    throw new GuardError(`${display} resolves outside the migrations folder`, { file: display });
  }
}

export function readFolder(out: string, opts: { allowMissing?: boolean } = {}): Folder {
  const dir = resolve(out);
  const journalPath = join(dir, JOURNAL);
  if (!existsSync(journalPath)) {
    if (opts.allowMissing) return { dir, journal: { version: "7", dialect: "postgresql", entries: [] }, snapshots: [], sum: null };
    throw new GuardError(`no drizzle migrations folder at ${out} (missing ${JOURNAL})`, {
      hint: "run drizzle-guard generate first, or point --config / out at the folder",
    });
  }
  assertInside(dir, journalPath, JOURNAL);
  const raw = readJson(journalPath, join(out, JOURNAL)) as Journal;
  const jfile = join(out, JOURNAL);
  if (!raw || typeof raw !== "object" || !Array.isArray(raw.entries)) {
    throw new GuardError("journal has no entries array", { file: jfile });
  }
  if (raw.dialect && raw.dialect !== "postgresql") {
    throw new GuardError(`journal dialect is ${raw.dialect}; drizzle-guard supports postgresql only`, { file: jfile });
  }
  const seen = new Set<string>();
  raw.entries.forEach((e, i) => {
    if (!e || typeof e !== "object") throw new GuardError(`journal entry ${i} is not an object`, { file: jfile });
    assertSafeTag(e.tag, jfile);
    if (typeof e.when !== "number" || !Number.isFinite(e.when)) {
      throw new GuardError(`journal entry ${e.tag} has no numeric "when"`, { file: jfile });
    }
    if (seen.has(e.tag)) throw new GuardError(`duplicate journal tag ${e.tag}`, { file: jfile });
    seen.add(e.tag);
    const sqlPath = join(dir, `${e.tag}.sql`);
    if (!existsSync(sqlPath)) {
      throw new GuardError(`journal entry ${e.tag} has no file ${e.tag}.sql`, { file: jfile, hint: "restore the file or remove the entry" });
    }
    assertInside(dir, sqlPath, `${e.tag}.sql`);
    if (!lstatSync(sqlPath).isFile()) throw new GuardError(`${e.tag}.sql is not a regular file`, { file: join(out, `${e.tag}.sql`) });
  });
  const metaDir = join(dir, "meta");
  const snapshots = readdirSync(metaDir)
    .filter((f) => !f.startsWith("_"))
    .sort();
  for (const s of snapshots) assertInside(dir, join(metaDir, s), `meta/${s}`);
  const sumPath = join(dir, SUM);
  let sum: SumFile | null = null;
  if (existsSync(sumPath)) {
    assertInside(dir, sumPath, SUM);
    const parsed = readJson(sumPath, join(out, SUM)) as SumFile;
    if (!parsed || parsed.version !== 1 || !Array.isArray(parsed.entries)) {
      throw new GuardError("unrecognised drizzle-guard sum file", { file: join(out, SUM) });
    }
    sum = parsed;
  }
  return { dir, journal: raw, snapshots, sum };
}

export function readSql(folder: Folder, tag: string): string {
  return readFileSync(join(folder.dir, `${tag}.sql`), "utf8");
}

/** The snapshot prefix drizzle-kit used for a tag: `0003_x` -> `0003`, `20250101120000_x` -> `20250101120000`. */
export function snapshotPrefix(tag: string): string {
  const m = /^(\d{8}_\d{6}|\d+)_/.exec(tag);
  return m ? m[1] : "";
}

export function snapshotFile(tag: string): string {
  return `${snapshotPrefix(tag)}_snapshot.json`;
}

/** A snapshot of meta/ by file name, or undefined when the folder has none of that name. */
export function readSnapshotFile(folder: Folder, name: string): Record<string, any> | undefined {
  if (!folder.snapshots.includes(name)) return undefined;
  return readJson(join(folder.dir, "meta", name), `meta/${name}`) as Record<string, any>;
}
