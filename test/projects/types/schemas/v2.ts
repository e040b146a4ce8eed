// v2: expand/contract for qty (integer -> bigint, NOT NULL, default), amount (integer ->
// numeric(12, 2), nullable), kind (enum -> another enum, USING ::text::) and seen_at (timestamp ->
// timestamptz); BLOCKED: code (text -> varchar(30), unique), label (text -> varchar(50), indexed),
// logs.n (integer -> bigint, no primary key); no rewrite: price, note.
import { bigint, index, numeric, pgEnum, pgTable, serial, text, timestamp, varchar } from "drizzle-orm/pg-core";

export const kind = pgEnum("kind", ["a", "b"]);
export const kind2 = pgEnum("kind2", ["a", "b", "c"]);

export const items = pgTable(
  "items",
  {
    id: serial("id").primaryKey(),
    qty: bigint("qty", { mode: "number" }).notNull().default(0),
    code: varchar("code", { length: 30 }).unique(),
    label: varchar("label", { length: 50 }),
    price: numeric("price", { precision: 12, scale: 2 }),
    note: varchar("note", { length: 40 }),
    amount: numeric("amount", { precision: 12, scale: 2 }),
    kind: kind2("kind").notNull().default("a"),
    seenAt: timestamp("seen_at", { withTimezone: true }),
  },
  (t) => [index("items_label_idx").on(t.label)],
);

export const logs = pgTable("logs", { n: bigint("n", { mode: "number" }), msg: text("msg") });
