// What may reach SQL from a declaration: identifiers of a safe alphabet (never quoted, so never escaped
// wrongly), and expressions that are exactly one expression. An expression is lexed (strings, quoted
// names, parentheses) and refused when it holds a `;`, a comment, an unbalanced bracket, a top-level
// comma (it would start another column or argument), or a top-level clause keyword (it would start
// another clause: `1 COMMENT 'x'`, `x) ENGINE = ...`). Strings are single-quoted ClickHouse literals.

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Words that begin a clause or a statement: never at the top level of an expression. */
const CLAUSE_WORDS = new Set([
  "ALIAS", "ALTER", "ATTACH", "CODEC", "COMMENT", "CREATE", "DEFAULT", "DELETE", "DETACH", "DROP", "ENGINE",
  "FORMAT", "FROM", "GRANT", "INSERT", "INTO", "KILL", "MATERIALIZED", "OPTIMIZE", "ORDER", "PARTITION",
  "PRIMARY", "RENAME", "REVOKE", "SAMPLE", "SELECT", "SETTINGS", "SYSTEM", "TRUNCATE", "TTL", "UNION", "UPDATE",
  "USE", "WITH",
  // TTL rule words: `ts + INTERVAL 1 DAY TO VOLUME 'x'`, `... WHERE`, `... GROUP BY ... SET` are other rules.
  "TO", "WHERE", "GROUP", "SET", "HAVING", "LIMIT",
]);

export function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if (name.length === 0 || name.length > 127) return "must be 1 to 127 characters";
  if (!IDENTIFIER.test(name)) return "must be an identifier: letters, digits and _, not starting with a digit (no quotes, backticks, dots or spaces)";
  return undefined;
}

/**
 * Column names may be anything ClickHouse takes backquoted (PostHog's `$group_0`, `mat_$browser`): 1 to
 * 127 characters, no control characters, not blank. DDL backquotes every name that needs it (quoteName).
 */
export function columnNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if ([...name].length === 0 || [...name].length > 127) return "must be 1 to 127 characters";
  if (/[\u0000-\u001f\u007f]/.test(name)) return "must not contain control characters";
  if (name.trim().length === 0) return "must not be blank";
  return undefined;
}

/** Clause words a projection's query may hold at its top level: `SELECT ... GROUP BY ... ORDER BY ...`. */
const PROJECTION_CLAUSES = new Set(["SELECT", "GROUP", "ORDER"]);

/**
 * Why `text` is not a projection's query (`SELECT a, count() GROUP BY a`, `SELECT * ORDER BY b`): one
 * SELECT with no FROM, lexed as expressions are (no `;`, comment or unbalanced bracket), or undefined.
 */
export function projectionQueryProblem(text: unknown): string | undefined {
  if (typeof text !== "string") return "must be a string";
  if (!/^\s*SELECT\s/i.test(text)) return "must be a SELECT (SELECT ... [GROUP BY ...] [ORDER BY ...], no FROM)";
  return expressionProblem(text, { clauses: PROJECTION_CLAUSES, commas: true });
}

/**
 * Why `text` is not exactly one expression, or undefined when it is. A projection's query passes the clause
 * words it may hold and takes top-level commas.
 */
export function expressionProblem(text: unknown, allow: { clauses?: ReadonlySet<string>; commas?: boolean } = {}): string | undefined {
  if (typeof text !== "string") return "must be a string";
  if (text.trim().length === 0) return "must not be empty";
  if (text.length > 4096) return "must be at most 4096 characters";
  const depth: string[] = [];
  let i = 0;
  let topLevelWords = "";
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "'" || c === "`" || c === '"') {
      const end = closingQuote(text, i);
      if (end < 0) return `has an unterminated ${c === "'" ? "string" : "quoted name"}`;
      if (depth.length === 0) topLevelWords += " ";
      i = end + 1;
      continue;
    }
    if (c === ";") return "must be a single expression: `;` is not allowed";
    if ((c === "-" && next === "-") || (c === "/" && next === "*") || c === "#") return "must not contain a comment";
    if (c === "\\") return "must not contain a backslash outside a string";
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(c)) return "must not contain control characters";
    if (c === "(" || c === "[") depth.push(c === "(" ? ")" : "]");
    else if (c === ")" || c === "]") {
      if (depth.pop() !== c) return `has an unbalanced ${c}`;
    } else if (c === "," && depth.length === 0 && !allow.commas) {
      return "must be a single expression: a top-level comma would start another one (wrap a tuple in parentheses)";
    }
    if (depth.length === 0) topLevelWords += c;
    i++;
  }
  if (depth.length > 0) return `has an unclosed ${depth.at(-1) === ")" ? "(" : "["}`;
  const clause = topLevelWords.toUpperCase().split(/[^A-Z0-9_]+/).find((w) => CLAUSE_WORDS.has(w) && !allow.clauses?.has(w));
  if (clause) return `must be a single expression: \`${clause}\` would start another clause`;
  return undefined;
}

