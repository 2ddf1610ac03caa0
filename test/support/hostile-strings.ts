// Strings that must travel through every path of the app unchanged and never become SQL. Used by the
// tests (test/unit/app-*.test.ts, test/integration/app.test.ts); the app itself never imports this file.

/** Strings an attacker or a careless client might send. */
export const HOSTILE: readonly string[] = [
  "",
  "plain",
  "it's",
  "''",
  "\\",
  "\\'",
  "a\\'); DROP TABLE t; --",
  "' OR 1=1 --",
  "back`tick",
  "new\nline\r\nand\ttab",
  "nul\0byte",
  "bell\x07 esc\x1b del\x7f",
  "{p0:String}",
  "$1 ? %s",
  "héllo wörld",
  "日本語テキスト",
  "emoji 😀👍🏽 and ZWJ 👩‍👩‍👧",
  "\u2028\u2029 line separators",
  "\uFEFFbom",
  "x".repeat(5000),
];
