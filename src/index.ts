/** Programmatic API of drizzle-guard. */
export { loadConfig, defineConfig, type ResolvedConfig, type GuardOptions, type GuardConfig } from "./config.js";
export { GuardError } from "./errors.js";
export { applyEdits, checkConflicts, type Edit } from "./engine.js";
export { parseSql, type ParsedSql, type Statement, type Token } from "./sql/parse.js";
export { rewriteSql, NON_TX_HEADER, type SqlRewrite, type SqlPart } from "./rewrite-sql.js";
export { planRewrite, applyPlan, rewriteFolder, type RewritePlan, type RewriteOptions } from "./rewrite.js";
export { generate, type GenerateResult } from "./generate.js";
export { readFolder, type Folder, type Journal, type JournalEntry, type SumFile } from "./folder/folder.js";
export { commitChange, recoverFolder } from "./folder/write.js";
export { migrate, classify, loadMigrations, type MigrateOptions, type EntryStatus } from "./runner/migrate.js";
export { connectPg, openPglite, redactUrl, type Driver } from "./runner/driver.js";
export {
  fanOut,
  tenantsStatus,
  readTenantsFile,
  queryTenants,
  listSchemas,
  type Tenant,
  type TenantResult,
  type TenantStatus,
  type FanOutOptions,
  type FanOutEvent,
} from "./runner/tenants.js";
export { planRetarget, retarget, type Site } from "./runner/retarget.js";
export { transforms } from "../transforms/index.js";
export { deriveDown, downFile, type DownFile } from "./down/down.js";
export { rollback, type RollbackOptions, type RollbackResult } from "./runner/rollback.js";
export { drift, migrationsCatalog, schemaCatalog, databaseCatalog, type DriftOptions, type DriftResult } from "./drift/drift.js";
export { renderCanonical } from "./drift/canonical.js";
export { readCatalog, diffCatalogs, type Catalog, type CatalogDifference, type ReadCatalogOptions } from "./catalog/catalog.js";
