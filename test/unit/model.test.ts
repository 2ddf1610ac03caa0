import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../infra/config/errors.ts";
import { parseStackConfig } from "../../infra/config/load.ts";
import { MAX_REPLICAS, MAX_SHARDS, type StackConfigInput } from "../../infra/config/schema.ts";
import {
  isDnsLabel, longestKubernetesNames, STATEFULSET_NAME_MAX, zookeeperRootChain,
} from "../../infra/model/names.ts";
import { loopbackPortRange } from "../../infra/model/ports.ts";
import { buildTopology, type Topology } from "../../infra/model/topology.ts";
import { kubernetesTarget, loopbackTarget } from "../../infra/model/targets.ts";

const parse = (raw: StackConfigInput) => parseStackConfig(raw as Record<string, unknown>, "test", { rejectPlaintextSecrets: true });

function both(raw: StackConfigInput): { loop: Topology; kube: Topology } {
  const config = parse(raw);
  return { loop: buildTopology(config, loopbackTarget(config), "t"), kube: buildTopology(config, kubernetesTarget(config), "t") };
}

const SIZES = [1, 2, 3, 8, 64].flatMap((s) => [1, 2, 3].map((r) => [s, r] as const));

describe("topology for 1x1 to 64x3", () => {
  for (const [shards, replicas] of SIZES) {
    test(`${shards}x${replicas}`, () => {
      const { loop, kube } = both({ clickhouse: { cluster: "events", shards, replicas }, loopback: { portBase: 20000 } });
      assert.equal(loop.hosts.length, shards * replicas);
      assert.equal(loop.shards.length, shards);

      loop.hosts.forEach((h, i) => {
        const s = Math.floor(i / replicas);
        const r = i % replicas;
        assert.equal(h.name, `chi-events-${s}-${r}`);
        assert.deepEqual(h.address, { cluster: "events", shardIndex: s, shardName: String(s), replicaIndex: r, replicaName: h.name, hostIndex: i });
        assert.deepEqual(h.macros, { cluster: "events", shard: String(s), replica: h.name });
        assert.equal(loop.shards[s]!.hosts[r], h, "shards hold the same host objects as the flat list");
        assert.ok(isDnsLabel(h.name) && h.name.length <= STATEFULSET_NAME_MAX);
      });
      assert.equal(new Set(loop.hosts.map((h) => h.name)).size, loop.hosts.length, "names are unique");

      // Loopback: every port of the stack distinct and inside its range; every host in its own directory.
      const ports = [
        loop.postgres.port,
        ...loop.coordination.nodes.flatMap((n) => [n.endpoint.ports.client, n.endpoint.ports.peer, n.endpoint.ports.election]),
        ...loop.hosts.flatMap((h) => [h.endpoint.ports.tcp, h.endpoint.ports.http, h.endpoint.ports.interserver]),
      ];
      assert.equal(new Set(ports).size, ports.length, "no two servers share a port");
      const range = loopbackPortRange(20000, loop.hosts.length);
      assert.ok(ports.every((p) => p >= range.first && p <= range.last), "ports within the stack's range");
      assert.equal(Math.max(...ports), range.last);
      for (const key of ["data", "tmp", "log", "errorLog"] as const) {
        assert.equal(new Set(loop.hosts.map((h) => h.paths[key])).size, loop.hosts.length, `${key} paths are per host`);
      }
      assert.ok(loop.hosts.every((h) => h.endpoint.host === "127.0.0.1" && h.endpoint.listenHost === "127.0.0.1"));
      assert.ok(loop.hosts.every((h) => !h.paths.data.startsWith("/")), "loopback paths are relative to the state dir");

      // Kubernetes: service DNS names in the namespace, the same ports and paths on every pod.
      kube.hosts.forEach((h) => {
        assert.equal(h.endpoint.host, `${h.name}.chstack.svc.cluster.local`);
        assert.deepEqual(h.endpoint.ports, { tcp: 9000, http: 8123, interserver: 9009 });
        assert.equal(h.paths.data, "/var/lib/clickhouse/");
      });
    });
  }
});

