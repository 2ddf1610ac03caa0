// Declared vs actual for one table on one host: pure. Column changes come back as what to do; table-level
// differences no ALTER can make come back as reasons a migration is needed.
import { sameExpression, splitTopLevel, unquote, type ActualColumn, type ActualTable } from "./actual.ts";
import type { Column, TableDecl } from "./declare.ts";
import { distributedColumns, engineParameters, zookeeperPathOf } from "./tables.ts";
import { normalizeExpression, normalizeType } from "./expressions.ts";

export interface ColumnDiff {
  readonly missing: readonly { column: Column; after: string | undefined }[];
  readonly undeclared: readonly ActualColumn[];
  readonly typeChanged: readonly { column: Column; actual: ActualColumn }[];
  readonly defaultChanged: readonly Column[];
  readonly commentChanged: readonly Column[];
  readonly codecChanged: readonly { column: Column; actual: ActualColumn }[];
}

export const declaredColumns = (t: TableDecl) => (t.kind === "table" ? t.columns : distributedColumns(t));

export function diffColumns(t: TableDecl, actual: ActualTable): ColumnDiff {
  const declared = declaredColumns(t);
  const byName = new Map(actual.columns.map((c) => [c.name, c]));
  const names = new Set(declared.map((c) => c.name));
  const out = { missing: [], undeclared: [], typeChanged: [], defaultChanged: [], commentChanged: [], codecChanged: [] } as {
    -readonly [K in keyof ColumnDiff]: ColumnDiff[K] extends readonly (infer E)[] ? E[] : never;
  };
  declared.forEach((c, i) => {
    const a = byName.get(c.name);
    if (!a) return out.missing.push({ column: c, after: insertAfter(declared, i) });
    if (normalizeType(a.type) !== normalizeType(c.type)) out.typeChanged.push({ column: c, actual: a });
    if (!sameDefault(c, a)) out.defaultChanged.push(c);
    if ((c.comment ?? "") !== a.comment) out.commentChanged.push(c);
    if (!sameCodecs(c.codec ?? [], a.codec)) out.codecChanged.push({ column: c, actual: a });
  });
  for (const a of actual.columns) if (!names.has(a.name)) out.undeclared.push(a);
  return out;
}

/**
 * The column a new column goes after: the previous declared one of the same list. 18.16 keeps ordinary
 * (and DEFAULT), MATERIALIZED and ALIAS columns in separate lists and refuses `AFTER` a column of another
 * ("Cannot find column c to insert after"); current ClickHouse takes either. None: the end of its list.
 */
export function insertAfter(columns: readonly Column[], i: number): string | undefined {
  const list = (c: Column) => (c.default?.kind === "MATERIALIZED" || c.default?.kind === "ALIAS" ? c.default.kind : "");
  for (let j = i - 1; j >= 0; j--) if (list(columns[j]!) === list(columns[i]!)) return columns[j]!.name;
  return undefined;
}

/**
 * The declared default against the server's: equal spellings, or the server's cast of the declared
 * expression to the column's type (18.16 stores `DEFAULT 1` on an Int8 as `CAST(1, 'Int8')`).
 */
export function sameDefault(c: Column, a: ActualColumn): boolean {
  if ((c.default?.kind ?? "") !== a.defaultKind) return false;
  const declared = c.default?.expression ?? "";
  if (sameExpression(declared, a.defaultExpression)) return true;
  const cast = /^CAST\s*\((.*)\)$/is.exec(a.defaultExpression.trim());
  const args = cast ? splitTopLevel(cast[1]!) : [];
  if (args.length !== 2 || !/^'.*'$/s.test(args[1]!)) return false;
  return normalizeType(unquote(args[1]!).replaceAll("\\'", "'")) === normalizeType(c.type) && sameExpression(declared, args[0]!);
}

