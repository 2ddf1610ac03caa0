// The collectors' parsing (srvr, the ClickHouse health rows), schema parity from the planner, the text
// report, and the timeouts: a server that accepts and never answers is reported within its timeout, a
// closed port at once. Local sockets only.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { collectApp } from "../../health/app.ts";
import { Session } from "chdb";
import { collectClickHouse, hasSystemDisks, healthConnection, LOCAL_QUERY, parseClickHouse, ZOOKEEPER_QUERY, type LocalRow } from "../../health/clickhouse.ts";
import { collectHealth } from "../../health/collect.ts";
import { evaluate } from "../../health/evaluate.ts";
import { duration, formatHealth } from "../../health/format.ts";
import { forwardedPort, forwardTargets } from "../../health/port-forward.ts";
import { collectPostgres } from "../../health/postgres.ts";
import { schemaParity } from "../../health/schema.ts";
import { describeError, TimeoutError } from "../../health/util.ts";
import { collectZooKeeper, parseSrvr } from "../../health/zookeeper.ts";
import { parseStackConfig } from "../../infra/config/load.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { kubernetesTarget, loopbackTarget } from "../../infra/model/targets.ts";
import type { ActualTable, HostState } from "../../schema/actual.ts";
import { defineSchema } from "../../schema/declare.ts";
import type { Observed } from "../../schema/plan.ts";
import { posthogSchema, posthogTables } from "../../schema/posthog.ts";
import { stateOf } from "../support/host-state.ts";

const SRVR = `Zookeeper version: 3.8.0-\${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/5.2352/264
Received: 1341
Sent: 1342
Connections: 7
Outstanding: 2
Zxid: 0x110
Mode: standalone
Node count: 256
`;

describe("ZooKeeper srvr", () => {
  test("mode, connections, outstanding requests, version", () => {
    assert.deepEqual(parseSrvr("zk-0", SRVR), { node: "zk-0", reachable: true, mode: "standalone", connections: 7, outstanding: 2, nodeCount: 256, version: "3.8.0", latencyAvgMs: 5.2352 });
  });
  test("a node without quorum answers without a mode; a word off the whitelist says so", () => {
    assert.deepEqual(parseSrvr("zk-1", "This ZooKeeper instance is not currently serving requests\n"), { node: "zk-1", reachable: true, error: "This ZooKeeper instance is not currently serving requests" });
    assert.equal(parseSrvr("zk-1", "srvr is not executed because it is not in the whitelist.\n").error, "srvr is not executed because it is not in the whitelist");
    assert.equal(parseSrvr("zk-1", "").error, "no answer to srvr");
  });
  test("ClickHouse Keeper's srvr", () => {
    const f = parseSrvr("chk-0", "ClickHouse Keeper version: v24.8.1.1-stable\nLatency min/avg/max: 0/0/3\nConnections: 4\nOutstanding: 0\nZxid: 15\nMode: leader\nNode count: 40\n");
    assert.deepEqual([f.mode, f.connections, f.version], ["leader", 4, "v24.8.1.1-stable"]);
  });
});