describe("one seam: targets differ only in addresses, paths and networks", () => {
  test("stripping those leaves equal models", () => {
    const { loop, kube } = both({ clickhouse: { shards: 3, replicas: 2 }, coordination: { size: 3 } });
    const strip = (t: Topology) =>
      JSON.parse(
        JSON.stringify(t, (key, value) => (["endpoint", "paths", "dataDir", "networks", "target", "postgres"].includes(key) ? undefined : value)),
      );
    assert.deepEqual(strip(loop), strip(kube));
    assert.notDeepEqual(loop.hosts[0]!.endpoint, kube.hosts[0]!.endpoint);
  });

  test("ZooKeeper nodes: ordinal pods behind the headless service, or 127.0.0.1 ports", () => {
    const { loop, kube } = both({ clickhouse: { cluster: "a_b" }, coordination: { size: 5 }, kubernetes: { namespace: "analytics" } });
    assert.deepEqual(kube.coordination.nodes.map((n) => n.endpoint.host), [0, 1, 2, 3, 4].map((i) => `zk-a-b-${i}.zk-a-b-headless.analytics.svc.cluster.local`));
    assert.deepEqual(kube.coordination.nodes.map((n) => n.id), [1, 2, 3, 4, 5]);
    assert.deepEqual(loop.coordination.nodes.map((n) => n.endpoint.ports.client), [19001, 19004, 19007, 19010, 19013]);
  });

  test("interserver user: only this cluster's pods on Kubernetes, 127.0.0.1 on loopback", () => {
    const { loop, kube } = both({ clickhouse: { cluster: "events" }, kubernetes: { namespace: "prod" } });
    assert.deepEqual(loop.users.interserver.networks, { ip: ["127.0.0.1"], hostRegexp: [] });
    const res = kube.users.interserver.networks.hostRegexp.map((r) => new RegExp(r));
    const admits = (name: string) => res.some((r) => r.test(name));
    assert.ok(admits("chi-events-0-1-0.chi-events-0-1.prod.svc.cluster.local"), "the name under the host's headless Service");
    assert.ok(admits("10-244-1-5.shard-events-0.prod.svc.cluster.local"), "the name under the shard's Service (a pod's IP has several)");
    assert.ok(admits("10-244-1-5.clickhouse-events.prod.svc.cluster.local"), "the name under the cluster's Service");
    assert.ok(!admits("chi-events-0-1-0.chi-events-0-1.other.svc.cluster.local"), "another namespace");
    assert.ok(!admits("chi-eventsx-0-1-0.chi-eventsx-0-1.prod.svc.cluster.local"), "another cluster");
    assert.ok(!admits("10-244-1-5.shard-eventsx-0.prod.svc.cluster.local"), "another cluster's shard");
    assert.ok(!admits("10-244-1-5.app-events.prod.svc.cluster.local"), "another Service");
    assert.ok(!admits("10-244-1-5.clickhouse-eventsx.prod.svc.cluster.local"), "another cluster's Service");
    assert.deepEqual(kube.users.writer.networks.ip, ["::/0"]);
  });
});

describe("names", () => {
  test("underscores in the cluster name become dashes in Kubernetes names only", () => {
    const { loop } = both({ clickhouse: { cluster: "web_events", shards: 1, replicas: 2 } });
    assert.equal(loop.hosts[1]!.name, "chi-web-events-0-1");
    assert.equal(loop.hosts[1]!.macros.cluster, "web_events");
    assert.equal(loop.zookeeper.root, "/clickhouse/web_events");
  });

  test("the largest topology allowed keeps every name within its limit", () => {
    // The longest cluster name that passes for 256 x 16: "chi-" + name + "-255-15" must fit in 52.
    const longest = "c".repeat(STATEFULSET_NAME_MAX - "chi--255-15".length);
    const config = parse({ clickhouse: { cluster: longest, shards: MAX_SHARDS, replicas: MAX_REPLICAS }, coordination: { size: 5 } });
    for (const o of longestKubernetesNames(config.clickhouse.cluster, MAX_SHARDS, MAX_REPLICAS, 5)) {
      assert.ok(isDnsLabel(o.name), `${o.kind} ${o.name} is a DNS-1123 label`);
      assert.ok(o.name.length <= o.max, `${o.kind} ${o.name} is at most ${o.max}`);
    }
    const kube = buildTopology(config, kubernetesTarget(config), "big");
    assert.equal(kube.hosts.length, MAX_SHARDS * MAX_REPLICAS);
    assert.ok(kube.hosts.every((h) => h.name.length <= STATEFULSET_NAME_MAX && isDnsLabel(h.name)));
    // One character more and the config is refused, naming the field and the object.
    assert.throws(
      () => parse({ clickhouse: { cluster: `${longest}c`, shards: MAX_SHARDS, replicas: MAX_REPLICAS } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith("clickhouse.cluster: ") && p.includes("StatefulSet")),
    );
  });

  test("ZooKeeper layout: per-cluster root and its parents", () => {
    const { loop } = both({ clickhouse: { cluster: "events" } });
    assert.deepEqual(loop.zookeeper, { root: "/clickhouse/events", distributedDdl: "/clickhouse/task_queue/ddl", tables: "/clickhouse/tables/{shard}" });
    assert.deepEqual(zookeeperRootChain(loop.zookeeper.root), ["/clickhouse", "/clickhouse/events"]);
  });
});

describe("the model is readonly and carries the privileges", () => {
  test("frozen all the way down", () => {
    const { loop } = both({ clickhouse: { shards: 2 } });
    assert.throws(() => {
      (loop.hosts[0]!.endpoint.ports as { tcp: number }).tcp = 1;
    }, TypeError);
    assert.throws(() => {
      (loop.hosts as unknown as unknown[]).push(null);
    }, TypeError);
  });

  test("profiles: stack settings merged, privileges fixed per role", () => {
    const { loop } = both({ clickhouse: { profiles: { default: { max_threads: 4 }, writer: { insert_distributed_sync: false } } } });
    const byName = Object.fromEntries(loop.profiles.map((p) => [p.name, p.settings]));
    assert.equal(byName.default!.max_threads, 4);
    assert.equal(byName.chstack_readonly!.readonly, 1);
    assert.equal(byName.chstack_readonly!.max_threads, 4, "role profiles inherit the default profile's settings");
    assert.deepEqual([byName.chstack_admin!.allow_ddl, byName.chstack_writer!.allow_ddl], [1, 0]);
    assert.equal(byName.chstack_writer!.insert_distributed_sync, 0, "the stack may turn sync Distributed inserts off");
    assert.equal(loop.users.interserver.profile, "chstack_writer");
  });
});
