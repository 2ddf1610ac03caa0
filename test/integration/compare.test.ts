// `chstack compare` on a real 2x2 loopback stack (ClickHouse 18.16, ZooKeeper, Postgres 15), through the
// command line as a user runs it: refused while the stack is down; 20,000 events loaded into both databases
// return identical rows for every query, and the JSON says so; a rerun reuses the load; one row deleted from
// Postgres behind compare's back makes it exit 1 naming the query and the row; --reload repairs it; the
// other $browser design agrees too; Ctrl-C during a load leaves nothing reused; --clean drops compare's own
// tables and nothing else.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CompareResult } from "../../compare/run.ts";
import { postgresClient } from "../../infra/loopback/servers.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { rows, runChstack, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-compare", 32300);
const EVENTS = 20_000;

async function pg<T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
  const c = postgresClient(stack.topology, goldenSecrets(), "app");
  await c.connect();
  try {
    return (await c.query(sql, values)).rows as T[];
  } finally {
    await c.end();
  }
}

async function onHost<T>(i: number, sql: string): Promise<T[]> {
  const c = stack.client(i, "admin");
  try {
    return await rows<T>(c, sql);
  } finally {
    await c.close();
  }
}

const parse = (stdout: string) => JSON.parse(stdout) as CompareResult;

