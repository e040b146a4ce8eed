// v1 of the type-change test project (test/phases.test.ts): one column per kind of type change.
import { index, integer, numeric, pgEnum, pgTable, serial, text, timestamp, varchar } from "drizzle-orm/pg-core";

export const kind = pgEnum("kind", ["a", "b"]);
export const kind2 = pgEnum("kind2", ["a", "b", "c"]);

export const items = pgTable(
  "items",
  {
    id: serial("id").primaryKey(),
    qty: integer("qty").notNull().default(0),
    code: text("code").unique(),
    label: text("label"),
    price: numeric("price", { precision: 10, scale: 2 }),
    note: varchar("note", { length: 10 }),
    amount: integer("amount"),
    kind: kind("kind").notNull().default("a"),
    seenAt: timestamp("seen_at"),
  },
  (t) => [index("items_label_idx").on(t.label)],
);

export const logs = pgTable("logs", { n: integer("n"), msg: text("msg") });
