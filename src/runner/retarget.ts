/**
 * Retargets a migration written for the `public` schema to one tenant's schema (schema per tenant).
 *
 * drizzle-kit writes unqualified names for the public schema (they follow search_path, which the
 * fan-out sets to the tenant schema alone) but hard-codes `"public".` in FK targets, enum types,
 * views, sequence names; drizzle-guard's own DO guards name relations inside string literals
 * (`to_regclass('"public"."x"')`) and carry the guarded statement as PL/pgSQL. Every place is found
 * through the parser: node locations, the scanner's tokens, and the PL/pgSQL parse of DO bodies
 * (whose embedded statements and expressions are parsed again as SQL). The plan of a file does not
 * depend on the tenant; `retarget()` renders it for one schema name, always through quoteIdent.
 *
 * What cannot belong to one tenant is refused before anything runs (GuardError with file:line:col):
 * objects in another schema (they would be shared by every tenant), CREATE/DROP SCHEMA, extensions,
 * roles, `SET search_path`, and EXECUTE of SQL built at run time (what it names cannot be seen).
 */
import { applyEdits } from "../engine.js";
import { GuardError } from "../errors.js";
import { dollarTag } from "../sql/phase-sql.js";
import { isComment, parsePlpgsqlBlock, parseSql, scanTokens, type ParsedSql, type Statement, type Token } from "../sql/parse.js";
import { quoteIdent, quoteLiteral } from "../sql/names.js";

/** A place to rewrite: [start, end) of the text it was planned on, and its text for a schema. */
export interface Site {
  start: number;
  end: number;
  render(schema: string): string;
}

/** Schemas every tenant shares by design; names in them are left alone. */
const SYSTEM = new Set(["pg_catalog", "information_schema", "pg_toast"]);
const TENANT_DEFAULT = "public";

/** Statements that act on the whole database, not on one tenant's schema. */
const DATABASE_WIDE: Record<string, string> = {
  CreateSchemaStmt: "CREATE SCHEMA",
  CreateExtensionStmt: "CREATE EXTENSION",
  AlterExtensionStmt: "ALTER EXTENSION",
  AlterExtensionContentsStmt: "ALTER EXTENSION",
  CreateRoleStmt: "CREATE ROLE",
  AlterRoleStmt: "ALTER ROLE",
  DropRoleStmt: "DROP ROLE",
  GrantRoleStmt: "GRANT role",
  CreatedbStmt: "CREATE DATABASE",
  CreateEventTrigStmt: "CREATE EVENT TRIGGER",
  AlterDefaultPrivilegesStmt: "ALTER DEFAULT PRIVILEGES",
};

const DROP_DATABASE_WIDE = new Set(["OBJECT_SCHEMA", "OBJECT_EXTENSION", "OBJECT_EVENT_TRIGGER"]);

/** Keys under which libpg-query puts a qualified name as a bare list of String nodes (no location). */
const NAME_LIST_KEYS = new Set(["typeName", "objects", "object", "domainname", "funcname", "objname", "defnames", "opclass", "collname"]);

/** Object types named by their table's qualified name followed by their own name. */
const TABLE_MEMBERS = new Set(["OBJECT_POLICY", "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"]);

