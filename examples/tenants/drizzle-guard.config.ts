// drizzle-guard's own options for the schema-per-tenant example (the shop with billing in each tenant's schema).
export default {
  naming: "timestamp",
  lockTimeout: "5s",
  approve: [
    // v3 and v4 change column types in ways that rewrite the table; the example's tables are small.
    { rule: "ban-table-rewrite", target: "public.products.title", reason: "products is small: a brief rewrite is acceptable" },
    { rule: "ban-table-rewrite", target: "public.order_items.quantity", reason: "order_items is small: a brief rewrite is acceptable" },
    // The last schema version removes the billing tables on purpose.
    { rule: "ban-drop-table", target: "public.invoices", reason: "billing moved to its own service; data exported" },
  ],
};
