// The health rules (health/evaluate.ts) on synthetic facts: a healthy 2x2 stack, then each rule broken on
// its own, each with its verdict, exit code and a reason naming what is wrong.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyBlockers, bytes, evaluate, replicaGroupRows } from "../../health/evaluate.ts";
import { DEFAULT_THRESHOLDS, type ClickHouseFacts, type HealthFacts, type ReplicaFacts, type ZooKeeperFacts } from "../../health/facts.ts";

const HOSTS = [[0, 0], [0, 1], [1, 0], [1, 1]] as const;
const name = (s: number, r: number) => `chi-posthog-${s}-${r}`;

function replica(table: string, path: string, over: Partial<ReplicaFacts> = {}): ReplicaFacts {
  return { table, zookeeperPath: path, isReadonly: false, isSessionExpired: false, queueSize: 0, absoluteDelay: 0, totalReplicas: 2, activeReplicas: 2, logLag: 0, ...over };
}

function host(s: number, r: number, over: Partial<ClickHouseFacts> = {}): ClickHouseFacts {
  return {
    host: name(s, r), shard: s, replica: r, reachable: true, version: "18.16.1", uptimeSeconds: 600, zookeeperSessions: 1,
    replicas: [
      replica("posthog.sharded_events", `/clickhouse/tables/${s}/posthog.sharded_events`),
      replica("posthog.person", "/clickhouse/tables/noshard/posthog.person", { totalReplicas: 4, activeReplicas: 4 }),
    ],
    parts: { active: 3, bytesOnDisk: 4096 },
    tableRows: { "posthog.sharded_events": 100 * (s + 1), "posthog.person": 7, "chstack.schema_ledger": 12 },
    disk: { free: 50 * 2 ** 30, total: 100 * 2 ** 30, source: "statfs" },
    ...over,
  };
}

const zk = (node: string, over: Partial<ZooKeeperFacts> = {}): ZooKeeperFacts =>
  ({ node, reachable: true, mode: "standalone", connections: 5, outstanding: 0, version: "3.8.0", ...over });

function healthy(): HealthFacts {
  return {
    cluster: "posthog", coordination: "zookeeper",
    clickhouse: HOSTS.map(([s, r]) => host(s, r)),
    zookeeper: [zk("zk-posthog-0")],
    postgres: { checked: true, reachable: true, version: "PostgreSQL 15.10 on x86_64" },
    app: { checked: true, url: "http://127.0.0.1:19016", ready: true },
    schema: {
      declarationHash: "f1cf72e9d3ba4dea",
      hosts: HOSTS.map(([s, r]) => ({ host: name(s, r), reachable: true, pending: 0, drift: 0, details: [] })),
      tables: [{ table: "posthog.sharded_events", kind: "local", hosts: HOSTS.map(([s, r]) => name(s, r)), missing: [], unknown: [] }],
    },
    collectedAt: "2026-01-01T00:00:00.000Z", elapsedMs: 40,
  };
}

/** The healthy facts with one ClickHouse host changed. */
function withHost(s: number, r: number, over: Partial<ClickHouseFacts>): HealthFacts {
  const f = healthy();
  return { ...f, clickhouse: f.clickhouse.map((h) => (h.shard === s && h.replica === r ? { ...h, ...over } : h)) };
}

function withReplica(s: number, r: number, over: Partial<ReplicaFacts>): HealthFacts {
  const h = host(s, r);
  return withHost(s, r, { replicas: h.replicas!.map((x, i) => (i === 0 ? { ...x, ...over } : x)) });
}

function degraded(f: HealthFacts, reason: RegExp, check: string) {
  const r = evaluate(f);
  assert.equal(r.verdict, "degraded", r.summary);
  assert.equal(r.exitCode, 3);
  assert.ok(r.reasons.some((x) => reason.test(x)), `${reason} in ${JSON.stringify(r.reasons)}`);
  assert.match(r.summary, /^degraded: /);
  assert.ok(r.checks.some((c) => c.id === check && c.status !== "ok" && c.status !== "skip" && reason.test(c.reason)), `${check} is not ok`);
  return r;
}

