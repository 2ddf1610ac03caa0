// What a host actually holds, read from system tables in ONE query (version, databases, tables, columns),
// and the pure parsing of what those tables report (engine arguments, TTL, settings, codecs).
import { normalizeExpression } from "./expressions.ts";

export interface ActualColumn {
  readonly name: string;
  readonly type: string;
  readonly defaultKind: "" | "DEFAULT" | "MATERIALIZED" | "ALIAS";
  readonly defaultExpression: string;
  readonly comment: string;
  /** Codec list as written in the CREATE statement, "" when none. */
  readonly codec: string;
  /** Part of the partition, sorting, primary or sampling key: no ALTER may change it. */
  readonly inKey: boolean;
}

export interface ActualTable {
  readonly database: string;
  readonly name: string;
  readonly engine: string;
  readonly engineArgs: readonly string[];
  readonly partitionKey: string;
  readonly sortingKey: string;
  readonly primaryKey: string;
  readonly samplingKey: string;
  readonly ttl: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly columns: readonly ActualColumn[];
  /** Data-skipping indexes, from the CREATE statement (18.16 has none and no system table of them). */
  readonly indexes: readonly ActualIndex[];
  /** Projections, from the CREATE statement. */
  readonly projections: readonly ActualProjection[];
}

export interface ActualProjection {
  readonly name: string;
  readonly query: string;
}

export interface ActualIndex {
  readonly name: string;
  readonly expression: string;
  readonly type: string;
  readonly granularity: number;
}

export interface HostState {
  readonly version: string;
  readonly databases: ReadonlySet<string>;
  readonly tables: ReadonlyMap<string, ActualTable>;
}

const HIDDEN = "('system', 'INFORMATION_SCHEMA', 'information_schema')";

/** One round trip: scalar subqueries return every table and column as arrays (works on 18.16 and current). */
export const INTROSPECTION_QUERY = `SELECT
  version() AS version,
  (SELECT groupArray(name) FROM system.databases WHERE name NOT IN ${HIDDEN}) AS databases,
  (SELECT groupArray((database, name, engine, engine_full, partition_key, sorting_key, primary_key, sampling_key, create_table_query))
     FROM system.tables WHERE database NOT IN ${HIDDEN} AND NOT is_temporary) AS tables,
  (SELECT groupArray((database, table, name, type, default_kind, default_expression, comment,
       toString(is_in_partition_key + is_in_sorting_key + is_in_primary_key + is_in_sampling_key > 0)))
     FROM system.columns WHERE database NOT IN ${HIDDEN}) AS columns`;

type Row = { version: string; databases: string[]; tables: string[][]; columns: string[][] };

export function parseIntrospection(row: Row): HostState {
  const columns = new Map<string, { name: string; type: string; defaultKind: string; defaultExpression: string; comment: string; inKey: boolean }[]>();
  for (const [database, table, name, type, defaultKind, defaultExpression, comment, inKey] of row.columns) {
    const key = `${database}.${table}`;
    if (!columns.has(key)) columns.set(key, []);
    columns.get(key)!.push({ name: name!, type: type!, defaultKind: defaultKind!, defaultExpression: defaultExpression!, comment: comment!, inKey: inKey === "1" });
  }
  const tables = new Map<string, ActualTable>();
  for (const [database, name, engine, engineFull, partitionKey, sortingKey, primaryKey, samplingKey, createQuery] of row.tables) {
    const key = `${database}.${name}`;
    const codecs = codecsOf(createQuery!);
    tables.set(key, {
      database: database!, name: name!, engine: engine!,
      engineArgs: engineArgs(engineFull!),
      partitionKey: partitionKey!, sortingKey: sortingKey!, primaryKey: primaryKey!, samplingKey: samplingKey!,
      ttl: clauseOf(engineFull!, "TTL"),
      settings: settingsOf(engineFull!),
      indexes: indexesOf(createQuery!),
      projections: projectionsOf(createQuery!),
      columns: (columns.get(key) ?? []).map((c) => ({
        ...c,
        defaultKind: c.defaultKind as ActualColumn["defaultKind"],
        codec: codecs.get(c.name) ?? "",
      })),
    });
  }
  return { version: row.version, databases: new Set(row.databases), tables };
}

/** Each character outside quoted text, with the bracket depth before it. */
function* unquoted(text: string, from = 0): Generator<[index: number, char: string, depth: number]> {
  let depth = 0;
  let quote = "";
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === "'" || c === "`" || c === '"') {
      quote = c;
      continue;
    }
    yield [i, c, depth];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
  }
}

