/** The one registry of transforms, sorted by id. Statement transforms run in this order. */
import columnBackfill from "./column-backfill.js";
import concurrentIndex from "./concurrent-index.js";
import constraintNotValid from "./constraint-not-valid.js";
import contractDrops from "./contract-drops.js";
import enumValuePosition from "./enum-value-position.js";
import expandContractTemplate from "./expand-contract-template.js";
import guards from "./guards.js";
import indexReplace from "./index-replace.js";
import notNullCheck from "./not-null-check.js";
import timestampNames from "./timestamp-names.js";
import uniqueUsingIndex from "./unique-using-index.js";
import type { FolderTransform, StatementTransform, Transform } from "../src/transform.js";

export const transforms: readonly Transform[] = [
  columnBackfill,
  concurrentIndex,
  constraintNotValid,
  contractDrops,
  enumValuePosition,
  expandContractTemplate,
  guards,
  indexReplace,
  notNullCheck,
  timestampNames,
  uniqueUsingIndex,
];

export const statementTransforms: readonly StatementTransform[] = transforms.filter(
  (t): t is StatementTransform => t.kind === "statement",
);
export const folderTransforms: readonly FolderTransform[] = transforms.filter((t): t is FolderTransform => t.kind === "folder");
