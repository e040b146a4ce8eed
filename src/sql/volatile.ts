/** Volatile function calls: a default that calls one is evaluated per row (ADD COLUMN rewrites the table). */

/** Functions drizzle schemas use as defaults that PostgreSQL marks VOLATILE. */
const VOLATILE = new Set(["random", "gen_random_uuid", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval", "txid_current", "uuid_generate_v1", "uuidv7", "uuidv4", "random_normal"]);

export function hasVolatileCall(node: unknown): boolean {
  let found = false;
  const walk = (x: any): void => {
    if (found || !x || typeof x !== "object") return;
    if (x.FuncCall) {
      const names: string[] = (x.FuncCall.funcname ?? []).map((n: any) => n.String?.sval);
      if (VOLATILE.has(names[names.length - 1])) found = true;
    }
    for (const v of Object.values(x)) walk(v);
  };
  walk(node);
  return found;
}