/** Functions whose first argument is a string literal holding a qualified name. */
const NAME_LITERAL_FUNCS = new Set(["to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "nextval", "currval", "setval", "pg_get_serial_sequence"]);
const NAME_LITERAL_TYPES = new Set(["regclass", "regtype", "regproc", "regprocedure"]);

/** Maps an offset of the text being planned to an offset of the file, for error positions. */
type At = (offset: number) => number;

interface Scope {
  file: ParsedSql;
  at: At;
}

function fail(scope: Scope, offset: number, message: string, hint?: string): never {
  const p = scope.file.position(scope.at(offset));
  throw new GuardError(message, {
    file: scope.file.file,
    line: p.line,
    column: p.column,
    hint: hint ?? "schema-per-tenant migrations keep every object in the default (public) schema; migrate shared objects once, from a folder of their own, with `drizzle-guard migrate --url`",
  });
}

/** The name an identifier token stands for (quoted: as written; bare: folded to lower case), or undefined. */
function identValue(t: Token | undefined): string | undefined {
  if (!t || isComment(t)) return undefined;
  if (t.text.startsWith('"') && t.text.endsWith('"') && t.text.length >= 2) return t.text.slice(1, -1).replace(/""/g, '"');
  if (t.kind === "IDENT" || t.keyword === "UNRESERVED_KEYWORD" || t.keyword === "COL_NAME_KEYWORD" || t.keyword === "TYPE_FUNC_NAME_KEYWORD")
    return t.text.toLowerCase();
  return undefined;
}

const strings = (list: any): string[] | undefined => {
  const items = Array.isArray(list) ? list : list?.List?.items;
  if (!Array.isArray(items) || items.length === 0 || !items.every((x: any) => typeof x?.String?.sval === "string")) return undefined;
  return items.map((x: any) => x.String.sval);
};

/** The index of the token that starts at `offset` in a sorted token list, or -1. */
function tokenIndexAt(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].start === offset) return mid;
    if (tokens[mid].start < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

const schemaSite = (t: Token): Site => ({ start: t.start, end: t.end, render: (schema) => quoteIdent(schema) });

class Planner {
  sites: Site[] = [];
  /** Qualified public names known from the tree but without a location: placed from the tokens. */
  unplaced: string[][] = [];

  constructor(
    private scope: Scope,
    private p: ParsedSql,
    private s: Statement,
  ) {}

  /** Checks the schema of a qualified name; true when it is `public` and must be retargeted. */
  private wants(names: string[], offset: number): boolean {
    if (names.length < 2) return false;
    const schema = names[names.length - 2];
    if (SYSTEM.has(schema)) return false;
    if (schema === TENANT_DEFAULT) return true;
    fail(this.scope, offset, `${names.join(".")} is in schema ${schema}, outside the tenant's schema: every tenant would share it`);
  }

  /** The schema token of a qualified name whose first token starts at `offset`. */
  private placeAt(names: string[], offset: number): void {
    if (!this.wants(names, offset)) return;
    const tokens = this.s.tokens;
    const i = tokenIndexAt(tokens, offset);
    // catalog.schema.name: the schema is the second-to-last part.
    const k = i < 0 ? -1 : i + 2 * (names.length - 2);
    if (k < 0 || identValue(tokens[k]) !== TENANT_DEFAULT || tokens[k + 1]?.text !== ".")
      fail(this.scope, offset, `cannot place the schema of ${names.join(".")} in the text`);
    this.sites.push(schemaSite(tokens[k]));
  }

  /** A string literal holding a qualified name (to_regclass('"public"."x"'), '...'::regclass). */
  private nameLiteral(aConst: any): void {
    const value: string | undefined = aConst?.sval?.sval;
    if (typeof value !== "string" || typeof aConst.location !== "number") return;
    const at = this.p.offset(aConst.location);
    const inner = scanTokens(value).filter((t) => !isComment(t));
    const parts: Token[] = [];
    for (let i = 0; identValue(inner[i]) !== undefined; i += 2) {
      parts.push(inner[i]);
      if (inner[i + 1]?.text !== ".") break;
    }
    const names = parts.map((t) => identValue(t)!);
    if (!this.wants(names, at)) return;
    const schemaToken = parts[parts.length - 2];
    const i = tokenIndexAt(this.s.tokens, at);
    const literal = this.s.tokens[i];
    if (!literal || literal.kind !== "SCONST") fail(this.scope, at, `cannot place the string literal ${quoteLiteral(value)} in the text`);
    this.sites.push({
      start: literal.start,
      end: literal.end,
      render: (schema) => quoteLiteral(value.slice(0, schemaToken.start) + quoteIdent(schema) + value.slice(schemaToken.end)),
    });
  }

  walk(node: any): void {
    if (Array.isArray(node)) {
      for (const x of node) this.walk(x);
      return;
    }
    if (!node || typeof node !== "object") return;
    if (typeof node.relname === "string" && typeof node.location === "number") {
      // RangeVar
      const names = [node.catalogname, node.schemaname, node.relname].filter((x) => typeof x === "string");
      if (node.location >= 0) this.placeAt(names, this.p.offset(node.location));
      else this.unplacedName(names);
    } else if (Array.isArray(node.names) && "typemod" in node && typeof node.location === "number") {
      // TypeName (`integer` is pg_catalog.int4 with the location of `integer`: system, left alone)
      const names = strings(node.names);
      if (names) this.placeAt(names, this.p.offset(node.location));
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === "FuncCall") this.funcCall(v);
      else if (k === "ColumnRef") this.columnRef(v);
      else if (k === "TypeCast") this.typeCast(v);
      else if (k === "DefElem") this.defElem(v);
      else if (k === "DoStmt") this.doBody(v);
      else if (NAME_LIST_KEYS.has(k)) {
        // DROP POLICY p ON t, COMMENT ON COLUMN t.c, ...: the list ends with the member's own name.
        const member = TABLE_MEMBERS.has(node.removeType ?? node.objtype ?? node.objectType) ? -1 : undefined;
        const lists = strings(v) ? [strings(v)!] : Array.isArray(v) ? v.map(strings).filter((x): x is string[] => !!x) : [];
        for (const names of lists) this.unplacedName(names.slice(0, member));
      }
      this.walk(v);
    }
  }

  private unplacedName(names: string[]): void {
    if (this.wants(names, this.s.start)) this.unplaced.push(names);
  }

  private funcCall(f: any): void {
    const names = strings(f.funcname);
    if (names && typeof f.location === "number") this.placeAt(names, this.p.offset(f.location));
    const fn = names?.[names.length - 1];
    if (fn && NAME_LITERAL_FUNCS.has(fn) && f.args?.[0]?.A_Const) this.nameLiteral(f.args[0].A_Const);
  }

  private columnRef(c: any): void {
    const fields = strings(c.fields);
    // schema.table.column (or catalog.schema.table.column)
    if (fields && fields.length >= 3 && typeof c.location === "number") this.placeAt(fields.slice(0, -1), this.p.offset(c.location));
  }

  private typeCast(c: any): void {
    const type = strings(c.typeName?.names);
    if (type && NAME_LITERAL_TYPES.has(type[type.length - 1]) && c.arg?.A_Const) this.nameLiteral(c.arg.A_Const);
  }

  private defElem(d: any): void {
    if (d.defname === "sequence_name") {
      const names = strings(d.arg);
      if (names) this.unplacedName(names);
    }
  }

  /** A DO block: its PL/pgSQL body is planned on its own and the body token re-quoted per schema. */
  private doBody(d: any): void {
    const args: any[] = (d.args ?? []).map((a: any) => a.DefElem);
    const language = args.find((a) => a?.defname === "language")?.arg?.String?.sval ?? "plpgsql";
    const as = args.find((a) => a?.defname === "as");
    const body: string | undefined = as?.arg?.String?.sval;
    if (typeof body !== "string") return;
    const i = tokenIndexAt(this.s.tokens, this.p.offset(as.location));
    const token = this.s.tokens[i];
    if (!token || token.kind !== "SCONST") fail(this.scope, this.s.start, "cannot place the body of this DO block in the text");
    if (language !== "plpgsql") fail(this.scope, token.start, `DO block in language ${language}: its body cannot be read to retarget it`);
    // A dollar-quoted body is verbatim in the file: positions inside it are exact.
    const tag = token.text.startsWith("$") ? token.text.slice(0, token.text.indexOf("$", 1) + 1) : undefined;
    const base = tag && token.text.slice(tag.length, token.text.length - tag.length) === body ? token.start + tag.length : undefined;
    const at: At = (o) => this.scope.at(base === undefined ? token.start : base + o);
    const inner = planPlpgsql(body, { file: this.scope.file, at });
    if (inner.length === 0) return;
    this.sites.push({
      start: token.start,
      end: token.end,
      render(schema) {
        const text = applyEdits(body, inner.map((s) => ({ start: s.start, end: s.end, text: s.render(schema) })));
        // A schema name may contain the body's dollar tag: choose one that cannot end the body early.
        const t = tag && !text.includes(tag) ? tag : dollarTag(text + (tag ?? ""));
        return `${t}${text}${t}`;
      },
    });
  }

  /** Places the names that have no location, and checks that no `public.` is left unhandled. */
  finish(): Site[] {
    const code = this.s.tokens.filter((t) => !isComment(t));
    const covered = new Set(this.sites.map((s) => s.start));
    for (const names of this.unplaced) {
      let found = false;
      for (let i = 0; i + 2 * (names.length - 1) < code.length; i++) {
        if (!names.every((n, j) => identValue(code[i + 2 * j]) === n && (j === names.length - 1 || code[i + 2 * j + 1].text === "."))) continue;
        const t = code[i + 2 * (names.length - 2)];
        if (!covered.has(t.start)) this.sites.push(schemaSite(t));
        covered.add(t.start);
        found = true;
      }
      if (!found) fail(this.scope, this.s.start, `cannot place ${names.join(".")} in the text`);
    }
    // Safety net: a `public.` the tree walk did not account for is reported, never left pointing at public.
    const inside = (o: number) => this.sites.some((s) => s.start <= o && o < s.end);
    for (let i = 0; i + 1 < code.length; i++) {
      if (identValue(code[i]) === TENANT_DEFAULT && code[i + 1].text === "." && !inside(code[i].start))
        fail(this.scope, code[i].start, "a name qualified with public that drizzle-guard cannot retarget");
    }
    return this.sites;
  }
}

function checkDatabaseWide(scope: Scope, s: Statement): void {
  const n = s.node;
  const what =
    DATABASE_WIDE[s.kind] ??
    (s.kind === "DropStmt" && DROP_DATABASE_WIDE.has(n.removeType) ? `DROP ${String(n.removeType).slice(7)}` : undefined) ??
    (s.kind === "RenameStmt" && n.renameType === "OBJECT_SCHEMA" ? "ALTER SCHEMA ... RENAME" : undefined) ??
    (s.kind === "AlterOwnerStmt" && n.objectType === "OBJECT_SCHEMA" ? "ALTER SCHEMA ... OWNER" : undefined) ??
    (s.kind === "GrantStmt" && n.objtype === "OBJECT_SCHEMA" ? "GRANT ... ON SCHEMA" : undefined) ??
    (s.kind === "VariableSetStmt" && n.name === "search_path" ? "SET search_path" : undefined) ??
    (s.kind === "AlterObjectSchemaStmt" && n.newschema !== TENANT_DEFAULT ? `SET SCHEMA ${n.newschema}` : undefined);
  if (what) fail(scope, s.start, `${what} acts outside one tenant's schema: it cannot run once per tenant`);
}

/** Plans every statement of SQL text (a file, an embedded statement, or a literal run by EXECUTE). */
function planStatements(p: ParsedSql, scope: Scope): Site[] {
  const sites: Site[] = [];
  for (const s of p.statements) {
    checkDatabaseWide(scope, s);
    const planner = new Planner(scope, p, s);
    planner.walk({ [s.kind]: s.node });
    sites.push(...planner.finish());
    if (s.kind === "AlterObjectSchemaStmt") {
      // SET SCHEMA public: the target schema is the statement's last token.
      const last = s.tokens.filter((t) => !isComment(t)).at(-1)!;
      if (identValue(last) !== TENANT_DEFAULT) fail(scope, s.start, "cannot place the new schema of SET SCHEMA in the text");
      sites.push(schemaSite(last));
    }
  }
  return sites;
}

/** One SQL expression or statement found in a PL/pgSQL body. */
interface Expr {
  query: string;
  mode: number;
  lineno: number;
  dynamic: boolean;
}

function collectExprs(node: any, lineno: number, out: Expr[]): void {
  if (Array.isArray(node)) {
    for (const x of node) collectExprs(x, lineno, out);
    return;
  }
  if (!node || typeof node !== "object") return;
  const line = typeof node.lineno === "number" ? node.lineno : lineno;
  for (const [k, v] of Object.entries<any>(node)) {
    if (k === "PLpgSQL_expr") out.push({ query: v.query, mode: v.parseMode ?? 0, lineno: line, dynamic: false });
    else if (k === "dynquery" && v?.PLpgSQL_expr) {
      // OPEN c FOR EXECUTE ..., RETURN QUERY EXECUTE ...
      out.push({ query: v.PLpgSQL_expr.query, mode: v.PLpgSQL_expr.parseMode ?? 0, lineno: line, dynamic: true });
    } else if (k === "PLpgSQL_stmt_dynexecute" || k === "PLpgSQL_stmt_dynfors") {
      // EXECUTE <query> [USING params]: the query is SQL text, the parameters are expressions.
      const q = v.query?.PLpgSQL_expr;
      if (q) out.push({ query: q.query, mode: q.parseMode ?? 0, lineno: v.lineno ?? line, dynamic: true });
      for (const [kk, vv] of Object.entries<any>(v)) if (kk !== "query") collectExprs(vv, v.lineno ?? line, out);
    } else collectExprs(v, line, out);
  }
}

/** Sites of a PL/pgSQL body: each embedded query is found by its tokens from its line on, and parsed as SQL. */
function planPlpgsql(body: string, scope: Scope): Site[] {
  let tree: unknown;
  try {
    tree = parsePlpgsqlBlock(body);
  } catch (e: any) {
    fail(scope, 0, `DO block: ${e?.message ?? e}`);
  }
  const exprs: Expr[] = [];
  collectExprs(tree, 1, exprs);
  const tokens = scanTokens(body);
  const lines = [0];
  for (let i = body.indexOf("\n"); i !== -1; i = body.indexOf("\n", i + 1)) lines.push(i + 1);
  const sites: Site[] = [];
  let from = 0;
  for (const e of exprs) {
    // PL/pgSQL blanks an INTO clause out of the query (same length), so the query is placed where
    // every one of its tokens sits at the same offset in the body.
    const want = scanTokens(e.query);
    const lineStart = lines[e.lineno - 1] ?? 0;
    let start = -1;
    for (const t of tokens) {
      if (want.length === 0 || t.start < Math.max(lineStart, from) || t.text !== want[0].text) continue;
      const base = t.start - want[0].start;
      if (want.every((w) => body.startsWith(w.text, base + w.start))) {
        start = base;
        break;
      }
    }
    if (start < 0) fail(scope, lineStart, "cannot place a statement of this DO block in its text");
    from = start + 1;
    const inner: Scope = { file: scope.file, at: (o) => scope.at(start + o) };
    if (e.dynamic) sites.push(...planExecute(e.query, start, inner));
    else if (e.mode === 0) sites.push(...shift(planStatements(parseSql(e.query, scope.file.file), inner), start));
    else if (e.mode === 2) {
      const prefix = "SELECT ";
      const p = parseSql(prefix + e.query, scope.file.file);
      sites.push(...shift(planStatements(p, { file: scope.file, at: (o) => inner.at(o - prefix.length) }), start - prefix.length));
    } else fail(inner, 0, "a PL/pgSQL assignment in a DO block cannot be retarget-checked");
  }
  // A cursor's query is both an expression and part of its declaration: one site per place.
  const seen = new Set(sites.map((x) => x.start));
  for (const d of planDeclarations(tree, tokens, lines, scope)) if (!seen.has(d.start)) sites.push(d);
  // Anything else in the body's own PL/pgSQL is covered by the same safety net.
  const code = tokens.filter((t) => !isComment(t));
  for (let i = 0; i + 1 < code.length; i++) {
    if (identValue(code[i]) === TENANT_DEFAULT && code[i + 1].text === "." && !sites.some((s) => s.start <= code[i].start && code[i].start < s.end))
      fail(scope, code[i].start, "a name qualified with public that drizzle-guard cannot retarget");
  }
  return sites;
}

/**
 * Variable declarations (`v "public"."t"."c"%TYPE`, `r public.t%ROWTYPE`, `x public.mood`): each
 * variable of the PL/pgSQL parse is found by its name from its line on; its type runs to `;`, `:=`
 * or DEFAULT.
 */
function planDeclarations(tree: unknown, tokens: Token[], lines: number[], scope: Scope): Site[] {
  const sites: Site[] = [];
  const datums: any[] = (tree as any)?.plpgsql_funcs?.[0]?.PLpgSQL_function?.datums ?? [];
  const code = tokens.filter((t) => !isComment(t));
  for (const d of datums) {
    const v = d.PLpgSQL_var ?? d.PLpgSQL_rec;
    if (!v || typeof v.lineno !== "number" || !v.refname) continue;
    const lineStart = lines[v.lineno - 1] ?? 0;
    let i = code.findIndex((t) => t.start >= lineStart && identValue(t) === v.refname);
    if (i < 0) continue;
    for (i++; i < code.length && ![";", ":="].includes(code[i].text) && code[i].upper !== "DEFAULT"; i++) {
      if (identValue(code[i]) === undefined || code[i - 1].text === ".") continue;
      const run = [code[i]];
      while (code[i + 1]?.text === "." && identValue(code[i + 2]) !== undefined) run.push(code[(i += 2)]);
      // table.column%TYPE names a column: the relation is everything before it.
      const typeOf = code[i + 1]?.text === "%" && code[i + 2]?.upper === "TYPE";
      const parts = typeOf ? run.slice(0, -1) : run;
      const names = parts.map((t) => identValue(t)!);
      if (names.length < 2) continue;
      const schema = names[names.length - 2];
      if (SYSTEM.has(schema)) continue;
      if (schema !== TENANT_DEFAULT) fail(scope, parts[0].start, `${names.join(".")} is in schema ${schema}, outside the tenant's schema: every tenant would share it`);
      sites.push(schemaSite(parts[parts.length - 2]));
    }
  }
  return sites;
}

/** EXECUTE '<constant SQL>': planned like any SQL and re-quoted; SQL built at run time is refused. */
function planExecute(query: string, start: number, scope: Scope): Site[] {
  const prefix = "SELECT ";
  const p = parseSql(prefix + query, scope.file.file);
  const target = p.statements.length === 1 ? p.statements[0].node.targetList : undefined;
  const value = target?.length === 1 ? target[0].ResTarget?.val?.A_Const?.sval?.sval : undefined;
  if (typeof value !== "string" || p.statements[0].tokens.length !== 2)
    fail(scope, 0, "EXECUTE of SQL built at run time: what it names cannot be retargeted", "write the statement itself instead of EXECUTE, or migrate this part per tenant by hand");
  const token = p.statements[0].tokens[1];
  const inner = planStatements(parseSql(value, scope.file.file), { file: scope.file, at: () => scope.at(0) });
  if (inner.length === 0) return [];
  return [
    {
      start: start + token.start - prefix.length,
      end: start + token.end - prefix.length,
      render: (schema) => quoteLiteral(applyEdits(value, inner.map((s) => ({ start: s.start, end: s.end, text: s.render(schema) })))),
    },
  ];
}

function shift(sites: Site[], by: number): Site[] {
  return sites.map((s) => ({ start: s.start + by, end: s.end + by, render: s.render }));
}

/**
 * The places in a migration file that name the tenant's schema. Throws a GuardError (file:line:col)
 * for what cannot run once per tenant.
 */
export function planRetarget(parsed: ParsedSql): Site[] {
  return planStatements(parsed, { file: parsed, at: (o) => o });
}

/** The file's text for one tenant schema. */
export function retarget(parsed: ParsedSql, sites: readonly Site[], schema: string): string {
  return applyEdits(
    parsed.text,
    sites.map((s) => ({ start: s.start, end: s.end, text: s.render(schema), by: "retarget" })),
    0,
    parsed.text.length,
    parsed.file,
  );
}
