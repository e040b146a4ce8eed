/**
 * timestamp-names: every tag becomes `YYYYMMDDHHMMSS_<name>` (drizzle-kit's own `timestamp` prefix
 * shape), unique and strictly increasing, so branches do not collide on `0007_` and drizzle-kit
 * still finds the newest snapshot by string sort. `naming: "timestamp-underscore"` gives
 * `YYYYMMDD_HHMMSS_<name>` instead (see docs/transforms.md for what each keeps in drizzle-kit).
 * Times are UTC, taken from the entry's `when`. Entries that already exist keep their `when`;
 * new ones get a `when` strictly greater than the previous entry's.
 */
import type { EntryName, FolderTransform, Naming } from "../src/transform.js";

const ID = "timestamp-names";

const SHAPES: Record<Naming, RegExp> = {
  timestamp: /^(\d{14})_(.+)$/,
  "timestamp-underscore": /^(\d{8})_(\d{6})_(.+)$/,
};

/** The descriptive part of a tag: `0003_brave_hero` -> `brave_hero`. */
export function tagName(tag: string): string {
  const m = /^\d{8}_\d{6}_(.+)$/.exec(tag) ?? /^\d*_(.+)$/.exec(tag);
  const name = (m ? m[1] : tag).replace(/[^A-Za-z0-9_-]+/g, "_");
  return name === "" ? "migration" : name;
}

/** `YYYYMMDDHHMMSS` (UTC) of a millisecond timestamp. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** Milliseconds of a `YYYYMMDDHHMMSS` (UTC) stamp. */
export function stampToMs(s: string): number {
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
}

function existingStamp(tag: string, naming: Naming): string | undefined {
  const m = SHAPES[naming].exec(tag);
  if (!m) return undefined;
  const s = naming === "timestamp" ? m[1] : m[1] + m[2];
  return Number.isNaN(stampToMs(s)) || stamp(stampToMs(s)) !== s ? undefined : s;
}

function format(s: string, name: string, naming: Naming): string {
  return naming === "timestamp" ? `${s}_${name}` : `${s.slice(0, 8)}_${s.slice(8)}_${name}`;
}

export const timestampNames: FolderTransform = {
  kind: "folder",
  meta: {
    id: ID,
    description: "tags renamed to YYYYMMDDHHMMSS_<name>, unique and ordered; SQL file, journal and snapshot together",
    docs: "docs/transforms.md#timestamp-names",
  },
  apply(entries: readonly EntryName[], { naming }) {
    const out: Array<{ tag: string; when: number }> = [];
    let prevStamp = "";
    let prevWhen = -Infinity;
    for (const e of entries) {
      const when = e.existing || e.when > prevWhen ? e.when : prevWhen + 1;
      let s = existingStamp(e.tag, naming) ?? stamp(when);
      if (s <= prevStamp) s = stamp(stampToMs(prevStamp) + 1000);
      out.push({ tag: format(s, tagName(e.tag), naming), when });
      prevStamp = s;
      prevWhen = Math.max(prevWhen, when);
    }
    return out;
  },
};

export default timestampNames;
