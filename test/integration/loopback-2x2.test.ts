// The golden 2x2 stack as real processes: ZooKeeper 3.8, four ClickHouse 18.16 servers, Postgres 15.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { portIsFree } from "../../infra/loopback/procs.ts";
import { loopbackPortRange } from "../../infra/model/ports.ts";
import { renderGolden } from "../support/goldens.ts";
import { pidsOf, processExists, rows, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-2x2");
const hosts = stack.topology.hosts;
const CREATE_LOCAL =
  "CREATE TABLE IF NOT EXISTS default.events (id UInt64, day Date) " +
  "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/default.events', '{replica}') PARTITION BY toYYYYMM(day) ORDER BY id";
const CREATE_DIST = "CREATE TABLE IF NOT EXISTS default.events_all AS default.events ENGINE = Distributed(posthog, default, events, id)";

async function countsPerHost(): Promise<number[]> {
  return Promise.all(
    hosts.map(async (_, i) => {
      const c = stack.client(i);
      try {
        await c.command({ query: "SYSTEM SYNC REPLICA default.events" });
        return Number((await rows<{ n: string }>(c, "SELECT count() AS n FROM default.events"))[0]!.n);
      } finally {
        await c.close();
      }
    }),
  );
}

describe("loopback 2x2 from the golden rendering", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `up failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(() => stack.destroy());

  test("the files the servers run with are exactly the golden files", () => {
    for (const [path, content] of Object.entries(renderGolden("2x2"))) {
      assert.equal(readFileSync(join(stack.dir, path), "utf8"), content, path);
    }
  });

  test("status --json: every server up, pids are the servers themselves", async () => {
    const r = await stack.chstack("status", "--json");
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assert.equal(st.stack, "it-2x2");
    assert.equal(st.cluster, "posthog");
    assert.equal(st.secretsFile, join(stack.dir, "secrets.json"));
    assert.deepEqual(st.hosts.map((h: { role: string }) => h.role), ["zookeeper", "clickhouse", "clickhouse", "clickhouse", "clickhouse", "postgres"]);
    for (const h of st.hosts) {
      assert.equal(h.state, "up", h.name);
      const exe = readFileSync(`/proc/${h.pid}/cmdline`, "utf8").split("\0")[0]!;
      assert.match(exe, h.role === "zookeeper" ? /java$/ : h.role === "clickhouse" ? /clickhouse-server$/ : /postgres$/, h.name);
    }
    assert.deepEqual(st.hosts[2], { name: "chi-posthog-0-1", role: "clickhouse", shard: 0, replica: 1, ports: { tcp: 31123, http: 31124, interserver: 31125 }, pid: st.hosts[2].pid, state: "up", published: true, wanted: true });
  });

  test("system.clusters lists 4 hosts in 2 shards", async () => {
    const c = stack.client(0);
    const r = await rows<{ shard_num: number; replica_num: number; port: number }>(c, "SELECT shard_num, replica_num, port FROM system.clusters WHERE cluster = 'posthog' ORDER BY shard_num, replica_num");
    await c.close();
    assert.deepEqual(r.map((x) => [Number(x.shard_num), Number(x.replica_num), Number(x.port)]), hosts.map((h) => [h.address.shardIndex + 1, h.address.replicaIndex + 1, h.endpoint.ports.tcp]));
  });

  test("100k rows through a Distributed table: 2 active replicas per shard, identical replicas, exact sum", async () => {
    for (let i = 0; i < hosts.length; i++) {
      const c = stack.client(i);
      await c.command({ query: CREATE_LOCAL });
      await c.command({ query: CREATE_DIST });
      await c.close();
    }
    const writer = stack.client(0, "writer");
    await writer.command({ query: "INSERT INTO default.events_all SELECT number, toDate('2026-01-01') + number % 60 FROM numbers(100000)" });
    await writer.close();

    for (let i = 0; i < hosts.length; i++) {
      const c = stack.client(i);
      const r = await rows<{ total_replicas: number; active_replicas: number; is_readonly: number }>(c, "SELECT total_replicas, active_replicas, is_readonly FROM system.replicas WHERE table = 'events'");
      await c.close();
      assert.deepEqual(r.map((x) => [Number(x.total_replicas), Number(x.active_replicas), Number(x.is_readonly)]), [[2, 2, 0]], hosts[i]!.name);
    }
    const [a0, a1, b0, b1] = await countsPerHost();
    assert.equal(a0, a1, "both replicas of shard 0 hold the same rows");
    assert.equal(b0, b1, "both replicas of shard 1 hold the same rows");
    assert.ok(a0! > 0 && b0! > 0, `both shards hold rows (${a0}, ${b0})`);
    assert.equal(a0! + b0!, 100_000);
    const reader = stack.client(3, "readonly");
    assert.equal(Number((await rows<{ n: string }>(reader, "SELECT count() AS n FROM default.events_all"))[0]!.n), 100_000);
    await reader.close();
  });

  test("a second up restarts nothing: same pids, uptime keeps growing", async () => {
    const before = pidsOf(stack);
    const c = stack.client(1);
    const uptime = async () => Number((await rows<{ u: string }>(c, "SELECT uptime() AS u"))[0]!.u);
    const u1 = await uptime();
    await new Promise((r) => setTimeout(r, 1100));
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /all 6 servers were already running; nothing restarted/);
    assert.deepEqual(pidsOf(stack), before);
    assert.ok((await uptime()) > u1, "uptime grew: the server was not restarted");
    await c.close();
  });

  test("a killed ClickHouse server is restarted by up and catches up on rows inserted while it was down", async () => {
    const victim = hosts[1]!; // shard 0, replica 1
    const pid = pidsOf(stack)[victim.name]!;
    process.kill(pid, "SIGKILL");
    while (processExists(pid)) await new Promise((r) => setTimeout(r, 50));

    const writer = stack.client(0, "writer");
    await writer.command({ query: "INSERT INTO default.events_all SELECT 100000 + number, toDate('2026-03-01') FROM numbers(20000)" });
    await writer.close();

    const r = await stack.chstack("up");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${victim.name}\\s+restarted \\(was not running\\)`));
    assert.notEqual(pidsOf(stack)[victim.name], pid);
    const [a0, a1, b0, b1] = await countsPerHost();
    assert.equal(a1, a0, "the restarted replica caught up with its peer");
    assert.equal(b0, b1);
    assert.equal(a0! + b0!, 120_000);
  });

  test("down: no process left and no listener on any of the stack's ports", async () => {
    const pids = Object.values(pidsOf(stack));
    const r = await stack.chstack("down");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6 server\(s\) stopped/);
    for (const pid of pids) assert.ok(!processExists(pid), `pid ${pid} is gone`);
    const range = loopbackPortRange(31100, hosts.length);
    for (let port = range.first; port <= range.last; port++) assert.ok(await portIsFree(port), `port ${port} is free`);
  });
});