/** A codec declared without arguments matches the server's default ones (`ZSTD` is printed `ZSTD(1)`, `Delta` as `Delta(4)`). */
export function sameCodecs(declared: readonly string[], actual: string): boolean {
  const got = splitTopLevel(actual);
  if (got.length !== declared.length) return false;
  return declared.every((d, i) => {
    const name = (x: string) => x.replace(/\(.*$/s, "").trim().toLowerCase();
    return name(d) === name(got[i]!) && (!d.includes("(") || sameExpression(d, got[i]!));
  });
}

/** `tuple()` declares no key; servers report it as an empty key. */
const keyText = (exprs: readonly string[]) => (exprs.length === 1 && sameExpression(exprs[0]!, "tuple()") ? "" : exprs.join(", "));

/**
 * The declared ORDER BY when it only appends columns that this plan adds (ClickHouse can do that in the
 * ALTER that adds them: `ADD COLUMN c, MODIFY ORDER BY (a, c)`, the primary key staying); else undefined.
 */
export function appendedOrderBy(t: TableDecl, actual: ActualTable, added: ReadonlySet<string>): { orderBy: string[]; appended: Set<string> } | undefined {
  if (t.kind !== "table") return undefined;
  const have = actual.sortingKey ? splitTopLevel(actual.sortingKey) : [];
  const want = t.orderBy;
  if (want.length <= have.length || !have.every((e, i) => sameExpression(e, want[i]!))) return undefined;
  // `c` and a backquoted `c` name the same column.
  const appended = want.slice(have.length).map(normalizeExpression);
  return appended.every((c) => added.has(c)) ? { orderBy: [...want], appended: new Set(appended) } : undefined;
}

/** Why the table as it stands cannot become the declared one by ALTER (engine, keys, Distributed target). */
export function migrationReasons(t: TableDecl, actual: ActualTable, cluster: string, added: ReadonlySet<string> = new Set()): string[] {
  const reasons: string[] = [];
  const differs = (what: string, declared: string, got: string) => {
    if (!sameExpression(declared, got)) reasons.push(`${what} is ${got || "(none)"}, declared ${declared || "(none)"}`);
  };
  if (t.kind === "distributed") {
    if (actual.engine !== "Distributed") return [`engine is ${actual.engine}, declared Distributed`];
    const [c, db, table, key] = actual.engineArgs;
    differs("Distributed target", `${t.cluster ?? cluster}.${t.target.database}.${t.target.name}`, `${unquote(c ?? "")}.${unquote(db ?? "")}.${unquote(table ?? "")}`);
    differs("sharding key", t.shardingKey ?? "", key ?? "");
    return reasons;
  }
  const engine = t.replicated ? `Replicated${t.engine.family}` : t.engine.family;
  if (actual.engine !== engine) return [`engine is ${actual.engine}, declared ${engine}`];
  const args = [...actual.engineArgs];
  if (t.replicated) {
    differs("ZooKeeper path", zookeeperPathOf(t), unquote(args.shift() ?? ""));
    differs("replica name", t.replicaName, unquote(args.shift() ?? ""));
  }
  const param = engineParameters(t.engine).map((p) => p.name).join(", ");
  differs(`${t.engine.family} parameter`, param, args.join(", "));
  if (!appendedOrderBy(t, actual, added)) differs("ORDER BY", keyText(t.orderBy), actual.sortingKey);
  differs("PRIMARY KEY", keyText(t.primaryKey ?? t.orderBy), actual.primaryKey);
  differs("PARTITION BY", t.partitionBy ?? "", actual.partitionKey);
  differs("SAMPLE BY", t.sampleBy ?? "", actual.samplingKey);
  for (const [k, v] of Object.entries(t.settings)) {
    if (actual.settings[k] !== String(v)) reasons.push(`setting ${k} is ${actual.settings[k] ?? "(default)"}, declared ${v}`);
  }
  return reasons;
}

export const ttlChanged = (t: TableDecl, actual: ActualTable) => t.kind === "table" && !sameExpression(t.ttl ?? "", actual.ttl);
