// The ClickHouse side of `chstack compare` on CURRENT ClickHouse, embedded by chdb (the stack runs 18.16; the
// integration test runs the same queries there): compare's own table declaration (its CREATE, with the
// engine made non-replicated: chdb has no ZooKeeper), loaded with the TabSeparated encoder, and every
// query's rows, normalised, equal to the answer computed here in JavaScript from the same events.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Session } from "chdb";
import { clickhouseBrowser, compareDeclaration, CH_DATABASE, DISTINCT_ID_HASH, type BrowserDesign } from "../../compare/clickhouse.ts";
import { CLICKHOUSE_COLUMNS, toTabSeparated } from "../../compare/encode.ts";
import { DAY_SECONDS, generateEvents, type CompareEvent } from "../../compare/events.ts";
import { compareRows, normalizeRows, type Row } from "../../compare/results.ts";
import { compareQueries, type CompareQuery } from "../../compare/sql.ts";
import * as ddl from "../../schema/ddl.ts";
import type { LocalTable } from "../../schema/declare.ts";
import { quoteName } from "../../schema/expressions.ts";

const reference = new Date("2025-06-01T00:00:00Z");
const events = [...generateEvents({ seed: 11, count: 30_000, reference })];
let dir = "";
let session: Session | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "chstack-compare-chdb-"));
  session = new Session(join(dir, "data"));
});
after(() => {
  try {
    session?.cleanup();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

const ch = () => {
  assert.ok(session);
  return session;
};

/** The declared local table, non-replicated, created as `<db>.events` so that the queries read it directly. */
function createTable(browser: BrowserDesign, database: string): void {
  const local = compareDeclaration(browser, database).tables.find((t): t is LocalTable => t.kind === "table")!;
  ch().query(`CREATE DATABASE IF NOT EXISTS ${database}`);
  ch().query(ddl.createLocalTable({ ...local, name: "events", replicated: false }));
  ch().query(`INSERT INTO ${database}.events (${CLICKHOUSE_COLUMNS.map(quoteName).join(", ")}) FORMAT TabSeparated\n${toTabSeparated(events)}`);
}

const dayOf = (e: CompareEvent) => new Date(e.timestamp * 1000).toISOString().slice(0, 10);
const windowed = (days: number) => {
  const end = reference.getTime() / 1000;
  return events.filter((e) => e.teamId === 1 && e.timestamp >= end - days * DAY_SECONDS && e.timestamp < end);
};
const browserOf = (e: CompareEvent) => (JSON.parse(e.properties) as { $browser?: string }).$browser ?? "";

/** Each query's answer, computed from the events. */
function expected(id: string): Record<string, unknown>[] {
  const group = (xs: CompareEvent[], key: (e: CompareEvent) => string) => {
    const m = new Map<string, CompareEvent[]>();
    for (const e of xs) m.set(key(e), [...(m.get(key(e)) ?? []), e]);
    return m;
  };
  switch (id) {
    case "event_daily_30d":
    case "event_daily_90d":
      return [...group(windowed(id === "event_daily_30d" ? 30 : 90).filter((e) => e.event === "$pageview"), dayOf)].map(([day, xs]) => ({ day, n: xs.length }));
    case "daily_users_90d":
      return [...group(windowed(90), dayOf)].map(([day, xs]) => ({ day, users: new Set(xs.map((e) => e.distinctId)).size }));
    case "browser_breakdown_30d":
      return [...group(windowed(30).filter((e) => e.event === "$pageview"), (e) => `${dayOf(e)}|${browserOf(e)}`)].map(([k, xs]) => ({ day: k.split("|")[0], browser: k.split("|")[1], n: xs.length }));
    case "events_per_type_90d":
      return [...group(windowed(90), (e) => e.event)].map(([event, xs]) => ({ event, n: xs.length }));
  }
  throw new Error(`no expectation for ${id}`);
}

function run(q: CompareQuery): Record<string, unknown>[] {
  const settings = Object.entries(q.clickhouse.settings).map(([k, v]) => `${k} = ${v}`);
  const sql = settings.length > 0 ? `${q.clickhouse.sql} SETTINGS ${settings.join(", ")}` : q.clickhouse.sql;
  return ch().query(sql, "JSONEachRow").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

for (const browser of ["materialized", "json"] as const) {
  describe(`the queries on current ClickHouse, $browser ${browser}`, () => {
    const database = `${CH_DATABASE}_${browser}`;
    before(() => createTable(browser, database));

    test("the load holds every event, the JSON text intact", () => {
      const [row] = run({ clickhouse: { sql: `SELECT count() AS n, countIf(properties LIKE '%\\\\n%') AS escaped FROM ${database}.events`, settings: {} } } as CompareQuery);
      assert.equal(Number(row!.n), events.length);
      assert.equal(Number(row!.escaped), events.filter((e) => e.properties.includes("\\n")).length);
    });

    for (const q of compareQueries({ teamId: 1, event: "$pageview", reference }, { clickhouse: `${database}.events`, postgres: "chstack_compare.events", clickhouseBrowser: clickhouseBrowser(browser), postgresBrowser: "browser", clickhouseUser: DISTINCT_ID_HASH })) {
      test(`${q.title}: the rows computed from the events`, () => {
        const got: Row[] = normalizeRows(run(q), q.columns, "ClickHouse");
        const want: Row[] = normalizeRows(expected(q.id), q.columns, "expected");
        assert.ok(want.length > 5, "a result worth comparing");
        assert.deepEqual(compareRows(want, got), { identical: true, rows: want.length });
      });
    }
  });
}
