// The SQL text of `chstack compare` (compare/sql.ts): the one literal function ClickHouse values go through,
// and the query builders for both databases.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareQueries, datetime, day, int, literal, str, windowOf, type SqlValue } from "../../compare/sql.ts";

const reference = new Date("2025-06-01T00:00:00Z");
const targets = { clickhouse: "chstack_compare.events", postgres: "chstack_compare.events", clickhouseBrowser: "`mat_$browser`", postgresBrowser: "browser", clickhouseUser: "distinct_id_hash" };

describe("literal: values rendered into ClickHouse SQL", () => {
  test("integers as digits, safe integers only", () => {
    assert.equal(literal(int(1)), "1");
    assert.equal(literal(int(-42)), "-42");
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) assert.throws(() => literal(int(bad)), /not a safe integer/);
    assert.throws(() => literal({ kind: "int", value: "1 OR 1=1" } as unknown as SqlValue), /not a safe integer/);
  });

  test("strings quoted, with quote, backslash and control characters escaped", () => {
    assert.equal(literal(str("$pageview")), "'$pageview'");
    assert.equal(literal(str("it's")), "'it\\'s'");
    assert.equal(literal(str("a\\b")), "'a\\\\b'");
    assert.equal(literal(str("x' OR 1=1 --")), "'x\\' OR 1=1 --'");
    assert.equal(literal(str("\\' OR 1=1 --")), "'\\\\\\' OR 1=1 --'");
    assert.equal(literal(str("l1\nl2\tt\r\0")), "'l1\\nl2\\tt\\r\\0'");
    assert.throws(() => literal({ kind: "string", value: 5 } as unknown as SqlValue), /not a string/);
  });

  test("a string literal holds no unescaped quote: every quote inside is preceded by an odd run of backslashes", () => {
    for (const s of ["'", "\\'", "\\\\'", "''", "a'b\\'c\\\\'d", "\\"]) {
      const body = literal(str(s)).slice(1, -1);
      for (let i = 0; i < body.length; i++) {
        if (body[i] !== "'") continue;
        let slashes = 0;
        for (let j = i - 1; j >= 0 && body[j] === "\\"; j--) slashes++;
        assert.equal(slashes % 2, 1, `quote at ${i} of ${body} is not escaped`);
      }
      assert.ok(!body.endsWith("\\") || /(?:^|[^\\])(\\\\)+$/.test(body), `${body} ends in a lone backslash`);
    }
  });

  test("days as toDate('YYYY-MM-DD'), real dates only", () => {
    assert.equal(literal(day("2025-06-01")), "toDate('2025-06-01')");
    for (const bad of ["2025-02-30", "2025-13-01", "2025-6-1", "2025-06-01'; DROP TABLE x; --", ""]) assert.throws(() => literal(day(bad)), /not a day/);
  });

  test("instants as toDateTime(unix seconds), whole seconds in DateTime's range only", () => {
    assert.equal(literal(datetime(new Date("2025-06-01T00:00:00Z"))), "toDateTime(1748736000)");
    assert.equal(literal(datetime(new Date(0))), "toDateTime(0)");
    for (const bad of [new Date("2025-06-01T00:00:00.5Z"), new Date(-1000), new Date("x"), new Date(2 ** 32 * 1000)]) assert.throws(() => literal(datetime(bad)), /not a DateTime/);
    assert.throws(() => literal({ kind: "datetime", value: 1748736000 } as unknown as SqlValue), /not a DateTime/);
  });

  test("anything else is refused", () => {
    assert.throws(() => literal({ kind: "float", value: 1 } as unknown as SqlValue), /not a SQL value/);
  });
});

describe("windows", () => {
  test("end at the reference (exclusive) and start whole days before", () => {
    assert.deepEqual(windowOf(reference, 30), { fromDay: "2025-05-02", toDay: "2025-06-01", fromTs: "2025-05-02T00:00:00.000Z", toTs: "2025-06-01T00:00:00.000Z" });
    assert.equal(windowOf(reference, 90).fromDay, "2025-03-03");
    assert.throws(() => windowOf(reference, 91), /1 to 90 days/);
    assert.throws(() => windowOf(new Date("2025-06-01T12:00:00Z"), 30), /UTC midnight/);
  });
});

