// drizzle-guard's options for the phases example.
export default {
  // Backfill files update this many rows per transaction.
  backfillBatchSize: 500,
  // v3 changes accounts.score from integer to bigint, which rewrites the table: drizzle-guard blocks
  // it with an expand/contract plan. This example approves it (the table is small).
  approve: [{ rule: "ban-table-rewrite", target: "public.accounts.score", reason: "example: accounts is small, a brief rewrite is acceptable" }],
};
