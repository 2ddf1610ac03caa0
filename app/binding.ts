// Queries as SQL text with typed holes, bound one of two ways: as real query parameters (`{p0:Int64}` with
// `param_p0` sent beside the query; ClickHouse 19.11 and later) or as literals spelled by literals.ts (18.16,
// which has no query parameters). Both bindings of one query mean the same thing; the unit tests run both
// on current ClickHouse and compare.
import { literal, type Value } from "./literals.ts";

export type Binding = "parameters" | "literals";

export interface Sql {
  readonly parts: readonly string[];
  readonly values: readonly Value[];
}

/** sql`SELECT ... WHERE team_id = ${int64(team)}`: the only way a value enters a query. */
export function sql(strings: TemplateStringsArray, ...values: Value[]): Sql {
  return { parts: [...strings], values };
}

export interface Bound {
  readonly query: string;
  readonly params: Record<string, string | number | bigint>;
}

export function bind(q: Sql, binding: Binding): Bound {
  let query = q.parts[0] ?? "";
  const params: Record<string, string | number | bigint> = {};
  q.values.forEach((v, i) => {
    query += binding === "literals" || v.type === "Inline" || v.type === "Identifier" ? literal(v) : placeholder(`p${i}`, v, params);
    query += q.parts[i + 1] ?? "";
  });
  return { query, params };
}

function placeholder(name: string, v: Value, params: Record<string, string | number | bigint>): string {
  params[name] = v.value;
  switch (v.type) {
    case "DateTime":
      return `toDateTime({${name}:UInt32})`;
    case "Int64":
    case "UInt32":
    case "String":
      return `{${name}:${v.type}}`;
    case "Inline":
    case "Identifier":
      throw new Error("unreachable: inline values and identifiers are spelled as literals");
  }
}

/** Query parameters arrived in ClickHouse 19.11.3.11 (2019-07-18, "Added support for prepared statements"). */
export function bindingFor(version: string): Binding {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`unrecognised ClickHouse version ${JSON.stringify(version)}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 19 || (major === 19 && minor >= 11) ? "parameters" : "literals";
}
