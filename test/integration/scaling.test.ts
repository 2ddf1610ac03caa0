// Scaling a real loopback stack of ClickHouse 18.16 by editing its config and running `up` again:
// 1x1 -> 1x2 (a replica: unpublished until its schema converged, then it catches up) -> 2x2 (a shard)
// -> 2x1 (replicas removed, their ZooKeeper metadata gone) -> 1x1 (a shard with rows: refused, then allowed).
// Every step checks that no server that stays was restarted and that no row was lost or doubled.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import zookeeper from "node-zookeeper-client";
import { clickhouseClient } from "../../infra/loopback/servers.ts";
import { readState } from "../../infra/loopback/state.ts";
import type { ClickHouseHost } from "../../infra/model/topology.ts";
import { loopbackClickHousePorts, loopbackCoordinationPorts } from "../../infra/model/ports.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { pidsOf, processExists, rows, testStack } from "../support/stack.ts";

const BASE = 31800;
const stack = testStack("1x1", "it-scale", BASE);
const secrets = goldenSecrets();
const configFile = join(stack.cwd, "Pulumi.it-scale.yaml");
const fixture = readFileSync(configFile, "utf8");
const resize = (shards: number, replicas: number) =>
  writeFileSync(configFile, fixture.replace(/shards: \d+/, `shards: ${shards}`).replace(/replicas: \d+/, `replicas: ${replicas}`));

/** A host by its slot (0-0: 0, 0-1: 1, 1-0: 2, 1-1: 3 in this sequence of changes). */
const SLOT: Record<string, number> = { "chi-solo-0-0": 0, "chi-solo-0-1": 1, "chi-solo-1-0": 2, "chi-solo-1-1": 3 };
const client = (name: string) => clickhouseClient({ endpoint: { ports: loopbackClickHousePorts(BASE, SLOT[name]!) } } as ClickHouseHost, secrets, "admin");
async function q<T>(host: string, sql: string): Promise<T[]> {
  const c = client(host);
  try {
    return await rows<T>(c, sql);
  } finally {
    await c.close();
  }
}
const count = async (host: string, table: string) => Number((await q<{ n: string }>(host, `SELECT count() AS n FROM posthog.${table}`))[0]!.n);
const clusterHosts = async (host: string) => (await q<{ h: string }>(host, "SELECT port AS h FROM system.clusters WHERE cluster = 'solo' ORDER BY shard_num, replica_num")).map((r) => Number(r.h));
const portOf = (name: string) => loopbackClickHousePorts(BASE, SLOT[name]!).tcp;

async function insertEvents(n: number, offset: number): Promise<void> {
  const c = client("chi-solo-0-0");
  try {
    await c.command({
      query: `INSERT INTO posthog.writable_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset)
        SELECT generateUUIDv4(), 'pageview', '{}', toDateTime('2026-11-01 00:00:00') + number, 1, concat('user-', toString(number + ${offset})), '', now(), now(), number + ${offset}
        FROM system.numbers LIMIT ${n}`,
      clickhouse_settings: { insert_distributed_sync: 1 },
    });
  } finally {
    await c.close();
  }
}

function zkChildren(path: string): Promise<string[] | undefined> {
  const zk = zookeeper.createClient(`127.0.0.1:${loopbackCoordinationPorts(BASE, 0).client}`, { sessionTimeout: 5000 });
  return new Promise((resolve, reject) => {
    zk.once("connected", () => zk.getChildren(path, (e, c) => {
      zk.close();
      if (e && "getCode" in e && e.getCode() === zookeeper.Exception.NO_NODE) resolve(undefined);
      else if (e) reject(e);
      else resolve(c.sort());
    }));
    zk.connect();
  });
}
const TABLES = "/clickhouse/solo/clickhouse/tables";