/** The text with every bracket's contents and every quoted part removed: `Nullable(String)` -> `Nullable()`. */
export function topLevelShape(text: string): string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === "`" || c === '"') {
      const end = closingQuote(text, i);
      i = end < 0 ? text.length : end;
    } else if (c === "(" || c === "[") {
      if (depth++ === 0) out += c;
    } else if (c === ")" || c === "]") {
      if (--depth === 0) out += c;
    } else if (depth === 0) out += c;
  }
  return out;
}

/** Index of the quote that closes the one at `start` ('' and \' escape inside strings), or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === q) {
      if (text[i + 1] === q) i++;
      else return i;
    }
  }
  return -1;
}

/** Keywords a bare column name could be read as: backquoted too. */
const KEYWORDS = new Set([...CLAUSE_WORDS, "AND", "OR", "NOT", "NULL", "AS", "ON", "IN", "IS", "LIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "KEY", "INDEX", "AFTER", "FIRST", "COLUMN", "TABLE", "DATABASE", "IF", "EXISTS", "INTERVAL", "ARRAY", "TUPLE", "ASC", "DESC", "BY", "PROJECTION", "CONSTRAINT", "CHECK"]);

/** A name in SQL: bare when it is a plain identifier and no keyword, else backquoted (backslash-escaped). */
export const quoteName = (name: string) =>
  IDENTIFIER.test(name) && !KEYWORDS.has(name.toUpperCase()) ? name : `\`${name.replaceAll("\\", "\\\\").replaceAll("`", "\\`")}\``;

/** A ClickHouse string literal. */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

const INTERVAL = /\bINTERVAL\s+(\d+)\s+(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?\b/gi;

/**
 * The form used to compare a declared expression with what a server reports: whitespace outside strings
 * dropped, `name`, "name" and name alike, every string literal escaped one way, `INTERVAL n DAY` as
 * `toIntervalDay(n)` (as current ClickHouse prints it). Rewrites that change structure (operator
 * parentheses, `?:`, `||`, `CAST(x AS T)`) are not guessed: apply reports them as the host's spelling.
 */
export function normalizeExpression(text: string): string {
  const withIntervals = text.replace(INTERVAL, (_, n: string, unit: string) => `toInterval${unit[0]!.toUpperCase()}${unit.slice(1).toLowerCase()}(${n})`);
  let out = "";
  for (let i = 0; i < withIntervals.length; ) {
    const c = withIntervals[i]!;
    if (c === "'" || c === '"' || c === "`") {
      const end = closingQuote(withIntervals, i);
      const body = unescape(withIntervals.slice(i + 1, end < 0 ? undefined : end), c);
      out += c === "'" ? stringLiteral(body) : body; // a quoted name is the name
      i = end < 0 ? withIntervals.length : end + 1;
    } else {
      if (!/\s/.test(c)) out += c;
      i++;
    }
  }
  return out;
}

/** The text of a quoted literal: doubled quotes and backslash escapes resolved. */
function unescape(body: string, quote: string): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\" && i + 1 < body.length) out += body[++i];
    else if (c === quote && body[i + 1] === quote) out += body[++i];
    else out += c;
  }
  return out;
}

const TYPE_ALIASES: Record<string, string> = {
  TINYINT: "Int8", BOOL: "UInt8", SMALLINT: "Int16", INT: "Int32", INTEGER: "Int32", BIGINT: "Int64",
  FLOAT: "Float32", REAL: "Float32", DOUBLE: "Float64", TEXT: "String", VARCHAR: "String", CHAR: "String",
};
const DECIMAL_PRECISION: Record<string, number> = { Decimal32: 9, Decimal64: 18, Decimal128: 38, Decimal256: 76 };

/**
 * A column type as ClickHouse prints it: SQL aliases resolved wherever they stand, outside quotes
 * (BIGINT -> Int64, Nullable(VARCHAR) -> Nullable(String), Decimal64(4) -> Decimal(18, 4)).
 */
export function normalizeType(type: string): string {
  let out = "";
  const text = type.trim();
  for (let i = 0; i < text.length; ) {
    if (text[i] === "'") {
      const end = closingQuote(text, i);
      out += text.slice(i, end < 0 ? undefined : end + 1);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (!word) {
      out += text[i++];
      continue;
    }
    const dec = /^(Decimal(?:32|64|128|256))\s*\(\s*(\d+)\s*\)/.exec(text.slice(i));
    if (dec) {
      out += `Decimal(${DECIMAL_PRECISION[dec[1]!]}, ${dec[2]})`;
      i += dec[0].length;
      continue;
    }
    out += TYPE_ALIASES[word.toUpperCase()] ?? word;
    i += word.length;
  }
  return normalizeExpression(out);
}