describe("health verdict", () => {
  test("healthy: every check ok, exit 0, a summary naming what was checked", () => {
    const r = evaluate(healthy());
    assert.equal(r.verdict, "healthy");
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.reasons, []);
    assert.ok(r.checks.every((c) => c.status === "ok"), JSON.stringify(r.checks.filter((c) => c.status !== "ok")));
    assert.equal(r.summary, "healthy: 4 ClickHouse host(s) up, ZooKeeper standalone, Postgres up, app ready, schema f1cf72e9d3ba4dea on every host");
    assert.deepEqual(r.thresholds, DEFAULT_THRESHOLDS);
  });

  test("a ClickHouse host down: degraded, the host named with why", () => {
    const r = degraded(withHost(0, 1, { reachable: false, error: "connection refused", replicas: undefined }), /^chi-posthog-0-1: down \(connection refused\)$/, "clickhouse.up");
    assert.equal(r.summary, "degraded: chi-posthog-0-1: down (connection refused)");
  });

  test("no ClickHouse host answers: down, exit 4", () => {
    const f = healthy();
    const r = evaluate({ ...f, clickhouse: f.clickhouse.map((h) => ({ host: h.host, shard: h.shard, replica: h.replica, reachable: false, error: "not running" })) });
    assert.equal(r.verdict, "down");
    assert.equal(r.exitCode, 4);
    assert.equal(r.reasons[0], "ClickHouse: no host answers (4 of 4 down)");
    assert.match(r.summary, /^down: ClickHouse: no host answers/);
  });

  test("a disk that refuses writes: degraded, the host and the error named", () => {
    degraded(withHost(1, 1, { disk: { free: 2 ** 30, total: 2 ** 31, source: "statfs", writeError: "EROFS: read-only file system" } }),
      /^chi-posthog-1-1: data disk not writable \(EROFS: read-only file system\)$/, "clickhouse.disk");
  });

  test("replication entries that keep failing: degraded, the table, the count and the server's error named", () => {
    const long = `Code: 243, e.displayText() = DB::Exception: Cannot reserve 1.00 MiB, not enough space ${"x".repeat(200)}`;
    const r = degraded(withHost(1, 1, { replicationErrors: [{ table: "posthog.sharded_events", entries: 3, lastException: long }] }),
      /^chi-posthog-1-1: replication failing on posthog\.sharded_events \(3 entries\): Code: 243, .*Cannot reserve 1\.00 MiB, not enough space x+\.\.\.$/, "clickhouse.replication");
    assert.ok(r.reasons[0]!.length < 260, "the exception is clipped to one short line");
  });

  test("a read-only replica: degraded", () => {
    degraded(withReplica(1, 0, { isReadonly: true }), /^chi-posthog-1-0: read-only replica of posthog\.sharded_events$/, "clickhouse.readonly");
  });

  test("an expired ZooKeeper session, or none at all while holding replicated tables: degraded", () => {
    degraded(withReplica(1, 1, { isSessionExpired: true }), /^chi-posthog-1-1: ZooKeeper session expired \(posthog\.sharded_events\)$/, "clickhouse.zookeeper-session");
    degraded(withHost(1, 1, { zookeeperSessions: 0 }), /^chi-posthog-1-1: no ZooKeeper session/, "clickhouse.zookeeper-session");
    // No replicated table: no session is needed.
    assert.equal(evaluate(withHost(1, 1, { zookeeperSessions: 0, replicas: [] })).verdict, "healthy");
  });

  test("a replication queue above the threshold: degraded; at it: healthy", () => {
    degraded(withReplica(0, 0, { queueSize: 101 }), /^chi-posthog-0-0: replication queue of posthog\.sharded_events holds 101 entries \(more than 100\)$/, "clickhouse.queue");
    assert.equal(evaluate(withReplica(0, 0, { queueSize: 100, logLag: 0 })).verdict, "healthy");
  });

  test("a replica behind by more than the threshold: degraded", () => {
    degraded(withReplica(0, 0, { absoluteDelay: 301 }), /^chi-posthog-0-0: posthog\.sharded_events is 301 s behind \(more than 300 s\)$/, "clickhouse.delay");
    assert.equal(evaluate(withReplica(0, 0, { absoluteDelay: 300 })).verdict, "healthy");
  });

  test("thresholds are the caller's", () => {
    const f = withReplica(0, 0, { queueSize: 6 });
    assert.equal(evaluate(f).verdict, "healthy");
    assert.equal(evaluate(f, { ...DEFAULT_THRESHOLDS, maxQueue: 5 }).verdict, "degraded");
  });

  test("a disk nearly full: degraded; an unknown one is not checked", () => {
    degraded(withHost(0, 0, { disk: { free: 5 * 2 ** 30, total: 100 * 2 ** 30, source: "statfs" } }), /^chi-posthog-0-0: disk nearly full: 5\.0 GiB free of 100 GiB \(5%\)$/, "clickhouse.disk");
    const r = evaluate(withHost(0, 0, { disk: undefined }));
    assert.equal(r.verdict, "healthy");
    assert.equal(r.checks.find((c) => c.id === "clickhouse.disk" && c.subject === "chi-posthog-0-0")!.status, "skip");
  });

  test("a host whose schema differs from the declaration: degraded, with the first difference", () => {
    const f = healthy();
    const schema = { ...f.schema!, hosts: f.schema!.hosts.map((h) => (h.host === "chi-posthog-1-1" ? { ...h, pending: 2, drift: 1, details: ["create-table posthog.events"] } : h)) };
    degraded({ ...f, schema }, /^chi-posthog-1-1: schema differs from declaration f1cf72e9d3ba4dea: 2 statement\(s\) pending, 1 drift \(create-table posthog\.events\)$/, "clickhouse.schema");
    degraded({ ...f, schema: { ...f.schema!, error: "bad declaration" } }, /^schema: not compared with the declaration \(bad declaration\)$/, "schema.plan");
    // Not checked (the schema Job, which applies next): no check either way.
    const { schema: _, ...unchecked } = f;
    const r = evaluate(unchecked);
    assert.equal(r.verdict, "healthy");
    assert.ok(r.checks.filter((c) => c.id === "clickhouse.schema").every((c) => c.status === "skip"));
  });

  test("replicas of a shard disagreeing on rows with nothing queued: degraded; with rows still queued or unread: not", () => {
    const rows = (n: number) => ({ tableRows: { "posthog.sharded_events": n, "posthog.person": 7 } });
    degraded(withHost(0, 1, rows(90)), /^posthog\.sharded_events shard 0: replicas disagree on rows with nothing queued \(chi-posthog-0-0 100, chi-posthog-0-1 90\)$/, "rows.replicas");
    const queued = withHost(0, 1, { ...rows(90), replicas: host(0, 1).replicas!.map((x, i) => (i === 0 ? { ...x, queueSize: 1 } : x)) });
    assert.equal(evaluate(queued).verdict, "healthy");
    const unread = withHost(0, 1, { ...rows(90), replicas: host(0, 1).replicas!.map((x, i) => (i === 0 ? { ...x, logLag: 2 } : x)) });
    assert.equal(evaluate(unread).verdict, "healthy");
    const unknown = withHost(0, 1, { ...rows(90), replicas: host(0, 1).replicas!.map((x, i) => (i === 0 ? { ...x, logLag: undefined } : x)) });
    assert.equal(evaluate(unknown).verdict, "healthy", "an unknown log position excuses it");
    // Shards differ from each other by design.
    assert.equal(evaluate(healthy()).rows.find((g) => g.shard === 1)!.replicas[0]!.rows, 200);
  });

  test("Postgres down: degraded; not checked: no check", () => {
    degraded({ ...healthy(), postgres: { checked: true, reachable: false, error: "connection refused" } }, /^postgres: down \(connection refused\)$/, "postgres.up");
    const r = evaluate({ ...healthy(), postgres: { checked: false } });
    assert.equal(r.verdict, "healthy");
    assert.ok(!r.checks.some((c) => c.id === "postgres.up"));
  });

  test("the app not ready: degraded", () => {
    degraded({ ...healthy(), app: { checked: true, url: "http://a", ready: false, status: 503 } }, /^app: not ready \(\/readyz answered 503\)$/, "app.ready");
    degraded({ ...healthy(), app: { checked: true, url: "http://a", ready: false, error: "no answer in 2 s" } }, /^app: not ready \(no answer in 2 s\)$/, "app.ready");
  });

  test("ZooKeeper: one node of three down is degraded; two, or all, is down; a node without quorum does not count", () => {
    const ensemble = (...nodes: ZooKeeperFacts[]) => ({ ...healthy(), zookeeper: nodes });
    const f = ensemble(zk("zk-0", { mode: "leader" }), zk("zk-1", { mode: "follower" }), zk("zk-2", { reachable: false, mode: undefined, error: "connection refused" }));
    degraded(f, /^zk-2: down \(connection refused\)$/, "zookeeper.node");
    const two = evaluate(ensemble(zk("zk-0", { mode: undefined, error: "This ZooKeeper instance is not currently serving requests" }), zk("zk-1", { reachable: false, mode: undefined }), zk("zk-2", { reachable: false, mode: undefined })));
    assert.equal(two.verdict, "down");
    assert.equal(two.exitCode, 4);
    assert.equal(two.reasons[0], "ZooKeeper: no quorum (0 of 3 node(s) serving, 2 needed)");
    assert.ok(two.reasons.includes("zk-0: answers but does not serve requests (This ZooKeeper instance is not currently serving requests)"));
    const all = evaluate(ensemble(zk("zk-posthog-0", { reachable: false, mode: undefined, error: "not running" })));
    assert.equal(all.verdict, "down");
    assert.equal(all.summary, "down: ZooKeeper: all 1 node(s) down");
    const observer = evaluate(ensemble(zk("zk-0", { mode: "leader" }), zk("zk-1", { mode: "observer" }), zk("zk-2", { reachable: false, mode: undefined })));
    assert.equal(observer.verdict, "down", "an observer does not vote");
  });

  test("reasons: what makes it down first, then failures, then warnings", () => {
    const f = withReplica(0, 0, { queueSize: 500, isReadonly: true });
    const r = evaluate({ ...f, zookeeper: [zk("zk-posthog-0", { reachable: false, mode: undefined, error: "not running" })] });
    assert.deepEqual(r.reasons.map((x) => x.split(":")[0]), ["ZooKeeper", "chi-posthog-0-0", "zk-posthog-0", "chi-posthog-0-0"]);
    assert.match(r.reasons.at(-1)!, /replication queue/);
  });
});

