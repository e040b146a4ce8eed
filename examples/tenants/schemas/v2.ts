import { sql } from "drizzle-orm";
import { bigint, check, index, integer, numeric, pgEnum, pgSequence, pgTable, primaryKey, serial, text, timestamp, unique, uniqueIndex, varchar } from "drizzle-orm/pg-core";

export const role = pgEnum("role", ["customer", "admin", "support"]);

export const users = pgTable(
  "users",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    email: varchar("email", { length: 255 }).notNull(),
    name: text("name").notNull(),
    phone: text("phone"),
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
    title: text("title").notNull(),
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
    note: text("note"),
  },
  (t) => [index("orders_user_created_idx").on(t.userId, t.createdAt)],
);

export const orderItems = pgTable(
  "order_items",
  {
    orderId: integer("order_id").notNull().references(() => orders.id),
    productId: integer("product_id").notNull().references(() => products.id),
    quantity: integer("quantity").notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.productId] })],
);

export const invoiceStatus = pgEnum("invoice_status", ["draft", "sent", "paid"]);

export const invoiceNumbers = pgSequence("invoice_number_seq", { startWith: 1000, increment: 1 });

export const invoices = pgTable(
  "invoices",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    orderId: integer("order_id").notNull().references(() => orders.id),
    status: invoiceStatus("status").notNull().default("draft"),
    total: numeric("total", { precision: 12, scale: 2 }).notNull(),
  },
  (t) => [index("invoices_order_id_idx").on(t.orderId)],
);
