import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, numeric, pgEnum, pgPolicy, pgSequence, pgTable, pgView, primaryKey, serial, text, timestamp, unique, uniqueIndex, varchar } from "drizzle-orm/pg-core";

export const role = pgEnum("role", ["customer", "admin", "support"]);

export const users = pgTable(
  "users",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    email: varchar("email", { length: 255 }).notNull(),
    name: text("name").notNull(),
    role: role("role").notNull().default("customer"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("users_email_lower_idx").on(sql`lower(${t.email})`), index("users_name_idx").on(t.name)],
);

export const products = pgTable(
  "products",
  {
    id: serial("id").primaryKey(),
    sku: varchar("sku", { length: 32 }).notNull().unique(),
    title: varchar("title", { length: 200 }).notNull(),
    active: boolean("active").notNull().default(true),
    priceCents: integer("price_cents").notNull(),
    stock: integer("stock").notNull().default(0),
  },
  (t) => [
    check("products_price_positive", sql`${t.priceCents} > 0`),
    check("products_stock_nonnegative", sql`${t.stock} >= 0`),
    unique("products_title_unique").on(t.title),
  ],
);

export const orders = pgTable(
  "orders",
  {
    id: serial("id").primaryKey(),
    userId: integer("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at").notNull().defaultNow(),
    note: text("note").notNull(),
  },
  (t) => [
    index("orders_user_created_idx").on(t.userId, t.createdAt),
    pgPolicy("orders_owner_read", { for: "select", to: "public", using: sql`true` }),
  ],
);

export const orderItems = pgTable(
  "order_items",
  {
    orderId: integer("order_id").notNull().references(() => orders.id),
    productId: integer("product_id").notNull().references(() => products.id),
    quantity: bigint("quantity", { mode: "number" }).notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.productId] })],
);

export const invoiceStatus = pgEnum("invoice_status", ["draft", "sent", "paid"]);


export const invoices = pgTable(
  "invoices",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    orderId: integer("order_id").notNull().references(() => orders.id),
    status: invoiceStatus("status").notNull().default("draft"),
    total: numeric("total", { precision: 14, scale: 2 }).notNull(),
  },
  (t) => [index("invoices_order_id_idx").on(t.orderId)],
);

export const activeProducts = pgView("active_products", { id: integer("id"), sku: varchar("sku", { length: 32 }), title: varchar("title", { length: 200 }) }).as(sql`select "id", "sku", "title" from "products" where "active"`);

export const auditLog = pgTable("audit_log", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  userId: integer("user_id").references(() => users.id, { onDelete: "set null" }),
  action: text("action").notNull(),
});
