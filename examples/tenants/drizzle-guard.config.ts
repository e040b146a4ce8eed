// drizzle-guard's own options for the schema-per-tenant example (the shop with billing in each tenant's schema).
export default {
  naming: "timestamp",
  lockTimeout: "5s",
  // The last schema version removes the billing tables on purpose.
  approve: [{ rule: "ban-drop-table", target: "public.invoices", reason: "billing moved to its own service; data exported" }],
};
