// v3: a rewriting type change (integer -> bigint: expand/contract), one that stays BLOCKED (text ->
// varchar(200) of an indexed column), a safe one (varchar -> text), a dropped column.
import { bigint, index, integer, pgEnum, pgTable, serial, text, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

export const status = pgEnum("status", ["active", "suspended", "closed"]);

export const accounts = pgTable(
  "accounts",
  {
    id: serial("id").primaryKey(),
    email: varchar("email", { length: 100 }).notNull(),
    name: varchar("name", { length: 200 }).notNull(),
    nickname: text("nickname"),
    code: varchar("code", { length: 20 }).unique(),
    score: bigint("score", { mode: "number" }).notNull().default(0),
    status: status("status").notNull().default("active"),
    createdAt: timestamp("created_at").notNull().defaultNow(),
    publicId: uuid("public_id").notNull().defaultRandom(),
    tier: integer("tier").notNull().default(1),
  },
  (t) => [index("accounts_name_idx").on(t.name, t.id)],
);

export const sessions = pgTable("sessions", {
  id: integer("id").primaryKey(),
  accountId: integer("account_id")
    .notNull()
    .references(() => accounts.id, { onDelete: "cascade" }),
  token: text("token").notNull(),
});
