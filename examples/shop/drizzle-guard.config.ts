// drizzle-guard's own options for the example project.
export default {
  naming: "timestamp",
  lockTimeout: "5s",
  // The last schema version removes the billing module on purpose.
  approve: [
    // v3 and v4 change column types in ways that rewrite the table; the example's tables are small.
    { rule: "ban-table-rewrite", target: "public.products.title", reason: "products is small: a brief rewrite is acceptable" },
    { rule: "ban-table-rewrite", target: "public.order_items.quantity", reason: "order_items is small: a brief rewrite is acceptable" },
    { rule: "ban-drop-table", target: "billing.invoices", reason: "billing moved to its own service; data exported" },
    { rule: "ban-drop-schema", target: "billing", reason: "billing moved to its own service" },
  ],
};