describe("what the schema Job refuses on", () => {
  test("down, a read-only replica, an expired session; not a host down alone (the applier names it)", () => {
    assert.deepEqual(applyBlockers(evaluate(healthy())), []);
    assert.deepEqual(applyBlockers(evaluate(withHost(0, 1, { reachable: false, error: "connection refused" }))), []);
    assert.deepEqual(applyBlockers(evaluate(withReplica(0, 1, { isReadonly: true }))), ["chi-posthog-0-1: read-only replica of posthog.sharded_events"]);
    assert.deepEqual(applyBlockers(evaluate(withReplica(0, 1, { isSessionExpired: true }))), ["chi-posthog-0-1: ZooKeeper session expired (posthog.sharded_events)"]);
    assert.deepEqual(applyBlockers(evaluate({ ...healthy(), zookeeper: [zk("zk-0", { reachable: false, mode: undefined, error: "connection refused" })] })), ["ZooKeeper: all 1 node(s) down"]);
    assert.deepEqual(applyBlockers(evaluate({ ...healthy(), postgres: { checked: true, reachable: false } })), [], "Postgres is not the schema's business");
  });
});

describe("rows per replication group", () => {
  test("a shard's table is grouped per shard, a noshard table over every host; unreachable hosts left out", () => {
    const groups = replicaGroupRows([host(0, 0), host(0, 1), host(1, 0), { host: name(1, 1), shard: 1, replica: 1, reachable: false }]);
    assert.deepEqual(groups.map((g) => `${g.table} ${g.group}: ${g.replicas.map((r) => `${r.host}=${r.rows}`).join(" ")}`), [
      "posthog.person every host: chi-posthog-0-0=7 chi-posthog-0-1=7 chi-posthog-1-0=7",
      "posthog.sharded_events shard 0: chi-posthog-0-0=100 chi-posthog-0-1=100",
      "posthog.sharded_events shard 1: chi-posthog-1-0=200",
    ]);
    assert.ok(groups.every((g) => !g.disagree));
  });
});

test("bytes", () => {
  assert.deepEqual([0, 1023, 1024, 1536, 10 * 2 ** 20, 5.5 * 2 ** 30].map(bytes), ["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "10 MiB", "5.5 GiB"]);
});