describe("ClickHouse health rows", () => {
  const local: LocalRow = {
    version: "18.16.1", uptime: 117, zk_sessions: "1", parts: ["3", "5367"],
    table_rows: [["chstack", "schema_ledger", "7"], ["posthog", "sharded_events", "1000"]],
    replicas: [
      ["posthog", "sharded_events", "/clickhouse/tables/0/posthog.sharded_events", "0", "0", "3", "12"],
      ["posthog", "person", "/clickhouse/tables/noshard/posthog.person", "1", "1", "0", "0"],
    ],
    queue_errors: [["posthog", "sharded_events", "2", "Code: 243, e.displayText() = DB::Exception: Cannot reserve 1.00 MiB, not enough space"]],
  };
  const who = { host: "chi-posthog-0-0", shard: 0, replica: 0 };

  test("as facts, with the log lag from ZooKeeper's part", () => {
    const f = parseClickHouse(who, local, [
      { database: "posthog", table: "sharded_events", total_replicas: 2, active_replicas: 1, log_max_index: "41", log_pointer: "40" },
      { database: "posthog", table: "person", total_replicas: 4, active_replicas: 4, log_max_index: "0", log_pointer: "0" },
    ]);
    assert.deepEqual(f, {
      ...who, reachable: true, version: "18.16.1", uptimeSeconds: 117, zookeeperSessions: 1,
      parts: { active: 3, bytesOnDisk: 5367 },
      tableRows: { "chstack.schema_ledger": 7, "posthog.sharded_events": 1000 },
      replicationErrors: [{ table: "posthog.sharded_events", entries: 2, lastException: "Code: 243, e.displayText() = DB::Exception: Cannot reserve 1.00 MiB, not enough space" }],
      replicas: [
        { table: "posthog.sharded_events", zookeeperPath: "/clickhouse/tables/0/posthog.sharded_events", isReadonly: false, isSessionExpired: false, queueSize: 3, absoluteDelay: 12, totalReplicas: 2, activeReplicas: 1, logLag: 2 },
        { table: "posthog.person", zookeeperPath: "/clickhouse/tables/noshard/posthog.person", isReadonly: true, isSessionExpired: true, queueSize: 0, absoluteDelay: 0, totalReplicas: 4, activeReplicas: 4, logLag: 0 },
      ],
    });
  });

  test("without ZooKeeper's part: no replica counts, no log lag", () => {
    const f = parseClickHouse(who, local, undefined);
    assert.equal(f.replicas![0]!.logLag, undefined);
    assert.equal(f.replicas![0]!.totalReplicas, undefined);
  });

  test("system.disks from 19.15", () => {
    assert.deepEqual(["18.16.1", "19.14.3", "19.15.1", "20.1", "25.8.2.1"].map(hasSystemDisks), [false, false, true, true, true]);
  });
});

test("errors in a few words", () => {
  assert.equal(describeError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })), "connection refused");
  assert.equal(describeError(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })), "connection refused");
  assert.equal(describeError(new TimeoutError(2000)), "no answer in 2 s");
  assert.equal(describeError(new TimeoutError(250)), "no answer in 250 ms");
  assert.equal(describeError(new Error("Code: 516, e.displayText() = DB::Exception: admin: Authentication failed, e.what() = DB::Exception")), "Code 516 AUTHENTICATION_FAILED: admin: Authentication failed");
});

test("durations", () => {
  assert.deepEqual([5, 65, 3725, 90_000].map(duration), ["5s", "1m 5s", "1h 2m", "1d 1h"]);
});

// Schema parity on synthetic host states, as the planner's tests build them.
const config = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 2, replicas: 2 } }, "t", { rejectPlaintextSecrets: true });
const t = buildTopology(config, loopbackTarget(config), "t");
const names = t.hosts.map((h) => h.name);


const base = posthogSchema("posthog");
const everywhere = (o: (host: string) => Observed) => new Map(names.map((n) => [n, o(n)]));
const ok = (state: HostState): Observed => ({ ok: true, state });

