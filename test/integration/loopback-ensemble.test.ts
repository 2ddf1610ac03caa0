// The golden 3x2 stack: a 3-node ZooKeeper ensemble elects a leader, and 6 ClickHouse servers use it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { zookeeperMode } from "../../infra/loopback/servers.ts";
import { rows, testStack } from "../support/stack.ts";

const stack = testStack("3x2", "it-3x2");

describe("loopback 3x2 with a 3-node ZooKeeper ensemble", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `up failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(() => stack.destroy());

  test("the ensemble elects one leader and two followers", async () => {
    const modes = await Promise.all(stack.topology.coordination.nodes.map((n) => zookeeperMode(n.endpoint.ports.client)));
    assert.deepEqual([...modes].sort(), ["follower", "follower", "leader"]);
  });

  test("every ClickHouse server sees the ensemble and the 3 x 2 cluster", async () => {
    for (let i = 0; i < stack.topology.hosts.length; i++) {
      const c = stack.client(i);
      const zk = await rows<{ name: string }>(c, "SELECT name FROM system.zookeeper WHERE path = '/' ORDER BY name");
      assert.ok(zk.some((z) => z.name === "clickhouse"), "the chroot holds ClickHouse's own znodes");
      const shards = await rows<{ n: string }>(c, "SELECT uniqExact(shard_num) AS n FROM system.clusters WHERE cluster = 'events_3x2'");
      assert.equal(Number(shards[0]!.n), 3);
      await c.close();
    }
  });
});
