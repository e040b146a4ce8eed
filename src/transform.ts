/** Types shared by transforms, the registry and the rewrite pipeline. Transforms are pure. */
import type { Edit } from "./engine.js";
import type { ParsedSql, Statement } from "./sql/parse.js";

export type { Edit };

export interface TransformMeta {
  /** Equals the file name in transforms/, the fixtures folder and the section in docs/transforms.md. */
  id: string;
  description: string;
  /** Where the rule is documented. */
  docs: string;
}

export interface Note {
  statement: number;
  transform: string;
  message: string;
}

export interface TransformContext {
  sql: ParsedSql;
  /** Relations created by CREATE TABLE in this file, as `schema.name` (unqualified = public). */
  createdTables: ReadonlySet<string>;
  /** Index names (`schema.name`) created in this file on tables created in this file. */
  indexesOnCreatedTables: ReadonlySet<string>;
  /** Relations dropped by DROP TABLE in this file, with the index of the dropping statement. */
  droppedTables: ReadonlyMap<string, number>;
  /**
   * True for a migration generated in this run: it may be split into phase files. False for an
   * existing migration (a deployed database must not see new parts of it).
   */
  newMigration: boolean;
  /** drizzle-kit's snapshot after this migration, and the one before it (when known). */
  snapshot?: Record<string, any>;
  previousSnapshot?: Record<string, any>;
  /** Rows per transaction in backfill files (new migrations). */
  backfillBatchSize?: number;
}

/** The phase files a new migration can be split into, in the order they run. */
export type Phase = "expand" | "concurrent" | "backfill" | "validate" | "contract";

export const PHASES: readonly Phase[] = ["expand", "concurrent", "backfill", "validate", "contract"];

/** Phases whose file runs without a transaction (one statement per round trip). */
export const NON_TRANSACTIONAL_PHASES: ReadonlySet<Phase> = new Set(["concurrent", "backfill", "validate"]);

/** A statement a transform adds to a phase file (e.g. VALIDATE CONSTRAINT after NOT VALID). */
export interface AddedStatement {
  phase: Phase;
  /** Full statement text, with its `;`. */
  text: string;
  /**
   * Where it goes in its phase file, on the scale of the input's statement indexes (statement i
   * sits at i): 4.5 goes right after statement 4. Default: after everything else, in added order.
   */
  order?: number;
}

/** A statement of the input placed in another phase file than the one it would be in. */
export interface MovedStatement {
  statement: number;
  phase: Phase;
  /** As AddedStatement.order; default: the statement's own index. */
  order?: number;
}

export interface TransformResult {
  edits: Edit[];
  /** Statements that cannot run inside a transaction (CREATE/DROP INDEX CONCURRENTLY, ...). */
  nonTransactional?: number[];
  /** Statements left as they are, with the reason (reported, never silently changed). */
  notes?: Note[];
  /** Statements added to phase files (new migrations only). */
  added?: AddedStatement[];
  /** Statements moved to another phase file (new migrations only). */
  moved?: MovedStatement[];
  /**
   * Statements whose whole text this transform replaces: other transforms' edits inside them are
   * dropped (they were made for text that no longer exists).
   */
  replaced?: number[];
}

export interface StatementTransform {
  kind: "statement";
  meta: TransformMeta;
  apply(ctx: TransformContext): TransformResult;
}

/** One journal entry as a folder transform sees it. */
export interface EntryName {
  tag: string;
  when: number;
  /** Entries written before this run keep their `when` (a deployed database depends on it). */
  existing: boolean;
}

export interface FolderTransform {
  kind: "folder";
  meta: TransformMeta;
  /** Returns the new tag and `when` of every entry, in order. */
  apply(entries: readonly EntryName[], options: { naming: Naming }): Array<{ tag: string; when: number }>;
}

export type Naming = "timestamp" | "timestamp-underscore";

export type Transform = StatementTransform | FolderTransform;

export type { ParsedSql, Statement };
