// drizzle-guard's own options for the example project.
export default {
  naming: "timestamp",
  lockTimeout: "5s",
  // The last schema version removes the billing module on purpose.
  approve: [
    { rule: "ban-drop-table", target: "billing.invoices", reason: "billing moved to its own service; data exported" },
    { rule: "ban-drop-schema", target: "billing", reason: "billing moved to its own service" },
  ],
};