async function up(...args: string[]) {
  const r = await stack.chstack("up", ...args);
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

describe("scaling a loopback stack by its config", { concurrency: false }, () => {
  after(() => stack.destroy());
  let pids: Record<string, number> = {};
  const unchanged = (names: string[]) => {
    const now = pidsOf(stack);
    for (const n of names) assert.equal(now[n], pids[n], `${n} was restarted`);
  };

  test("1x1 with 20000 events", async () => {
    const r = await up();
    assert.equal(r.code, 0, r.out);
    await insertEvents(20_000, 0);
    assert.equal(await count("chi-solo-0-0", "events"), 20_000);
    pids = pidsOf(stack);
  });

  test("1x2: a new replica stays unpublished while its schema is not applied", async () => {
    resize(1, 2);
    const r = await up("--no-schema");
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /topology change: adds replica chi-solo-0-1/);
    assert.match(r.out, /not published in remote_servers: their schema was not applied \(--no-schema\)/);
    assert.deepEqual(await clusterHosts("chi-solo-0-0"), [portOf("chi-solo-0-0")]);
    assert.deepEqual(await clusterHosts("chi-solo-0-1"), [portOf("chi-solo-0-0")], "the new host lists the published hosts only");
    const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
    assert.equal(st.hosts.find((h: { name: string }) => h.name === "chi-solo-0-1").published, false);
    assert.match((await stack.chstack("status")).stdout, /chi-solo-0-1 .* up, not published/);
    unchanged(["chi-solo-0-0", "zk-solo-0", "postgres"]);
  });

  test("1x2: the next up applies its schema, it catches up, then every host lists it (no restart)", async () => {
    const r = await up();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /chi-solo-0-1 +caught up with chi-solo-0-0: \d+ rows in [\d.]+ s/);
    assert.match(r.out, /remote_servers now lists 2 hosts on every host \(hot reload, no restart\)/);
    assert.equal(await count("chi-solo-0-1", "sharded_events"), 20_000);
    for (const h of ["chi-solo-0-0", "chi-solo-0-1"]) assert.deepEqual(await clusterHosts(h), [portOf("chi-solo-0-0"), portOf("chi-solo-0-1")]);
    unchanged(["chi-solo-0-0", "zk-solo-0", "postgres"]);
    pids = pidsOf(stack);
  });

  test("2x2: the new shard is published once its schema converged; new writes reach it; old rows stay put", async () => {
    resize(2, 2);
    const r = await up();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /topology change: adds shard 1 \(2 hosts\)/);
    const all = ["chi-solo-0-0", "chi-solo-0-1", "chi-solo-1-0", "chi-solo-1-1"];
    for (const h of all) assert.deepEqual(await clusterHosts(h), all.map(portOf), h);
    unchanged(["chi-solo-0-0", "chi-solo-0-1", "zk-solo-0", "postgres"]);
    assert.equal(await count("chi-solo-1-0", "sharded_events"), 0, "existing rows are not moved");
    await insertEvents(20_000, 20_000);
    // Replication is asynchronous: each replica first fetches what its peer took.
    for (const h of all) {
      const c = client(h);
      await c.command({ query: "SYSTEM SYNC REPLICA posthog.sharded_events" }).finally(() => c.close());
    }
    const onShard1 = await count("chi-solo-1-0", "sharded_events");
    assert.ok(onShard1 > 5_000 && onShard1 < 15_000, `shard 1 got ${onShard1} of 20000 new rows`);
    for (const h of all) assert.equal(await count(h, "events"), 40_000, `${h} reads every row once through the Distributed table`);
    pids = pidsOf(stack);
  });

  test("2x1: removed replicas stop after the hosts that stay hold their rows; their ZooKeeper metadata is gone", async () => {
    resize(2, 1);
    const r = await up();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /removes replicas chi-solo-0-1, chi-solo-1-1/);
    assert.match(r.out, /ZooKeeper: removed the replica metadata of chi-solo-0-1, chi-solo-1-1/);
    unchanged(["chi-solo-0-0", "chi-solo-1-0", "zk-solo-0", "postgres"]);
    for (const gone of ["chi-solo-0-1", "chi-solo-1-1"]) assert.equal(processExists(pids[gone]!), false, `${gone} still runs`);
    assert.deepEqual(await zkChildren(`${TABLES}/0/posthog.sharded_events/replicas`), ["chi-solo-0-0"]);
    assert.deepEqual(await zkChildren(`${TABLES}/1/posthog.sharded_events/replicas`), ["chi-solo-1-0"]);
    assert.deepEqual(await zkChildren(`${TABLES}/noshard/posthog.person/replicas`), ["chi-solo-0-0", "chi-solo-1-0"], "the noshard table keeps the other shard's replica");
    for (const h of ["chi-solo-0-0", "chi-solo-1-0"]) {
      const dead = await q<{ t: string }>(h, "SELECT table AS t FROM system.replicas WHERE total_replicas != active_replicas");
      assert.deepEqual(dead, [], `${h} sees a dead peer`);
      assert.deepEqual(await clusterHosts(h), [portOf("chi-solo-0-0"), portOf("chi-solo-1-0")]);
      assert.equal(await count(h, "events"), 40_000);
    }
    const state = readState(stack.dir)!;
    assert.deepEqual(state.cleanup, []);
    assert.ok(state.retired!.every((x) => x.keptIn && existsSync(join(stack.dir, x.keptIn))), "the retired hosts' data is kept");
    pids = pidsOf(stack);
  });

  test("1x1: removing a shard that holds rows is refused, naming the tables, and changes nothing", async () => {
    resize(1, 1);
    const before = readState(stack.dir);
    const r = await up();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /removing shard 1 is refused: it holds posthog\.sharded_events \(\d+ rows\)/);
    assert.match(r.out, /--allow drop-shard/);
    assert.deepEqual(readState(stack.dir), before, "state.json is untouched");
    unchanged(["chi-solo-0-0", "chi-solo-1-0", "zk-solo-0", "postgres"]);
    assert.deepEqual(await clusterHosts("chi-solo-0-0"), [portOf("chi-solo-0-0"), portOf("chi-solo-1-0")]);
  });

  test("1x1 with --allow drop-shard: the shard leaves remote_servers and ZooKeeper", async () => {
    const r = await up("--allow", "drop-shard", "--purge-removed");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /WARNING: removing shard 1 although it holds posthog\.sharded_events/);
    assert.equal(processExists(pids["chi-solo-1-0"]!), false);
    unchanged(["chi-solo-0-0", "zk-solo-0", "postgres"]);
    assert.deepEqual(await clusterHosts("chi-solo-0-0"), [portOf("chi-solo-0-0")]);
    assert.equal(await zkChildren(`${TABLES}/1/posthog.sharded_events`), undefined);
    assert.deepEqual(await zkChildren(`${TABLES}/noshard/posthog.person/replicas`), ["chi-solo-0-0"]);
    assert.equal(existsSync(join(stack.dir, "clickhouse", "chi-solo-1-0")), false, "purged");
    const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
    assert.deepEqual(st.hosts.filter((h: { role: string }) => h.role === "clickhouse").map((h: { name: string }) => h.name), ["chi-solo-0-0"]);
    const left = await count("chi-solo-0-0", "sharded_events");
    assert.ok(left > 20_000 && left < 40_000, `shard 0 holds ${left} rows`);
    assert.equal(await count("chi-solo-0-0", "events"), left, "the Distributed table reads the one shard left");
  });
});