describe("schema parity", () => {
  test("every host as declared: nothing pending, every table on every host", () => {
    const p = schemaParity(base, t, everywhere(() => ok(stateOf(base))));
    assert.ok(p.hosts.every((h) => h.reachable && h.pending === 0 && h.drift === 0), JSON.stringify(p.hosts));
    assert.deepEqual(p.tables.map((x) => `${x.table} ${x.kind} ${x.hosts.length}`), [
      "posthog.sharded_events local 4", "posthog.person local 4", "posthog.person_distinct_id local 4", "posthog.writable_events distributed 4", "posthog.events distributed 4",
    ]);
    assert.match(p.declarationHash, /^[0-9a-f]{16}$/);
  });

  test("a host lacking a table: it differs, the table lists it as missing; a host down is not introspected", () => {
    const lacking = stateOf(base);
    (lacking.tables as Map<string, ActualTable>).delete("posthog.events");
    const p = schemaParity(base, t, everywhere((h) => (h === names[1] ? ok(lacking) : h === names[3] ? { ok: false, error: "connection refused" } : ok(stateOf(base)))));
    const h1 = p.hosts.find((h) => h.host === names[1])!;
    assert.deepEqual([h1.pending, h1.details], [1, ["create-table posthog.events"]]);
    assert.deepEqual(p.hosts.filter((h) => h.pending > 0).map((h) => h.host), [names[1]]);
    assert.equal(p.hosts.find((h) => h.host === names[3])!.reachable, false);
    const events = p.tables.find((x) => x.table === "posthog.events")!;
    assert.deepEqual([events.missing, events.unknown, events.hosts.length], [[names[1]], [names[3]], 2]);
  });

  test("a new column: the replicated ALTER runs on one replica per shard and is pending on both", () => {
    const decl = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events" ? { ...x, columns: [...x.columns, { name: "extra", type: "String" }] } : x)) });
    const p = schemaParity(decl, t, everywhere(() => ok(stateOf(base))));
    assert.ok(p.hosts.every((h) => h.pending > 0), JSON.stringify(p.hosts));
  });

  test("an undeclared table is drift on its host", () => {
    const extra = stateOf(base);
    (extra.tables as Map<string, ActualTable>).set("posthog.stray", { ...extra.tables.get("posthog.person")!, name: "stray" });
    const p = schemaParity(base, t, everywhere((h) => ok(h === names[2] ? extra : stateOf(base))));
    assert.deepEqual(p.hosts.filter((h) => h.drift > 0).map((h) => [h.host, h.details[0]]), [[names[2], "posthog.stray (ReplicatedReplacingMergeTree) exists on chi-posthog-1-0 but is not declared"]]);
  });
});

describe("timeouts: a server that never answers is reported, not waited for", () => {
  let hung: Server;
  let port = 0;
  const sockets: Socket[] = [];
  before(async () => {
    hung = createServer((s) => sockets.push(s)); // accepts, reads, never answers
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    port = (hung.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => hung.close(r));
  });
  const closedPort = async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const p = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return p;
  };
  const within = async <T>(ms: number, f: () => Promise<T>) => {
    const began = Date.now();
    const v = await f();
    const took = Date.now() - began;
    assert.ok(took < ms, `took ${took} ms`);
    return v;
  };

  test("ClickHouse", async () => {
    const conn = healthConnection({ host: "h", url: `http://127.0.0.1:${port}`, username: "u", password: "p" }, 300);
    const f = await within(2000, () => collectClickHouse(conn, { host: "h", shard: 0, replica: 0 }, { timeoutMs: 300 }));
    await conn.close();
    assert.deepEqual(f, { host: "h", shard: 0, replica: 0, reachable: false, error: "no answer in 300 ms" });
    const refused = healthConnection({ host: "h", url: `http://127.0.0.1:${await closedPort()}`, username: "u", password: "p" }, 300);
    assert.equal((await collectClickHouse(refused, { host: "h", shard: 0, replica: 0 }, { timeoutMs: 300 })).error, "connection refused");
    await refused.close();
  });

  test("ZooKeeper", async () => {
    assert.deepEqual(await within(2000, () => collectZooKeeper("zk-0", { host: "127.0.0.1", port }, 300)), { node: "zk-0", reachable: false, error: "no answer in 300 ms" });
    assert.equal((await collectZooKeeper("zk-0", { host: "127.0.0.1", port: await closedPort() }, 300)).error, "connection refused");
  });

  test("Postgres and the app", async () => {
    const pg = await within(2000, () => collectPostgres({ host: "127.0.0.1", port, user: "u", password: "p", database: "d" }, 300));
    assert.deepEqual([pg.checked, pg.checked && pg.reachable], [true, false]);
    const app = await within(2000, () => collectApp(`http://127.0.0.1:${port}`, 300));
    assert.deepEqual(app, { checked: true, url: `http://127.0.0.1:${port}`, ready: false, error: "no answer in 300 ms" });
  });

  test("the whole stack: servers the state says are down are not contacted; the rest in parallel, each bounded", async () => {
    const hungConfig = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 1, replicas: 2 }, app: {} }, "t", { rejectPlaintextSecrets: true });
    const ht = buildTopology(hungConfig, loopbackTarget(hungConfig), "t");
    // Every member's address points at the hung server.
    const facts = await within(2500, () => collectHealth(ht, {
      clickhouse: { username: "u", password: "p" }, timeoutMs: 400, declaration: base,
      down: new Map([["chi-posthog-0-1", "not running"]]),
      address: () => ({ host: "127.0.0.1", port }),
      postgres: (a, ms) => collectPostgres({ ...a, user: "u", password: "p", database: "d" }, ms),
    }));
    assert.deepEqual(facts.clickhouse.map((h) => h.error), ["no answer in 400 ms", "not running"]);
    assert.deepEqual(facts.zookeeper.map((z) => z.error), ["no answer in 400 ms"]);
    assert.equal(facts.app.checked && facts.app.error, "no answer in 400 ms");
    assert.deepEqual(facts.schema?.hosts.map((h) => h.reachable), [false, false]);
    const r = evaluate(facts);
    assert.equal(r.verdict, "down");
    const text = formatHealth(r);
    assert.match(text, /^chi-posthog-0-0 +down .* no answer in 400 ms$/m);
    assert.match(text, /^chi-posthog-0-1 +down .* not running$/m);
    assert.match(text, /^health: down: ClickHouse: no host answers \(2 of 2 down\); ZooKeeper: all 1 node\(s\) down \[exit 4, \d+ ms\]$/m);
  });
});

