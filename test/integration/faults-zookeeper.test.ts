// Fault: ZooKeeper nodes stopped under inserts, on a real 2x2 stack with a 3-node ensemble (ZooKeeper 3.8,
// ClickHouse 18.16). A follower, then the leader, stopped: inserts go on. All three stopped: inserts fail
// with ZooKeeper's error and `status` says the stack is down and why. `up` restarts the ensemble, and only
// it: inserts work again, no replica stays read-only, and every acknowledged row is there once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stopServer } from "../../infra/loopback/procs.ts";
import { zookeeperMode } from "../../infra/loopback/servers.ts";
import { readState } from "../../infra/loopback/state.ts";
import { ackedIngest, firstLine } from "../support/acked-ingest.ts";
import { faultSchemaOptions } from "../support/fault-schema.ts";
import { healthOf, healthUntil, pidsOf, rows, testStack, withClient } from "../support/stack.ts";

const stack = testStack("2x2", "it-fault-zk", 30600, faultSchemaOptions((y) => y.replace(/size: 1\b/, "size: 3")));
const hosts = stack.topology.hosts;
const nodes = stack.topology.coordination.nodes;
let acked = 0;

const status = () => healthOf(stack);

async function ingest(rowsToSend: number, batchRows: number) {
  const clients = hosts.map((_, i) => stack.client(i, "writer"));
  const began = Date.now();
  try {
    const r = await ackedIngest({ clients, table: "faults.rows", firstId: acked, rows: rowsToSend, batchRows, inFlight: 2 });
    acked += r.acked;
    return { ...r, ms: Date.now() - began };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function stop(name: string) {
  assert.notEqual(await stopServer(readState(stack.dir)!.processes[name]!, 10_000), "not-running", name);
}

async function readonlyReplicas(): Promise<string[]> {
  const each = await Promise.all(hosts.map((h, i) => withClient(stack, i, async (c) =>
    (await rows<{ t: string }>(c, "SELECT concat(database, '.', table) AS t FROM system.replicas WHERE is_readonly OR is_session_expired")).map((r) => `${h.name} ${r.t}`))));
  return each.flat();
}

describe("ZooKeeper nodes stopped under inserts (3-node ensemble)", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await ingest(50_000, 5_000);
  });
  after(() => stack.destroy());

  test("a follower stopped: every insert is acknowledged; up restarts it and no ClickHouse server", async () => {
    const modes = await Promise.all(nodes.map((n) => zookeeperMode(n.endpoint.ports.client)));
    const follower = nodes[modes.indexOf("follower")]!.name;
    await stop(follower);
    const r = await ingest(100_000, 5_000);
    console.log(`follower ${follower} stopped: ${r.acked} rows acknowledged in ${r.ms} ms, ${r.retries} retried attempt(s) ${JSON.stringify([...r.errors])}`);
    assert.equal(r.acked, 100_000);
    const s = await status();
    assert.equal(s.code, 3, s.summary);
    assert.ok(s.reasons.some((x) => x.startsWith(`${follower}: down`)), JSON.stringify(s.reasons));
    const clickhousePids = hosts.map((h) => pidsOf(stack)[h.name]);
    const up = await stack.chstack("up");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assert.deepEqual(hosts.map((h) => pidsOf(stack)[h.name]), clickhousePids, "no ClickHouse server restarted");
    await healthUntil(stack, "healthy once the follower is back", (h) => h.code === 0);
  });

  let leader = "";
  test("the leader stopped: every insert is acknowledged, the report is degraded and names the node", async () => {
    const modes = await Promise.all(nodes.map((n) => zookeeperMode(n.endpoint.ports.client)));
    leader = nodes[modes.indexOf("leader")]!.name;
    await stop(leader);
    const r = await ingest(100_000, 5_000);
    console.log(`leader ${leader} stopped: ${r.acked} rows acknowledged in ${r.ms} ms, ${r.retries} retried attempt(s) ${JSON.stringify([...r.errors])}`);
    assert.equal(r.acked, 100_000);
    const s = await status();
    assert.equal(s.code, 3, s.summary);
    assert.equal(s.verdict, "degraded");
    assert.ok(s.reasons.some((x) => x.startsWith(`${leader}: down`)), JSON.stringify(s.reasons));
  });

  let refusal = "";
  test("all three stopped: an insert fails with ZooKeeper's error; status is down and says why", async () => {
    for (const n of nodes.filter((x) => x.name !== leader)) await stop(n.name);
    const c = stack.client(0, "writer");
    const began = Date.now();
    try {
      await c.command({ query: "INSERT INTO faults.rows (id, shard_key) VALUES (99999999, 'refused')" });
      assert.fail("an insert was acknowledged with no ZooKeeper");
    } catch (e) {
      refusal = firstLine(e);
    } finally {
      await c.close();
    }
    console.log(`with no ZooKeeper an insert fails after ${Date.now() - began} ms: ${refusal}`);
    assert.match(refusal, /ZooKeeper|Coordination|read-?only/i);
    const s = await status();
    console.log(`status: exit ${s.code}, ${s.summary}`);
    assert.equal(s.code, 4);
    assert.equal(s.verdict, "down");
    assert.match(s.summary, /^down: ZooKeeper: all 3 node\(s\) down/);
  });

  test("up restarts the ensemble and nothing else; inserts work again; no replica stays read-only; nothing lost", async () => {
    const clickhousePids = hosts.map((h) => pidsOf(stack)[h.name]);
    const began = Date.now();
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const upMs = Date.now() - began;
    assert.deepEqual(hosts.map((h) => pidsOf(stack)[h.name]), clickhousePids, "no ClickHouse server restarted");

    const after = await ingest(20_000, 5_000);
    const insertsMs = Date.now() - began;
    let readonly = await readonlyReplicas();
    const deadline = Date.now() + 120_000;
    while (readonly.length > 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      readonly = await readonlyReplicas();
    }
    assert.deepEqual(readonly, [], "every replica left read-only mode");
    const writableMs = Date.now() - began;

    await Promise.all(hosts.map((_, i) => withClient(stack, i, (c) => c.command({ query: "SYSTEM SYNC REPLICA faults.sharded_rows" }))));
    const [d] = await withClient(stack, 0, (c) => rows<{ n: string; ids: string }>(c, "SELECT toString(count()) AS n, toString(uniqExact(id)) AS ids FROM faults.rows"));
    assert.deepEqual(d, { n: String(acked), ids: String(acked) }, "every acknowledged row, once");
    await healthUntil(stack, "healthy once the ensemble is back", (h) => h.code === 0);
    console.log(`up ${upMs} ms; ${after.acked} rows acknowledged ${insertsMs} ms after up began (${after.retries} retried); no read-only replica after ${writableMs} ms; ${acked} acknowledged, ${acked} present`);
  });
});
