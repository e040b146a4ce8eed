import { loadModule, parsePlPgSQLSync, parseSync } from "libpg-query";
await loadModule();
const body = ` BEGIN
IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"order_items"') AND conname = 'x') THEN
ALTER TABLE "order_items" ADD CONSTRAINT "x" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id");
END IF;
EXECUTE 'CREATE TABLE "public"."z" ()';
EXCEPTION
	WHEN duplicate_object THEN null;
END `;
const r = parsePlPgSQLSync(`CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $dg$${body}$dg$;`);
console.log(JSON.stringify(r, null, 1));
console.log(JSON.stringify(parseSync(`DO $$${body}$$`), null, 0));
