/** Real PostgreSQL for tests: one fresh database per test file from DRIZZLE_GUARD_TEST_PG_URL. */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const PG_URL = process.env.DRIZZLE_GUARD_TEST_PG_URL;

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface TestDb {
  url: string;
  name: string;
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestDb(prefix = "dg"): Promise<TestDb> {
  if (!PG_URL) throw new Error("DRIZZLE_GUARD_TEST_PG_URL is not set");
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = withDatabase(PG_URL, name);
  return {
    url,
    name,
    async query(sql, params) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql, params as any[])).rows;
      } finally {
        await c.end();
      }
    },
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