describe("the queries", () => {
  const qs = compareQueries({ teamId: 1, event: "$pageview", reference }, targets);

  test("five queries: daily counts over 30 and 90 days, daily users, the $browser breakdown, events per type", () => {
    assert.deepEqual(qs.map((q) => q.id), ["event_daily_30d", "event_daily_90d", "daily_users_90d", "browser_breakdown_30d", "events_per_type_90d"]);
    assert.deepEqual(qs.map((q) => q.columns.map((c) => `${c.name}:${c.kind}`).join(",")), [
      "day:date,n:int", "day:date,n:int", "day:date,users:int", "day:date,browser:text,n:int", "event:text,n:int",
    ]);
  });

  test("ClickHouse: the values are literals in the text, windows on the timestamp, days by toDate(timestamp)", () => {
    const [d30, d90, users, breakdown, perType] = qs;
    assert.equal(d30!.clickhouse.sql, "SELECT toDate(timestamp) AS day, count() AS n FROM chstack_compare.events WHERE team_id = 1 AND event = '$pageview' AND timestamp >= toDateTime(1746144000) AND timestamp < toDateTime(1748736000) GROUP BY day ORDER BY day");
    assert.equal(new Date(1746144000 * 1000).toISOString(), "2025-05-02T00:00:00.000Z");
    assert.match(d90!.clickhouse.sql, /timestamp >= toDateTime\(1740960000\) AND timestamp < toDateTime\(1748736000\)/);
    assert.equal(new Date(1740960000 * 1000).toISOString(), "2025-03-03T00:00:00.000Z");
    assert.match(users!.clickhouse.sql, /uniqExact\(distinct_id_hash\) AS users/);
    assert.deepEqual(users!.clickhouse.settings, { distributed_group_by_no_merge: 1 });
    assert.match(breakdown!.clickhouse.sql, /`mat_\$browser` AS browser/);
    assert.doesNotMatch(perType!.clickhouse.sql, /event =/);
    for (const q of qs) assert.doesNotMatch(q.clickhouse.sql, /\$\d/, "no placeholders: 18.16 has no server-side parameters");
  });

  test("Postgres: the same values bound as $1..$n, each placeholder used and each value placed", () => {
    for (const q of qs) {
      const used = new Set([...q.postgres.text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      assert.deepEqual([...used].sort(), Array.from({ length: q.postgres.values.length }, (_, i) => i + 1), q.id);
      assert.ok(!q.postgres.text.includes("'$pageview'"), "the event is bound, not in the text");
      assert.match(q.postgres.text, /FROM chstack_compare\.events WHERE team_id = \$1/);
    }
    assert.deepEqual(qs[0]!.postgres.values, [1, "$pageview", "2025-05-02T00:00:00.000Z", "2025-06-01T00:00:00.000Z"]);
    assert.deepEqual(qs[2]!.postgres.values, [1, "2025-03-03T00:00:00.000Z", "2025-06-01T00:00:00.000Z"]);
    assert.match(qs[2]!.postgres.text, /count\(DISTINCT distinct_id\)/);
    assert.match(qs[0]!.postgres.text, /GROUP BY \(timestamp AT TIME ZONE 'UTC'\)::date/, "UTC days, grouped as dates");
  });

  test("a hostile event name reaches ClickHouse escaped and Postgres bound", () => {
    const [q] = compareQueries({ teamId: 7, event: "x' OR 1=1 --", reference }, targets);
    assert.match(q!.clickhouse.sql, /event = 'x\\' OR 1=1 --'/);
    assert.equal(q!.postgres.values[1], "x' OR 1=1 --");
    assert.match(q!.clickhouse.sql, /team_id = 7 /);
  });

  test("table names must be plain schema.table", () => {
    assert.throws(() => compareQueries({ teamId: 1, event: "e", reference }, { ...targets, clickhouse: "events; DROP TABLE x" }), /schema\.table/);
    assert.throws(() => compareQueries({ teamId: 1, event: "e", reference }, { ...targets, postgres: "events" }), /schema\.table/);
    assert.throws(() => compareQueries({ teamId: 1.5, event: "e", reference }, targets), /team id/);
  });
});