describe("kubectl port-forward", () => {
  test("one forward per member: ClickHouse and ZooKeeper pods, the Postgres and app Services, on their cluster ports", () => {
    const c = parseStackConfig({ clickhouse: { cluster: "my_events", shards: 1, replicas: 2 }, coordination: { size: 3 }, app: {} }, "t", { rejectPlaintextSecrets: true });
    const kt = buildTopology(c, kubernetesTarget(c), "t");
    assert.deepEqual(forwardTargets(kt, { postgres: true, app: true }).map((f) => `${f.kind} ${f.name} ${f.resource} :${f.port}`), [
      "clickhouse chi-my-events-0-0 pod/chi-my-events-0-0-0 :8123", "clickhouse chi-my-events-0-1 pod/chi-my-events-0-1-0 :8123",
      "zookeeper zk-my-events-0 pod/zk-my-events-0 :2181", "zookeeper zk-my-events-1 pod/zk-my-events-1 :2181", "zookeeper zk-my-events-2 pod/zk-my-events-2 :2181",
      "postgres postgres service/pg-my-events :5432", "app app-my-events service/app-my-events :8000",
    ]);
    assert.equal(forwardTargets(kt, { postgres: false, app: false }).length, 5);
  });
  test("the local port kubectl picked", () => {
    assert.equal(forwardedPort("Forwarding from 127.0.0.1:41234 -> 8123\nForwarding from [::1]:41234 -> 8123\n"), 41234);
    assert.equal(forwardedPort("error: unable to forward"), undefined);
  });
});

describe("the ClickHouse health queries on current ClickHouse (chdb)", () => {
  test("LOCAL_QUERY and ZOOKEEPER_QUERY run, and their answer parses as facts", () => {
    const session = new Session();
    try {
      const [local] = session.query(`${LOCAL_QUERY} FORMAT JSONEachRow`).trim().split("\n").map((l) => JSON.parse(l) as LocalRow);
      const zk = session.query(`${ZOOKEEPER_QUERY} FORMAT JSONEachRow`).trim();
      const f = parseClickHouse({ host: "chdb", shard: 0, replica: 0 }, local!, zk ? zk.split("\n").map((l) => JSON.parse(l)) : []);
      assert.match(f.version!, /^\d+\.\d+/);
      assert.deepEqual([f.replicas, f.replicationErrors], [[], []], "no replicated table, no failing entry");
      assert.equal(typeof f.parts!.active, "number");
    } finally {
      session.cleanup();
    }
  });
});
