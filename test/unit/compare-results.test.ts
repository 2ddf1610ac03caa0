// Normalising and comparing result sets (compare/results.ts), the formatting of the result, and progress.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatResult, table } from "../../compare/format.ts";
import { formatProgress, progress } from "../../compare/progress.ts";
import { compareRows, describeDifference, median, normalizeRows, normalizeValue } from "../../compare/results.ts";
import type { CompareResult } from "../../compare/run.ts";
import type { ResultColumn } from "../../compare/sql.ts";

const daily: ResultColumn[] = [{ name: "day", kind: "date" }, { name: "n", kind: "int" }];

describe("normalising values", () => {
  test("integers from either driver become the same decimal string", () => {
    assert.equal(normalizeValue("00123", "int", "x"), "123", "ClickHouse quotes 64-bit integers in JSON");
    assert.equal(normalizeValue(123, "int", "x"), "123");
    assert.equal(normalizeValue(123n, "int", "x"), "123");
    assert.equal(normalizeValue("18446744073709551615", "int", "x"), "18446744073709551615", "beyond 2^53, exact");
    assert.equal(normalizeValue("-5", "int", "x"), "-5");
  });

  test("refuses what is not of the column's kind, naming where", () => {
    assert.throws(() => normalizeValue(1.5, "int", "Postgres row 3, column n"), /Postgres row 3, column n: expected an integer, got number 1.5/);
    assert.throws(() => normalizeValue("12a", "int", "x"), /expected an integer/);
    assert.throws(() => normalizeValue(new Date("2025-01-01"), "date", "x"), /expected a day/);
    assert.throws(() => normalizeValue("2025-1-1", "date", "x"), /expected a day/);
    assert.throws(() => normalizeValue(5, "text", "x"), /expected text/);
    assert.equal(normalizeValue(null, "text", "x"), null);
  });

  test("rows become sorted arrays (by each column's kind: integers numerically)", () => {
    const rows = normalizeRows([{ day: "2025-05-03", n: "9" }, { day: "2025-05-01", n: 10 }, { day: "2025-05-02", n: "100" }], daily, "ClickHouse");
    assert.deepEqual(rows, [["2025-05-01", "10"], ["2025-05-02", "100"], ["2025-05-03", "9"]]);
    const byCount = normalizeRows([{ event: "b", n: "9" }, { event: "a", n: "10" }, { event: "a", n: "9" }], [{ name: "n", kind: "int" }, { name: "event", kind: "text" }], "x");
    assert.deepEqual(byCount, [["9", "a"], ["9", "b"], ["10", "a"]]);
  });

  test("a missing or unexpected column is an error", () => {
    assert.throws(() => normalizeRows([{ day: "2025-05-01" }], daily, "Postgres"), /Postgres row 0: no column n/);
    assert.throws(() => normalizeRows([{ day: "2025-05-01", n: 1, extra: 2 }], daily, "Postgres"), /unexpected column\(s\) extra/);
  });
});

describe("comparing result sets", () => {
  const pg = normalizeRows([{ day: "2025-05-01", n: "10" }, { day: "2025-05-02", n: "20" }], daily, "Postgres");

  test("the same rows in another order and other types are identical", () => {
    const ch = normalizeRows([{ day: "2025-05-02", n: 20 }, { day: "2025-05-01", n: "10" }], daily, "ClickHouse");
    assert.deepEqual(compareRows(pg, ch), { identical: true, rows: 2 });
  });

  test("a differing count names the first differing row, both sides", () => {
    const ch = normalizeRows([{ day: "2025-05-01", n: "10" }, { day: "2025-05-02", n: "21" }], daily, "ClickHouse");
    const c = compareRows(pg, ch);
    assert.deepEqual(c, { identical: false, index: 1, postgres: ["2025-05-02", "20"], clickhouse: ["2025-05-02", "21"], postgresRows: 2, clickhouseRows: 2 });
    assert.equal(describeDifference("daily $pageview count, 30 days", c),
      'daily $pageview count, 30 days: results differ at row 2 (sorted; Postgres returned 2 rows, ClickHouse 2): Postgres ("2025-05-02", "20"), ClickHouse ("2025-05-02", "21")');
  });

  test("a missing row is a difference, with (no row) on the short side", () => {
    const c = compareRows(pg, pg.slice(0, 1));
    assert.equal(c.identical, false);
    assert.match(describeDifference("q", c), /row 2 .*Postgres returned 2 rows, ClickHouse 1\): Postgres \("2025-05-02", "20"\), ClickHouse \(no row\)/);
    assert.equal(compareRows([], []).identical, true);
  });

  test("NULL is not the empty string", () => {
    const cols: ResultColumn[] = [{ name: "browser", kind: "text" }];
    assert.equal(compareRows(normalizeRows([{ browser: null }], cols, "p"), normalizeRows([{ browser: "" }], cols, "c")).identical, false);
  });

  test("median", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]));
  });
});

