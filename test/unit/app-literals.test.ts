// The app's SQL literals (app/literals.ts) and bindings (app/binding.ts): exact spellings, refusals, and
// hostile values read back unchanged by current ClickHouse (chdb, embedded). test/integration/app.test.ts
// reads the same values back from ClickHouse 18.16.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Session } from "chdb";
import { bind, bindingFor, sql } from "../../app/binding.ts";
import { HOSTILE } from "../support/hostile-strings.ts";
import { dateTime, identifier, inline, int64, integer, isWellFormed, literal, quoteIdentifier, quoteString, string, uint32 } from "../../app/literals.ts";


let session: Session;
before(() => {
  session = new Session();
});
after(() => session.cleanup());

const one = (query: string): string => {
  const out = session.query(`${query} AS v FORMAT JSONEachRow`);
  return (JSON.parse(out) as { v: string }).v;
};

describe("quoteString", () => {
  test("exact spellings", () => {
    assert.equal(quoteString(""), "''");
    assert.equal(quoteString("it's"), "'it\\'s'");
    assert.equal(quoteString("a\\b"), "'a\\\\b'");
    assert.equal(quoteString("a\nb\rc\td\0e"), "'a\\nb\\rc\\td\\0e'");
    assert.equal(quoteString("\x01\x1f\x7f"), "'\\x01\\x1f\\x7f'");
    assert.equal(quoteString("héllo 😀"), "'héllo 😀'");
  });

  test("the literal holds no raw quote, newline or control character", () => {
    for (const s of HOSTILE) {
      const lit = quoteString(s).slice(1, -1);
      assert.doesNotMatch(lit.replace(/\\./g, ""), /['\\\n\r\0\x01-\x1f\x7f]/, JSON.stringify(s));
    }
  });

  test("current ClickHouse reads every hostile string back unchanged", () => {
    for (const s of HOSTILE) assert.equal(one(`SELECT ${quoteString(s)}`), s, JSON.stringify(s));
  });

  test("a lone surrogate is refused (UTF-8 cannot carry it)", () => {
    assert.throws(() => quoteString("a\uD800b"), /surrogate/);
    assert.throws(() => quoteString("\uDC00"), /surrogate/);
    assert.equal(isWellFormed("😀"), true);
    assert.equal(isWellFormed("\uD83D"), false);
  });
});

describe("typed values", () => {
  test("integers: negative ones in parentheses, so that `-` never meets `-`", () => {
    assert.equal(integer(0), "0");
    assert.equal(integer(42n), "42");
    assert.equal(integer(-5), "(-5)");
    assert.equal(`x -${integer(-5)}`, "x -(-5)");
    assert.equal(one(`SELECT toString(3 -${literal(int64(-5))})`), "8");
  });

  test("Int64 bounds", () => {
    assert.equal(literal(int64(2n ** 63n - 1n)), "9223372036854775807");
    assert.equal(literal(int64(-(2n ** 63n))), "(-9223372036854775808)");
    assert.equal(one(`SELECT toString(toInt64(${literal(int64(-(2n ** 63n)))}))`), "-9223372036854775808");
    assert.throws(() => int64(2n ** 63n), RangeError);
    assert.throws(() => int64(1.5), RangeError);
    assert.throws(() => int64(Number.MAX_SAFE_INTEGER + 1), RangeError);
  });

  test("UInt32 and inline integers", () => {
    assert.equal(literal(uint32(4294967295)), "4294967295");
    assert.throws(() => uint32(-1), RangeError);
    assert.throws(() => uint32(2 ** 32), RangeError);
    assert.throws(() => inline(-1), RangeError);
    assert.throws(() => inline(0.5), RangeError);
  });

  test("DateTime: epoch seconds, whatever the time zone", () => {
    assert.equal(literal(dateTime(new Date("2026-11-01T10:20:30.999Z"))), "toDateTime(1793528430)");
    assert.equal(one(`SELECT toString(toUInt32(${literal(dateTime(1793528430))}))`), "1793528430");
    assert.throws(() => dateTime(new Date("1969-12-31T23:59:59Z")), RangeError);
    assert.throws(() => dateTime(2 ** 32), RangeError);
    assert.throws(() => dateTime(new Date(NaN)), RangeError);
  });

  test("identifiers are backquoted and escaped", () => {
    assert.equal(quoteIdentifier("posthog"), "`posthog`");
    assert.equal(quoteIdentifier("a`b\\c"), "`a\\`b\\\\c`");
    assert.equal(literal(identifier("db")), "`db`");
    assert.throws(() => quoteIdentifier(""), RangeError);
  });

  test("string() refuses what is not a well-formed string", () => {
    assert.throws(() => string("\uD800"), RangeError);
    assert.throws(() => string(5 as unknown as string), TypeError);
  });
});

describe("binding", () => {
  const q = (s: string) => sql`SELECT ${string(s)} AS s, ${int64(-7)} AS n, ${dateTime(1793528430)} AS t, ${inline(3)} AS l FROM ${identifier("system")}.one`;

  test("literals: every value spelled inline, no parameters", () => {
    const b = bind(q("it's"), "literals");
    assert.equal(b.query, "SELECT 'it\\'s' AS s, (-7) AS n, toDateTime(1793528430) AS t, 3 AS l FROM `system`.one");
    assert.deepEqual(b.params, {});
  });

  test("parameters: typed placeholders, values beside; inline values and identifiers stay in the text", () => {
    const b = bind(q("it's"), "parameters");
    assert.equal(b.query, "SELECT {p0:String} AS s, {p1:Int64} AS n, toDateTime({p2:UInt32}) AS t, 3 AS l FROM `system`.one");
    assert.deepEqual(b.params, { p0: "it's", p1: -7n, p2: 1793528430 });
  });

  test("both bindings mean the same on current ClickHouse, for every hostile string", () => {
    for (const s of HOSTILE) {
      const lit = bind(q(s), "literals");
      const par = bind(q(s), "parameters");
      const a = session.query(`${lit.query} FORMAT JSONEachRow`);
      const b = session.queryBind(`${par.query} FORMAT JSONEachRow`, Object.fromEntries(Object.entries(par.params).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
      assert.equal(a, b, JSON.stringify(s));
      assert.equal((JSON.parse(a) as { s: string }).s, s);
    }
  });

  test("query parameters from ClickHouse 19.11 on", () => {
    assert.equal(bindingFor("18.16.1"), "literals");
    assert.equal(bindingFor("19.10.1.5"), "literals");
    assert.equal(bindingFor("19.11.3.11"), "parameters");
    assert.equal(bindingFor("20.3.1"), "parameters");
    assert.equal(bindingFor("26.7.2.1"), "parameters");
    assert.throws(() => bindingFor("unknown"), /unrecognised/);
  });
});
