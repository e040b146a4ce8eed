// drizzle-guard's options for the phases example.
export default {
  // Backfill files update this many rows per transaction.
  backfillBatchSize: 500,
  // v3 changes accounts.name from text to varchar(200), which rewrites the table; the column is in
  // an index, so drizzle-guard cannot do it through expand/contract and blocks it with the plan.
  // This example approves it (the table is small). (accounts.score, integer to bigint, goes through
  // expand/contract and needs no approval.)
  approve: [{ rule: "ban-table-rewrite", target: "public.accounts.name", reason: "example: accounts is small, a brief rewrite is acceptable" }],
};