describe("output", () => {
  test("table pads columns: the first to the left, the others to the right", () => {
    assert.equal(table([["a", "b"], ["long", "1"]]), "a     b\nlong  1");
  });

  test("progress lines: in place on a terminal, every few seconds otherwise", () => {
    assert.equal(formatProgress("postgres: COPY", 1_200_000, 10_000_000, 3000), "postgres: COPY: 1,200,000 / 10,000,000 rows (12%), 400,000 rows/s");
    let clock = 0;
    const tty: string[] = [];
    const p = progress("ch", 100, { write: (s) => tty.push(s), isTTY: true }, { now: () => clock, intervalMs: 200 });
    clock = 100;
    p.add(10);
    clock = 300;
    p.add(10);
    clock = 1000;
    p.add(80);
    p.finish();
    assert.deepEqual(tty, ["\rch: 20 / 100 rows (20%), 67 rows/s\x1b[K", "\rch: 100 / 100 rows (100%), 100 rows/s\x1b[K", "\rch: 100 / 100 rows (100%), 100 rows/s\x1b[K\n"]);
    const log: string[] = [];
    clock = 0;
    const q = progress("pg", 10, { write: (s) => log.push(s) }, { now: () => clock });
    clock = 4000;
    q.add(5);
    clock = 6000;
    q.add(5);
    q.finish();
    assert.deepEqual(log, ["pg: 10 / 10 rows (100%), 2 rows/s\n", "pg: 10 / 10 rows (100%), 2 rows/s\n"], "nothing before 5 s, then a line, then the final one");
  });

  test("the result table names every query with both timings and the ratio, and says what storage counts", () => {
    const q = (title: string, pgMs: number, chMs: number, identical = true) => ({
      id: title, title, identical, rows: { postgres: 30, clickhouse: 30 }, postgresMs: { median: pgMs, runs: [pgMs] }, clickhouseMs: { median: chMs, runs: [chMs] }, ratio: pgMs / chMs,
      sql: { clickhouse: "", postgres: "", postgresValues: [] }, ...(identical ? {} : { difference: `${title}: results differ at row 1` }),
    });
    const r: CompareResult = {
      stack: "dev", cluster: { name: "posthog", shards: 2, replicas: 2 }, versions: { clickhouse: "18.16.1", postgres: "15.18" },
      events: 1_000_000, seed: 1, reference: "2025-06-01", team: 1, event: "$pageview",
      design: { browser: "materialized", clickhouseTable: "chstack_compare.events", postgresTable: "chstack_compare.events" },
      load: { reused: true, reason: "reused: the same 1000000 events", loadedAt: "2025-01-01T00:00:00.000Z" },
      timing: { warmups: 1, runs: 5, statistic: "median" },
      queries: [q("daily $pageview count, 30 days", 650, 20), q("events per type, 90 days", 2000, 50, false)], identical: false,
      storage: {
        postgres: { bytes: 700 * 2 ** 20, tableBytes: 500 * 2 ** 20, indexBytes: 200 * 2 ** 20, indexes: { events_pkey: 30 * 2 ** 20 } },
        clickhouse: { bytesAllHosts: 200 * 2 ** 20, bytesOneCopy: 100 * 2 ** 20, replicas: 2, countsReplicas: true, hosts: [] },
      },
    };
    const text = formatResult(r);
    assert.match(text, /daily \$pageview count, 30 days\s+30\s+650\s+20.0\s+33x\s+yes/);
    assert.match(text, /events per type, 90 days\s+30\s+2000\s+50.0\s+40x\s+NO/);
    assert.match(text, /Postgres\s+700.0 MiB\s+pg_total_relation_size/);
    assert.match(text, /counts each of the 2 replicas' copies/);
    assert.match(text, /ClickHouse, one copy\s+100.0 MiB/);
    assert.match(text, /DIFFERENT: events per type, 90 days: results differ at row 1/);
  });
});
