// The read API's validation and SQL (app/queries.ts). The SQL runs on current ClickHouse (chdb) in both
// bindings over rows made by the capture pipeline's own toRow/rowLine, and must answer what the rows say;
// test/integration/app.test.ts runs it on ClickHouse 18.16 through the app.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Session } from "chdb";
import { bind, type Binding, type Sql } from "../../app/binding.ts";
import { rowLine, toRow, type EventRow } from "../../app/capture/event.ts";
import { EVENT_COLUMNS } from "../../app/clickhouse.ts";
import { breakdownSql, fillSeries, parseBreakdown, parseTrends, totalsOf, trendsSql, type TrendsQuery } from "../../app/queries.ts";
import { HOSTILE } from "../support/hostile-strings.ts";
import { refusal } from "../support/http-error.ts";

const NOW = new Date("2026-11-10T12:34:56Z");

describe("query validation", () => {
  test("trends: defaults (day, the 7 days before now) and the key's own team", () => {
    assert.deepEqual(parseTrends({ event: "$pageview" }, 3, NOW), {
      team: 3, event: "$pageview", interval: "day", from: new Date("2026-11-03T12:34:56Z"), to: NOW,
    });
    const q = parseTrends({ team_id: "3", event: "e", from: "2026-11-01", to: "2026-11-02T06:00:00+02:00", interval: "hour" }, 3, NOW);
    assert.deepEqual(q, { team: 3, event: "e", interval: "hour", from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-11-02T04:00:00Z") });
  });

  test("another team's id is forbidden", () => {
    assert.deepEqual(parseTrends({ team_id: "4", event: "e" }, 3, NOW), { forbidden: 4 });
    assert.deepEqual(parseBreakdown({ team_id: "4", event: "e", property: "p" }, 3, NOW), { forbidden: 4 });
  });

  test("each bad input named by its field", () => {
    const r = refusal(() => parseTrends({ team_id: "x", from: "yesterday", interval: "week", event: ["a", "b"] }, 3, NOW));
    assert.equal(r.status, 400);
    assert.deepEqual(r.issues, [
      "team_id: must be an integer from 1 to 9007199254740991",
      "event: given more than once",
      "from: must be an ISO 8601 date or date-time (UTC unless it has an offset) between 1970 and 2105",
      "interval: must be day or hour",
    ]);
    assert.equal(refusal(() => parseTrends({}, 3, NOW)).message, "event: required");
    assert.equal(refusal(() => parseBreakdown({ event: "e" }, 3, NOW)).message, "property: required");
    assert.equal(refusal(() => parseBreakdown({ event: "e", property: "p", limit: "0" }, 3, NOW)).message, "limit: must be an integer from 1 to 1000");
    assert.equal(refusal(() => parseTrends({ event: "e".repeat(201) }, 3, NOW)).message, "event: must be at most 200 characters");
  });

  test("ranges: from before to; at most 10000 buckets", () => {
    assert.equal(refusal(() => parseTrends({ event: "e", from: "2026-11-02", to: "2026-11-01" }, 3, NOW)).message, "from: must be before to");
    assert.match(refusal(() => parseTrends({ event: "e", from: "2020-01-01", to: "2026-01-01", interval: "hour" }, 3, NOW)).message, /more than 10000 buckets/);
    assert.ok(!("forbidden" in parseTrends({ event: "e", from: "2000-01-01", to: "2026-01-01" }, 3, NOW)));
  });

  test("fillSeries: every bucket of the range, zeros where nothing happened", () => {
    const q = parseTrends({ event: "e", from: "2026-11-01T10:30:00Z", to: "2026-11-01T13:00:00Z", interval: "hour" }, 1, NOW) as TrendsQuery;
    const series = fillSeries([{ bucket: String(Date.UTC(2026, 10, 1, 11) / 1000), events: "5", users: "2" }], q);
    assert.deepEqual(series, [
      { bucket: "2026-11-01T10:00:00.000Z", events: 0, users: 0 },
      { bucket: "2026-11-01T11:00:00.000Z", events: 5, users: 2 },
      { bucket: "2026-11-01T12:00:00.000Z", events: 0, users: 0 },
    ]);
    assert.deepEqual(totalsOf({ events: "7", users: "3" }), { events: 7, users: 3 });
    assert.deepEqual(totalsOf(undefined), { events: 0, users: 0 });
  });
});

describe("the SQL on current ClickHouse, both bindings", () => {
  let session: Session;
  const DB = "app_db";
  // events of team 1 and team 2; names and property values include every hostile string
  const rows: EventRow[] = [];
  before(() => {
    session = new Session();
    session.query(`CREATE DATABASE ${DB}`);
    session.query(`CREATE TABLE ${DB}.events (uuid UUID, event String, properties String, timestamp DateTime, team_id Int64, distinct_id String,
      elements_chain String, created_at DateTime, _timestamp DateTime, _offset UInt64) ENGINE = MergeTree ORDER BY (team_id, timestamp)`);
    let offset = 0;
    let n = 0;
    const add = (team: number, event: string, distinct: string, ts: string, props: Record<string, unknown>) => {
      n++;
      rows.push(toRow({ event, distinct_id: distinct, timestamp: Date.parse(ts), properties: props }, {
        teamId: team, now: NOW, sentAt: undefined, newUuid: () => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, nextOffset: () => ++offset,
      }));
    };
    for (let i = 0; i < 48; i++) add(1, "$pageview", `u${i % 5}`, new Date(Date.UTC(2026, 10, 1, i)).toISOString(), { $browser: i % 3 === 0 ? "Chrome" : "Firefox" });
    add(2, "$pageview", "other-team", "2026-11-01T05:00:00Z", { $browser: "Chrome" });
    add(1, "$pageview", "outside", "2026-11-03T00:00:00Z", { $browser: "Chrome" });
    HOSTILE.filter((s) => s !== "").forEach((s, i) => add(1, s, `h${i}`, "2026-11-01T01:00:00Z", { [s]: s, "$browser": s }));
    // the bytes the app sends (TabSeparated lines), as the app sends them
    session.query(`INSERT INTO ${DB}.events (${EVENT_COLUMNS.join(", ")}) FORMAT TabSeparated\n${rows.map(rowLine).join("")}`);
  });
  after(() => session.cleanup());

  const run = <T>(q: Sql, binding: Binding): { data: T[]; totals: T } => {
    const b = bind(q, binding);
    const text = binding === "literals"
      ? session.query(`${b.query} FORMAT JSON`)
      : session.queryBind(`${b.query} FORMAT JSON`, Object.fromEntries(Object.entries(b.params).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
    return JSON.parse(text);
  };

  test("the rows written by the capture pipeline read back exactly", () => {
    assert.equal(session.query(`SELECT count() FROM ${DB}.events`, "CSV").trim(), String(rows.length));
    const back = session.query(`SELECT ${EVENT_COLUMNS.map((c) => (c.includes("time") || c === "created_at" ? `toUInt32(${c}) AS ${c}` : c)).join(", ")} FROM ${DB}.events ORDER BY _offset FORMAT JSONEachRow`)
      .trim().split("\n").map((l) => JSON.parse(l) as EventRow);
    assert.deepEqual(back, rows);
  });

  for (const binding of ["literals", "parameters"] as const) {
    test(`trends (${binding}): per-day counts and unique users, totals over the range, other teams excluded`, () => {
      const q = parseTrends({ event: "$pageview", from: "2026-11-01", to: "2026-11-03" }, 1, NOW) as TrendsQuery;
      const r = run<{ bucket: number; events: string; users: string }>(trendsSql(DB, q), binding);
      assert.deepEqual(fillSeries(r.data, q), [
        { bucket: "2026-11-01T00:00:00.000Z", events: 24, users: 5 },
        { bucket: "2026-11-02T00:00:00.000Z", events: 24, users: 5 },
      ]);
      assert.deepEqual(totalsOf(r.totals), { events: 48, users: 5 });
    });

    test(`breakdown (${binding}): counts by a string property`, () => {
      const q = parseBreakdown({ event: "$pageview", property: "$browser", from: "2026-11-01", to: "2026-11-03" }, 1, NOW);
      assert.ok(!("forbidden" in q));
      const r = run<{ value: string; events: string; users: string }>(breakdownSql(DB, q), binding);
      assert.deepEqual(r.data.map((x) => [x.value, Number(x.events)]), [["Firefox", 32], ["Chrome", 16]]);
      assert.deepEqual(totalsOf(r.totals), { events: 48, users: 5 });
    });

    test(`hostile event and property names (${binding}) are values, never SQL`, () => {
      for (const s of HOSTILE.filter((x) => x !== "" && x.length <= 200)) {
        const t = parseTrends({ event: s, from: "2026-11-01", to: "2026-11-02" }, 1, NOW) as TrendsQuery;
        assert.deepEqual(totalsOf(run<{ events: string; users: string }>(trendsSql(DB, t), binding).totals), { events: 1, users: 1 }, JSON.stringify(s));
        const b = parseBreakdown({ event: s, property: "$browser", from: "2026-11-01", to: "2026-11-02" }, 1, NOW);
        assert.ok(!("forbidden" in b));
        const values = run<{ value: string }>(breakdownSql(DB, b), binding).data.map((x) => x.value);
        assert.deepEqual(values, [s], JSON.stringify(s));
        // the hostile string as the property name too: visitParamExtractString matches the name as JSON
        // spells it unescaped, so a name JSON must escape reads as "" (documented), never as SQL
        const p = parseBreakdown({ event: s, property: s, from: "2026-11-01", to: "2026-11-02" }, 1, NOW);
        assert.ok(!("forbidden" in p));
        const byName = run<{ value: string; events: string }>(breakdownSql(DB, p), binding).data;
        const plainName = JSON.stringify(s) === `"${s}"`;
        assert.deepEqual(byName.map((x) => [x.value, Number(x.events)]), [[plainName ? s : "", 1]], JSON.stringify(s));
      }
    });
  }
});
