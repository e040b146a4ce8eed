// v1: the tables as they are in production, with rows.
import { index, integer, pgEnum, pgTable, serial, text, timestamp, varchar } from "drizzle-orm/pg-core";

export const status = pgEnum("status", ["active", "closed"]);

export const accounts = pgTable(
  "accounts",
  {
    id: serial("id").primaryKey(),
    email: varchar("email", { length: 100 }),
    name: text("name").notNull(),
    nickname: varchar("nickname", { length: 50 }),
    code: varchar("code", { length: 20 }),
    score: integer("score").notNull().default(0),
    legacy: text("legacy"),
    status: status("status").notNull().default("active"),
    createdAt: timestamp("created_at").notNull().defaultNow(),
  },
  (t) => [index("accounts_name_idx").on(t.name)],
);

export const sessions = pgTable("sessions", {
  id: integer("id").notNull(),
  accountId: integer("account_id").notNull(),
  token: text("token").notNull(),
});
