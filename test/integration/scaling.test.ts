// Scaling a real loopback stack of ClickHouse 18.16 by editing its config and running `up` again, the
// sequence of issue 13: 2x2 holding 200k rows -> 2x3 (unpublished until its schema is applied, then
// caught up) -> 3x3 (interrupted by Ctrl-C, then finished while an ingest runs) -> 3x2 (replicas removed,
// their ZooKeeper metadata gone) -> 2x2 (a shard with rows: refused, then allowed). Every step checks
// that no server that stays was restarted and that no row was lost or doubled.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import zookeeper from "node-zookeeper-client";
import { clickhouseClient } from "../../infra/loopback/servers.ts";
import { readState } from "../../infra/loopback/state.ts";
import { loopbackClickHousePorts, loopbackCoordinationPorts } from "../../infra/model/ports.ts";
import type { ClickHouseHost } from "../../infra/model/topology.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { pidsOf, processExists, rows, runChstack, testStack } from "../support/stack.ts";

const BASE = 31800;
const stack = testStack("2x2", "it-scale", BASE);
const secrets = goldenSecrets();
const configFile = join(stack.cwd, "Pulumi.it-scale.yaml");
const fixture = readFileSync(configFile, "utf8");
const resize = (shards: number, replicas: number) =>
  writeFileSync(configFile, fixture.replace(/shards: \d+/, `shards: ${shards}`).replace(/replicas: \d+/, `replicas: ${replicas}`));

const h = (s: number, r: number) => `chi-posthog-${s}-${r}`;
const grid = (shards: number, replicas: number) => Array.from({ length: shards }, (_, s) => Array.from({ length: replicas }, (_, r) => h(s, r))).flat();
/** A host's ports come from the slot state.json records for it. */
const portsOf = (name: string) => loopbackClickHousePorts(BASE, readState(stack.dir)!.hosts![name]!.slot);
const client = (name: string) => clickhouseClient({ endpoint: { ports: portsOf(name) } } as ClickHouseHost, secrets, "admin");
async function q<T>(host: string, sql: string): Promise<T[]> {
  const c = client(host);
  try {
    return await rows<T>(c, sql);
  } finally {
    await c.close();
  }
}
async function exec(host: string, sql: string, settings: Record<string, number> = {}): Promise<void> {
  const c = client(host);
  try {
    await c.command({ query: sql, clickhouse_settings: settings });
  } finally {
    await c.close();
  }
}
const num = async (host: string, sql: string) => Number((await q<{ n: string }>(host, sql))[0]!.n);
const localRows = (host: string, where = "1") => num(host, `SELECT count() AS n FROM posthog.sharded_events WHERE ${where}`);
const clusterPorts = async (host: string) =>
  (await q<{ p: string }>(host, "SELECT port AS p FROM system.clusters WHERE cluster = 'posthog' ORDER BY shard_num, replica_num")).map((r) => Number(r.p));
const syncAll = async (hosts: string[]) => {
  for (const x of hosts) await exec(x, "SYSTEM SYNC REPLICA posthog.sharded_events");
};