/** Split at top-level commas, outside quotes and brackets. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const [i, c, depth] of unquoted(text)) {
    if (c === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) parts.push(last);
  return parts;
}

/** The text inside the parentheses that open at `open`. */
function parenthesized(text: string, open: number): string {
  for (const [i, c, depth] of unquoted(text, open)) if (c === ")" && depth === 1) return text.slice(open + 1, i);
  return text.slice(open + 1);
}

/** `ReplicatedReplacingMergeTree('/p', '{replica}', ver) PARTITION BY ...` -> ["'/p'", "'{replica}'", "ver"]. */
export function engineArgs(engineFull: string): string[] {
  const m = /^\s*\w+\s*\(/.exec(engineFull);
  return m ? splitTopLevel(parenthesized(engineFull, m[0].length - 1)) : [];
}

/** A top-level clause of engine_full (`TTL`), up to the next clause. */
function clauseOf(engineFull: string, keyword: "TTL"): string {
  const m = new RegExp(`\\s${keyword}\\s(.*?)(\\sSETTINGS\\s|$)`, "s").exec(engineFull);
  return m?.[1]?.trim() ?? "";
}

function settingsOf(engineFull: string): Record<string, string> {
  const m = /\sSETTINGS\s(.*)$/s.exec(engineFull);
  if (!m) return {};
  return Object.fromEntries(splitTopLevel(m[1]!).map((kv) => {
    const [k, ...v] = kv.split("=");
    return [k!.trim(), v.join("=").trim().replace(/^'(.*)'$/, "$1")];
  }));
}

/** Column codecs from the CREATE statement (18.16's system.columns has no codec column). */
export function codecsOf(createQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  const open = createQuery.indexOf("(");
  if (open < 0) return out;
  for (const def of splitTopLevel(parenthesized(createQuery, open))) {
    const name = /^`((?:[^`\\]|\\.)*)`|^(\S+)/.exec(def);
    const at = codecClause(def);
    if (name && at >= 0) out.set(name[1]?.replace(/\\(.)/g, "$1") ?? name[2]!, parenthesized(def, at));
  }
  return out;
}

/** `INDEX name expr TYPE t GRANULARITY n` entries of the CREATE statement's column list. */
export function indexesOf(createQuery: string): ActualIndex[] {
  const open = createQuery.indexOf("(");
  if (open < 0) return [];
  return splitTopLevel(parenthesized(createQuery, open)).flatMap((def) => {
    const m = /^INDEX\s+(`(?:[^`\\]|\\.)*`|\S+)\s+(.*)\s+TYPE\s+(.*?)\s+GRANULARITY\s+(\d+)$/s.exec(def.trim());
    if (!m) return [];
    const name = m[1]!.startsWith("`") ? m[1]!.slice(1, -1).replace(/\\(.)/g, "$1") : m[1]!;
    return [{ name, expression: m[2]!.trim(), type: m[3]!.trim(), granularity: Number(m[4]) }];
  });
}

/** `PROJECTION name (SELECT ...)` entries of the CREATE statement's column list. */
export function projectionsOf(createQuery: string): ActualProjection[] {
  const open = createQuery.indexOf("(");
  if (open < 0) return [];
  return splitTopLevel(parenthesized(createQuery, open)).flatMap((def) => {
    const m = /^PROJECTION\s+(`(?:[^`\\]|\\.)*`|[^\s(]+)\s*\(/s.exec(def.trim());
    if (!m) return [];
    const name = m[1]!.startsWith("`") ? m[1]!.slice(1, -1).replace(/\\(.)/g, "$1") : m[1]!;
    return [{ name, query: parenthesized(def.trim(), m[0].length - 1).trim() }];
  });
}

/** Where the `(` of a column's own CODEC clause is: at the top level, never inside a string or a default. */
function codecClause(def: string): number {
  for (const [i, c, depth] of unquoted(def)) {
    if (depth !== 0 || !/\s/.test(c)) continue;
    const m = /^\sCODEC\s*\(/.exec(def.slice(i));
    if (m) return i + m[0].length - 1;
  }
  return -1;
}

/** An identifier argument as written by either version ('x', `x` or x). */
export const unquote = (arg: string) => arg.replace(/^'(.*)'$|^`(.*)`$/, "$1$2");

export const sameExpression = (a: string, b: string) => normalizeExpression(a) === normalizeExpression(b);
