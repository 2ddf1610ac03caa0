// Result sets from both databases in one shape, and their comparison. Drivers return the same number in
// different types (ClickHouse's JSON quotes 64-bit integers, pg returns bigint counts as strings), so
// every value is normalised by its column's kind to a canonical string; rows are then sorted, so that the
// comparison is of sets of rows, independent of collation and tie order.
import type { ColumnKind, ResultColumn } from "./sql.ts";

export type Row = readonly (string | null)[];

/** One value as a canonical string: integers in decimal, days as YYYY-MM-DD, text as it is. Throws on anything else. */
export function normalizeValue(v: unknown, kind: ColumnKind, where: string): string | null {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case "int": {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
      if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v).toString();
      break;
    }
    case "date": {
      if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
      // A driver's Date for a day is midnight UTC only if it was told so: refuse rather than guess the zone.
      break;
    }
    case "text":
      if (typeof v === "string") return v;
      break;
  }
  throw new TypeError(`${where}: expected ${kind === "int" ? "an integer" : kind === "date" ? "a day as YYYY-MM-DD" : "text"}, got ${typeof v} ${JSON.stringify(typeof v === "bigint" ? String(v) : v)}`);
}

function compareCell(a: string | null, b: string | null, kind: ColumnKind): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (kind === "int") {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : 1;
}

/** Rows (objects keyed by column name) as sorted arrays of canonical values. */
export function normalizeRows(rows: readonly Record<string, unknown>[], columns: readonly ResultColumn[], source: string): Row[] {
  const out = rows.map((r, i) => {
    const extra = Object.keys(r).filter((k) => !columns.some((c) => c.name === k));
    if (extra.length > 0) throw new TypeError(`${source} row ${i}: unexpected column(s) ${extra.join(", ")}`);
    return columns.map((c) => {
      if (!(c.name in r)) throw new TypeError(`${source} row ${i}: no column ${c.name}`);
      return normalizeValue(r[c.name], c.kind, `${source} row ${i}, column ${c.name}`);
    });
  });
  return out.sort((a, b) => {
    for (let i = 0; i < columns.length; i++) {
      const d = compareCell(a[i]!, b[i]!, columns[i]!.kind);
      if (d !== 0) return d;
    }
    return 0;
  });
}

export type Comparison =
  | { readonly identical: true; readonly rows: number }
  | {
    readonly identical: false;
    /** Position of the first differing row in the sorted rows. */
    readonly index: number;
    /** That row on each side (null: that side has fewer rows). */
    readonly postgres: Row | null;
    readonly clickhouse: Row | null;
    readonly postgresRows: number;
    readonly clickhouseRows: number;
  };

/** Exact equality of two normalised result sets; when they differ, the first differing row. */
export function compareRows(postgres: readonly Row[], clickhouse: readonly Row[]): Comparison {
  const n = Math.max(postgres.length, clickhouse.length);
  for (let i = 0; i < n; i++) {
    const p = postgres[i];
    const c = clickhouse[i];
    if (p === undefined || c === undefined || p.length !== c.length || p.some((v, j) => v !== c[j])) {
      return { identical: false, index: i, postgres: p ?? null, clickhouse: c ?? null, postgresRows: postgres.length, clickhouseRows: clickhouse.length };
    }
  }
  return { identical: true, rows: n };
}

const showRow = (r: Row | null) => (r === null ? "(no row)" : `(${r.map((v) => (v === null ? "NULL" : JSON.stringify(v))).join(", ")})`);

/** One line naming the first difference. */
export function describeDifference(title: string, c: Comparison): string {
  if (c.identical) return `${title}: identical (${c.rows} rows)`;
  return `${title}: results differ at row ${c.index + 1} (sorted; Postgres returned ${c.postgresRows} rows, ClickHouse ${c.clickhouseRows}): Postgres ${showRow(c.postgres)}, ClickHouse ${showRow(c.clickhouse)}`;
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of nothing");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
