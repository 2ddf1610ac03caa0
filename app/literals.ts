// Typed values and their spelling as ClickHouse SQL literals. ClickHouse 18.16 has no query parameters, so
// there a query carries its values inline: each value is validated and typed before it gets here, and is
// spelled by exactly one of the functions below. Nothing else in the app builds SQL text from input.

/** A value bound into a query, with the ClickHouse type it is compared as. */
export type Value =
  | { readonly type: "Int64"; readonly value: bigint }
  | { readonly type: "UInt32"; readonly value: number }
  | { readonly type: "String"; readonly value: string }
  /** Whole seconds since the epoch, compared as `toDateTime(seconds)`: no time zone is involved. */
  | { readonly type: "DateTime"; readonly value: number }
  /** An integer written into the SQL text in both binding modes (LIMIT takes no parameter on older servers). */
  | { readonly type: "Inline"; readonly value: number }
  /** A database or table name, backquoted into the SQL text in both binding modes. */
  | { readonly type: "Identifier"; readonly value: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT32_MAX = 2 ** 32 - 1;

export function int64(v: bigint | number): Value {
  const b = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (b === undefined || b < INT64_MIN || b > INT64_MAX) throw new RangeError(`not an Int64: ${String(v)}`);
  return { type: "Int64", value: b };
}

export function uint32(v: number): Value {
  if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw new RangeError(`not a UInt32: ${v}`);
  return { type: "UInt32", value: v };
}

export function string(v: string): Value {
  if (typeof v !== "string") throw new TypeError("not a string");
  if (!isWellFormed(v)) throw new RangeError("string holds a lone UTF-16 surrogate");
  return { type: "String", value: v };
}

/** A DateTime from a Date or epoch seconds; DateTime holds 1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC. */
export function dateTime(v: Date | number): Value {
  const seconds = typeof v === "number" ? v : Math.floor(v.getTime() / 1000);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > UINT32_MAX) throw new RangeError(`not a DateTime: ${String(v)}`);
  return { type: "DateTime", value: seconds };
}

export function inline(v: number): Value {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not an inline integer: ${v}`);
  return { type: "Inline", value: v };
}

export function identifier(name: string): Value {
  if (name.length === 0 || !isWellFormed(name)) throw new RangeError(`not an identifier: ${JSON.stringify(name)}`);
  return { type: "Identifier", value: name };
}

/** The value as a ClickHouse literal. */
export function literal(v: Value): string {
  switch (v.type) {
    case "Int64":
    case "UInt32":
    case "Inline":
      return integer(v.value);
    case "String":
      return quoteString(v.value);
    case "DateTime":
      return `toDateTime(${integer(v.value)})`;
    case "Identifier":
      return quoteIdentifier(v.value);
  }
}

/** An integer literal; a negative one in parentheses, so that no neighbouring `-` can make it a `--` comment. */
export function integer(v: bigint | number): string {
  if (typeof v === "number" && !Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${v}`);
  return v < 0 ? `(${String(v)})` : String(v);
}

/**
 * A ClickHouse string literal: single quotes; the quote, the backslash and every control character escaped
 * with a backslash (`\'`, `\\`, `\n`, `\r`, `\t`, `\0`, else `\xHH`). Everything else, any Unicode
 * included, is written as it is (the query travels as UTF-8). A lone surrogate is refused: UTF-8 cannot carry it.
 */
export function quoteString(s: string): string {
  return quoted(s, "'");
}

/** A backquoted identifier (a database or table name), escaped the same way. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new RangeError("empty identifier");
  return quoted(name, "`");
}

function quoted(s: string, quote: "'" | "`"): string {
  if (!isWellFormed(s)) throw new RangeError("string holds a lone UTF-16 surrogate");
  const q = quote.charCodeAt(0);
  let out = quote;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === q || c === 0x5c) out += `\\${s[i]}`;
    else if (c >= 0x20 && c !== 0x7f) out += s[i];
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x00) out += "\\0";
    else out += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return out + quote;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** No lone UTF-16 surrogate (String.prototype.isWellFormed, which ES2023 typings lack). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
