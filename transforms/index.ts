/** The one registry of transforms, sorted by id. Statement transforms run in this order. */
import concurrentIndex from "./concurrent-index.js";
import constraintNotValid from "./constraint-not-valid.js";
import enumValuePosition from "./enum-value-position.js";
import guards from "./guards.js";
import timestampNames from "./timestamp-names.js";
import type { FolderTransform, StatementTransform, Transform } from "../src/transform.js";

export const transforms: readonly Transform[] = [concurrentIndex, constraintNotValid, enumValuePosition, guards, timestampNames];

export const statementTransforms: readonly StatementTransform[] = transforms.filter(
  (t): t is StatementTransform => t.kind === "statement",
);
export const folderTransforms: readonly FolderTransform[] = transforms.filter((t): t is FolderTransform => t.kind === "folder");
