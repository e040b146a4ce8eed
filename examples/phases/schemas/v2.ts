// v2: changes to tables that already hold rows; each one needs a phased path.
import { index, integer, pgEnum, pgTable, serial, text, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

export const status = pgEnum("status", ["active", "suspended", "closed"]);

export const accounts = pgTable(
  "accounts",
  {
    id: serial("id").primaryKey(),
    email: varchar("email", { length: 100 }).notNull(),
    name: text("name").notNull(),
    nickname: varchar("nickname", { length: 120 }),
    code: varchar("code", { length: 20 }).unique(),
    score: integer("score").notNull().default(0),
    legacy: text("legacy"),
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