/** n events through the writable Distributed table on `via`, `_offset` from `offset` (unique per row), as the admin, with its profile's settings. */
function insertEvents(n: number, offset: number, event = "pageview", via = h(0, 0)): Promise<void> {
  return exec(via, `INSERT INTO posthog.writable_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset)
    SELECT generateUUIDv4(), '${event}', '{}', toDateTime('2026-11-01 00:00:00') + number, 1, concat('user-', toString(number + ${offset})), '', now(), now(), number + ${offset}
    FROM system.numbers LIMIT ${n}`);
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
const TABLES = "/clickhouse/posthog/clickhouse/tables";

/** `chstack up`; its change and timing lines go to the test log (the closing note's figures). */
async function up(...args: string[]) {
  const began = Date.now();
  const r = await stack.chstack("up", ...args);
  const out = `${r.stdout}\n${r.stderr}`;
  const notable = out.split("\n").filter((l) => /topology change|caught up|remote_servers now|retired:|ZooKeeper:|started in|refused/.test(l));
  console.log(`# up ${args.join(" ")} (exit ${r.code}, ${((Date.now() - began) / 1000).toFixed(1)} s)\n${notable.map((l) => `#   ${l.trim().slice(0, 160)}`).join("\n")}`);
  return { ...r, out };
}

describe("scaling a loopback stack by its config", { concurrency: false }, () => {
  after(() => stack.destroy());
  let pids: Record<string, number> = {};
  let total = 0;
  const unchanged = (names: string[]) => {
    const now = pidsOf(stack);
    for (const n of names) assert.equal(now[n], pids[n], `${n} was restarted`);
  };
  const others = ["zk-posthog-0", "postgres"];

  test("2x2 holding 200000 events", async () => {
    const r = await up();
    assert.equal(r.code, 0, r.out);
    await insertEvents(200_000, 0);
    total = 200_000;
    await syncAll(grid(2, 2));
    assert.equal(await num(h(0, 0), "SELECT count() AS n FROM posthog.events"), total, "the insert was synchronous: every row is there at once");
    // 18.16 queues an asynchronous Distributed insert in a directory named user:password@host:port.
    const paths = readdirSync(stack.dir, { recursive: true }).map(String);
    assert.deepEqual(paths.filter((p) => p.includes(secrets.clickhouse.interserver.password)), [], "the inter-server password is in a file name");
    pids = pidsOf(stack);
  });

  test("2x3: the new replicas stay unpublished while their schema is not applied", async () => {
    resize(2, 3);
    const r = await up("--no-schema");
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /topology change: adds replicas chi-posthog-0-2, chi-posthog-1-2/);
    assert.match(r.out, /not published in remote_servers: their schema was not applied \(--no-schema\)/);
    const published = grid(2, 2).map((x) => portsOf(x).tcp);
    for (const x of grid(2, 3)) assert.deepEqual(await clusterPorts(x), published, `${x} lists the published hosts only`);
    const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
    assert.equal(st.hosts.find((x: { name: string }) => x.name === h(0, 2)).published, false);
    assert.match((await stack.chstack("status")).stdout, /chi-posthog-1-2 .* up, not published/);
    unchanged([...grid(2, 2), ...others]);
  });

  test("2x3: the next up applies the schema; the new replicas hold exactly their shard's rows; then every host lists them", async () => {
    const r = await up();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /chi-posthog-0-2 +caught up with chi-posthog-0-0: \d+ rows in [\d.]+ s/);
    assert.match(r.out, /remote_servers now lists 6 hosts on every host \(hot reload, no restart\)/);
    for (const s of [0, 1]) assert.equal(await localRows(h(s, 2)), await localRows(h(s, 0)), `shard ${s}`);
    assert.equal((await localRows(h(0, 2))) + (await localRows(h(1, 2))), total);
    for (const x of grid(2, 3)) assert.deepEqual(await clusterPorts(x), grid(2, 3).map((y) => portsOf(y).tcp), x);
    unchanged([...grid(2, 2), ...others]);
    pids = pidsOf(stack);
  });

  test("3x3, interrupted by Ctrl-C while starting, then finished while an ingest runs: no insert fails, nothing lost or doubled", async () => {
    resize(3, 3);
    const stopped = await runChstack(stack.cwd, ["up", "--stack", stack.name], (out, child) => {
      if (/chi-posthog-2-\d +starting/.test(out) && !child.killed) child.kill("SIGINT");
    });
    assert.equal(stopped.code, 130, `${stopped.stdout}\n${stopped.stderr}`);
    assert.match(stopped.stdout, /interrupted: stopping the \d server\(s\) this run started/);
    assert.deepEqual(Object.keys(pidsOf(stack)).filter((n) => n.startsWith("chi-posthog-2-")), [], "nothing of shard 2 is left running");
    for (const x of grid(2, 3)) assert.equal((await clusterPorts(x)).length, 6, `${x} still lists the 2x3 cluster`);
    unchanged([...grid(2, 3), ...others]);

    // An ingest through the Distributed table on chi-posthog-0-0 for the whole change.
    let running = true;
    let acked = 0;
    const failures: string[] = [];
    const ingest = (async () => {
      for (let batch = 0; running; batch++) {
        try {
          await insertEvents(2_000, 1_000_000 + batch * 2_000, "ingest");
          acked += 2_000;
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    })();
    const r = await up();
    running = false;
    await ingest;
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(failures, [], "no insert failed during the change");
    assert.ok(acked > 0);
    total += acked;

    for (const x of grid(3, 3)) assert.deepEqual((await q<{ s: string }>(x, "SELECT DISTINCT shard_num AS s FROM system.clusters WHERE cluster = 'posthog' ORDER BY s")).map((y) => Number(y.s)), [1, 2, 3], x);
    await insertEvents(30_000, 2_000_000, "after-3x3");
    total += 30_000;
    await syncAll(grid(3, 3));
    const perShard = await Promise.all([0, 1, 2].map((s) => localRows(h(s, 0), "event = 'after-3x3'")));
    assert.ok(perShard.every((n) => n > 0), `30000 new rows over the shards: ${perShard.join(", ")}`);
    assert.equal(perShard.reduce((a, b) => a + b, 0), 30_000);
    for (const x of grid(3, 3)) {
      const [all, distinct] = [await num(x, "SELECT count() AS n FROM posthog.events"), await num(x, "SELECT uniqExact(_offset) AS n FROM posthog.events")];
      assert.equal(all, total, `${x}: every acknowledged row, once`);
      assert.equal(distinct, total, `${x}: no row doubled`);
    }
    unchanged([...grid(2, 3), ...others]);
    pids = pidsOf(stack);
  });

  test("3x2: the removed replicas stop; no znode is left of them; every remaining host sees 2 of 2 replicas", async () => {
    resize(3, 2);
    const r = await up();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /removes replicas chi-posthog-0-2, chi-posthog-1-2, chi-posthog-2-2/);
    assert.match(r.out, /ZooKeeper: removed the replica metadata of chi-posthog-0-2, chi-posthog-1-2, chi-posthog-2-2/);
    unchanged([...grid(3, 2), ...others]);
    for (const s of [0, 1, 2]) {
      assert.equal(processExists(pids[h(s, 2)]!), false, `${h(s, 2)} still runs`);
      assert.deepEqual(await zkChildren(`${TABLES}/${s}/posthog.sharded_events/replicas`), [h(s, 0), h(s, 1)]);
    }
    assert.deepEqual(await zkChildren(`${TABLES}/noshard/posthog.person/replicas`), grid(3, 2).sort(), "a noshard table keeps every other replica");
    for (const x of grid(3, 2)) {
      const reps = await q<{ t: string; total: string; active: string }>(x, "SELECT table AS t, total_replicas AS total, active_replicas AS active FROM system.replicas WHERE table = 'sharded_events'");
      assert.deepEqual(reps.map((y) => [Number(y.total), Number(y.active)]), [[2, 2]], x);
      assert.equal((await clusterPorts(x)).length, 6);
      assert.equal(await num(x, "SELECT count() AS n FROM posthog.events"), total);
    }
    const state = readState(stack.dir)!;
    assert.deepEqual(state.cleanup, []);
    assert.ok(state.retired!.every((x) => x.keptIn && existsSync(join(stack.dir, x.keptIn))), "the retired hosts' data is kept");
    pids = pidsOf(stack);
  });

  test("2x2: removing shard 2 while it holds rows is refused, naming tables and counts; nothing changes; every host serves", async () => {
    resize(2, 2);
    const before = readState(stack.dir);
    const r = await up();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /removing shard 2 is refused: it holds posthog\.sharded_events \(\d+ rows\)\. Nothing was changed/);
    assert.match(r.out, /--allow drop-shard/);
    assert.deepEqual(readState(stack.dir), before, "state.json is untouched");
    unchanged([...grid(3, 2), ...others]);
    for (const x of grid(3, 2)) assert.equal(await num(x, "SELECT count() AS n FROM posthog.events"), total, `${x} serves`);
  });

  test("2x2 with --allow drop-shard: nothing of shard 2 is left", async () => {
    const onShard2 = await localRows(h(2, 0));
    const r = await up("--allow", "drop-shard", "--purge-removed");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /WARNING: removing shard 2 although it holds posthog\.sharded_events/);
    for (const x of [h(2, 0), h(2, 1)]) {
      assert.equal(processExists(pids[x]!), false, `${x} still runs`);
      assert.equal(existsSync(join(stack.dir, "clickhouse", x)), false, `${x} purged`);
    }
    unchanged([...grid(2, 2), ...others]);
    assert.equal(await zkChildren(`${TABLES}/2/posthog.sharded_events`), undefined);
    assert.ok(!(await zkChildren(TABLES))!.includes("2"), "nothing is left under the shard's path");
    assert.deepEqual(await zkChildren(`${TABLES}/noshard/posthog.person/replicas`), grid(2, 2).sort());
    for (const x of grid(2, 2)) {
      assert.deepEqual(await clusterPorts(x), grid(2, 2).map((y) => portsOf(y).tcp), x);
      assert.equal(await num(x, "SELECT count() AS n FROM posthog.events"), total - onShard2, `${x} reads the two shards left`);
    }
    const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
    assert.deepEqual(st.hosts.filter((x: { role: string }) => x.role === "clickhouse").map((x: { name: string }) => x.name), grid(2, 2));
    assert.equal(readState(stack.dir)!.hosts![h(2, 0)], undefined);
  });
});