describe("chstack compare on a 2x2 stack", () => {
  after(() => stack.destroy());

  test("refuses while the stack is not running, naming the command that starts it", async () => {
    const r = await stack.chstack("compare", "--events", "100");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stack it-compare is not running: start it with `\.\/chstack up --stack it-compare` first/);
  });

  test("a bad command line exits 64", async () => {
    assert.equal((await stack.chstack("compare")).code, 64, "--events is required");
    assert.equal((await stack.chstack("compare", "--events", "ten")).code, 64);
    assert.equal((await stack.chstack("compare", "--events", "10", "--reference", "2025-02-30")).code, 64);
  });

  describe("with the stack up", () => {
    let first: CompareResult;

    before(async () => {
      const r = await stack.chstack("up");
      assert.equal(r.code, 0, `up failed:\n${r.stdout}\n${r.stderr}`);
    });

    test("loads 20,000 events into both and every query returns the same rows", async () => {
      const r = await stack.chstack("compare", "--events", String(EVENTS), "--json");
      assert.equal(r.code, 0, `compare failed:\n${r.stdout}\n${r.stderr}`);
      first = parse(r.stdout);
      assert.equal(first.identical, true);
      assert.equal(first.events, EVENTS);
      assert.equal(first.load.reused, false);
      assert.deepEqual(first.queries.map((q) => q.id), ["event_daily_30d", "event_daily_90d", "daily_users_90d", "browser_breakdown_30d", "events_per_type_90d"]);
      for (const q of first.queries) {
        assert.equal(q.identical, true, q.difference);
        assert.ok(q.rows.postgres > 0 && q.rows.postgres === q.rows.clickhouse, `${q.id}: ${JSON.stringify(q.rows)}`);
        assert.equal(q.postgresMs.runs.length, 5);
        assert.equal(q.clickhouseMs.runs.length, 5);
        assert.ok(q.postgresMs.median > 0 && q.clickhouseMs.median > 0 && q.ratio > 0);
      }
      assert.equal(first.queries[0]!.rows.postgres, 30, "30 days");
      assert.equal(first.queries[1]!.rows.postgres, 90, "90 days");
      assert.deepEqual(first.cluster, { name: "posthog", shards: 2, replicas: 2 });
      assert.match(first.versions.clickhouse, /^18\.16/);
      assert.match(first.versions.postgres, /^15\./);
      // Progress went to stderr, the JSON alone to stdout.
      assert.match(r.stderr, /clickhouse: insert through chstack_compare\.writable_events \(RowBinary\): 20,000 \/ 20,000 rows \(100%\)/);
      assert.match(r.stderr, /postgres: COPY into chstack_compare\.events: 20,000 \/ 20,000 rows \(100%\)/);
    });

    test("storage: Postgres table and indexes; ClickHouse over every host, counting both replicas of each shard", async () => {
      const s = first.storage;
      assert.ok(s.postgres.bytes > 0 && s.postgres.bytes === s.postgres.tableBytes + s.postgres.indexBytes);
      assert.deepEqual(Object.keys(s.postgres.indexes).sort(), ["events_pkey", "events_team_event_ts", "events_team_ts"]);
      assert.equal(s.clickhouse.hosts.length, 4);
      assert.equal(s.clickhouse.countsReplicas, true);
      assert.equal(s.clickhouse.bytesAllHosts, s.clickhouse.hosts.reduce((a, h) => a + h.bytes, 0));
      // Each shard's replicas hold the same rows; the shards together hold every event once.
      for (const shard of [0, 1]) {
        const [a, b] = s.clickhouse.hosts.filter((h) => h.shard === shard);
        assert.equal(a!.rows, b!.rows);
      }
      assert.equal(s.clickhouse.hosts.filter((h) => h.replica === 0).reduce((n, h) => n + h.rows, 0), EVENTS);
      // OPTIMIZE ... FINAL after the load: one part per month (March to May) on every replica.
      assert.deepEqual(s.clickhouse.hosts.map((h) => h.parts), [3, 3, 3, 3]);
      assert.ok(first.load.clickhouse!.optimizeMs > 0);
    });

    test("both databases hold the same events, field by field (uuids included: RowBinary's byte order)", async () => {
      const sample = await pg<{ uuid: string; event: string; ts: string; team_id: string; distinct_id: string; browser: string }>(
        "SELECT uuid::text AS uuid, event, extract(epoch FROM timestamp)::bigint::text AS ts, team_id::text, distinct_id, browser FROM chstack_compare.events ORDER BY uuid LIMIT 20");
      const list = sample.map((r) => `'${r.uuid}'`).join(", ");
      const fromCh = await onHost<{ uuid: string; event: string; ts: string; team_id: string; distinct_id: string; browser: string }>(2,
        `SELECT toString(uuid) AS uuid, event, toString(toUInt32(timestamp)) AS ts, toString(team_id) AS team_id, distinct_id, \`mat_$browser\` AS browser FROM chstack_compare.events WHERE toString(uuid) IN (${list})`);
      const byUuid = new Map(fromCh.map((r) => [r.uuid, r]));
      for (const r of sample) assert.deepEqual(byUuid.get(r.uuid), r);
      for (let i = 0; i < 4; i++) {
        const [n] = await onHost<{ n: string }>(i, "SELECT count() AS n FROM chstack_compare.events");
        assert.equal(Number(n!.n), EVENTS, `through host ${i}`);
      }
    });

    test("the stack's own tables are untouched", async () => {
      const [n] = await onHost<{ n: string }>(0, "SELECT count() AS n FROM system.tables WHERE database = 'posthog'");
      assert.ok(Number(n!.n) >= 3, "posthog.* is still there");
      const [e] = await onHost<{ n: string }>(0, "SELECT count() AS n FROM posthog.events");
      assert.equal(Number(e!.n), 0);
    });

    test("a rerun with the same events reuses the load", async () => {
      const r = await stack.chstack("compare", "--events", String(EVENTS), "--json");
      assert.equal(r.code, 0, r.stderr);
      const again = parse(r.stdout);
      assert.equal(again.load.reused, true);
      assert.match(again.load.reason, /reused: the same 20000 events \(seed 1, reference 2025-06-01\)/);
      assert.equal(again.identical, true);
      assert.deepEqual(again.queries.map((q) => q.rows), first.queries.map((q) => q.rows));
    });

    test("one Postgres row deleted behind its back: exit 1, naming the query and the first differing row", async () => {
      const [victim] = await pg<{ uuid: string }>(
        "SELECT uuid::text AS uuid FROM chstack_compare.events WHERE team_id = 1 AND event = '$pageview' AND timestamp >= '2025-05-20T00:00:00Z' AND timestamp < '2025-05-21T00:00:00Z' ORDER BY uuid LIMIT 1");
      assert.ok(victim);
      await pg("DELETE FROM chstack_compare.events WHERE uuid = $1", [victim.uuid]);
      const r = await stack.chstack("compare", "--events", String(EVENTS));
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /reused: the same 20000 events/);
      assert.match(r.stderr, /error: the databases returned different results: daily \$pageview count, 30 days: results differ at row 19 \(sorted; Postgres returned 30 rows, ClickHouse 30\): Postgres \("2025-05-20", "(\d+)"\), ClickHouse \("2025-05-20", "(\d+)"\)/);
      const m = /Postgres \("2025-05-20", "(\d+)"\), ClickHouse \("2025-05-20", "(\d+)"\)/.exec(r.stderr)!;
      assert.equal(Number(m[1]) + 1, Number(m[2]), "Postgres counts the deleted row less");
      assert.match(r.stdout, /daily \$pageview count, 30 days\s+30\s+\S+\s+\S+\s+\S+\s+NO/);
      assert.match(r.stdout, /daily unique users, 90 days\s+90\s+\S+\s+\S+\s+\S+\s+(yes|NO)/);
    });

    test("--reload loads both afresh and they agree again", async () => {
      const r = await stack.chstack("compare", "--events", String(EVENTS), "--reload", "--json");
      assert.equal(r.code, 0, r.stderr);
      const fresh = parse(r.stdout);
      assert.equal(fresh.load.reused, false);
      assert.equal(fresh.load.reason, "loading 20000 events (seed 1, reference 2025-06-01): --reload");
      assert.equal(fresh.identical, true);
    });

    test("--browser json: the breakdown reads the JSON properties on both sides, with the same rows", async () => {
      const r = await stack.chstack("compare", "--events", String(EVENTS), "--browser", "json", "--runs", "1", "--json");
      assert.equal(r.code, 0, r.stderr);
      const j = parse(r.stdout);
      assert.equal(j.load.reused, false, "another table design is another load");
      assert.equal(j.design.browser, "json");
      assert.equal(j.identical, true);
      const breakdown = j.queries.find((q) => q.id === "browser_breakdown_30d")!;
      assert.match(breakdown.sql.clickhouse, /visitParamExtractString\(properties, '\$browser'\)/);
      assert.match(breakdown.sql.postgres, /coalesce\(properties ->> '\$browser', ''\)/);
      assert.deepEqual(breakdown.rows, first.queries.find((q) => q.id === "browser_breakdown_30d")!.rows);
    });

    test("Ctrl-C in the middle of a load leaves nothing that the next run would reuse", async () => {
      let sent = false;
      const r = await runChstack(stack.cwd, ["compare", "--events", "2000000", "--stack", stack.name], (soFar, child) => {
        if (!sent && /clickhouse: chstack_compare\.events and its tables created/.test(soFar)) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      assert.ok(sent, r.stdout);
      assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /interrupted: nothing half-loaded is ever reused/);
      const again = await stack.chstack("compare", "--events", String(EVENTS), "--runs", "1", "--json");
      assert.equal(again.code, 0, again.stderr);
      const j = parse(again.stdout);
      assert.equal(j.load.reused, false);
      assert.equal(j.load.reason, "loading 20000 events (seed 1, reference 2025-06-01): no complete load in place");
      assert.equal(j.identical, true);
    });

    test("--clean drops compare's tables from both databases, and only them", async () => {
      const r = await stack.chstack("compare", "--clean");
      assert.equal(r.code, 0, r.stderr);
      const [schema] = await pg<{ n: string }>("SELECT count(*)::text AS n FROM information_schema.schemata WHERE schema_name = 'chstack_compare'");
      assert.equal(schema!.n, "0");
      for (let i = 0; i < 4; i++) {
        const [db] = await onHost<{ n: string }>(i, "SELECT count() AS n FROM system.databases WHERE name = 'chstack_compare'");
        assert.equal(Number(db!.n), 0);
        const [ph] = await onHost<{ n: string }>(i, "SELECT count() AS n FROM system.tables WHERE database = 'posthog'");
        assert.ok(Number(ph!.n) >= 3);
      }
      const [zk] = await onHost<{ n: string }>(0, "SELECT count() AS n FROM system.zookeeper WHERE path = '/clickhouse/tables/0' AND name = 'chstack_compare.sharded_events'");
      assert.equal(Number(zk!.n), 0, "the replicated table's ZooKeeper path went with its last replica");
    });
  });
});
