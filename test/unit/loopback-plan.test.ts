import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../../infra/config/load.ts";
import type { StackConfigInput } from "../../infra/config/schema.ts";
import { fingerprint, planUp, serversOf, topologyChange, type Server } from "../../infra/loopback/plan.ts";
import { generatePassword, renderClientConfig, renderPgpass } from "../../infra/loopback/secrets.ts";
import type { StackState } from "../../infra/loopback/state.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { hashPasswords } from "../../infra/render/clickhouse/index.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { goldenSecrets } from "../support/goldens.ts";

const PW = { admin: "a".repeat(20), writer: "w".repeat(20), readonly: "r".repeat(20), interserver: "i".repeat(20) };

function servers(raw: StackConfigInput, pgSettings = "pg") {
  // The launch arguments as up.ts derives them: the JVM heap for ZooKeeper, the settings for Postgres.
  const config = parseStackConfig(raw as Record<string, unknown>, "t", { rejectPlaintextSecrets: true });
  const t = buildTopology(config, loopbackTarget(config), "s");
  const heap = config.coordination.kind === "zookeeper" ? config.coordination.heapMb : 0;
  return { t, servers: serversOf(t, renderLoopback(t, hashPasswords(PW)), { zookeeper: `-Xmx${heap}m`, postgres: pgSettings }) };
}

function stateOf(list: readonly Server[], t: ReturnType<typeof servers>["t"]): StackState {
  return {
    stack: "s", cluster: t.cluster, shards: t.shards.length, replicas: t.shards[0]!.hosts.length, coordinationSize: t.coordination.nodes.length,
    portRange: { first: 0, last: 0 },
    processes: Object.fromEntries(list.map((s, i) => [s.name, { role: s.role, pid: 1000 + i, startTime: 1, argv: ["x"], files: fingerprint(s), startedAt: "" }])),
  };
}

describe("up's plan", () => {
  test("servers in start order, each with its own files only", () => {
    const { servers: list } = servers({ clickhouse: { shards: 2, replicas: 2 } });
    assert.deepEqual(list.map((s) => s.name), ["zk-posthog-0", "chi-posthog-0-0", "chi-posthog-0-1", "chi-posthog-1-0", "chi-posthog-1-1", "postgres"]);
    assert.ok(Object.keys(list[2]!.files).every((p) => p.startsWith("clickhouse/chi-posthog-0-1/config/")));
    assert.equal(Object.keys(list[2]!.files).length, 13);
    assert.deepEqual(Object.keys(list[0]!.files).sort(), ["zookeeper/zk-posthog-0/data/myid", "zookeeper/zk-posthog-0/zoo.cfg"]);
  });

  test("nothing recorded: start all; all alive and unchanged: keep all", () => {
    const { t, servers: list } = servers({ clickhouse: { shards: 2 } });
    assert.ok(planUp(list, undefined, () => false).every((a) => a.kind === "start" && a.why === "new"));
    assert.ok(planUp(list, stateOf(list, t), () => true).every((a) => a.kind === "keep"));
  });

  test("a dead server is started again; the others are kept", () => {
    const { t, servers: list } = servers({ clickhouse: { shards: 2 } });
    const plan = planUp(list, stateOf(list, t), (name) => name !== "chi-posthog-1-0");
    assert.deepEqual(plan.filter((a) => a.kind !== "keep").map((a) => [a.kind, a.server.name, a.kind === "start" ? a.why : ""]), [["start", "chi-posthog-1-0", "not running"]]);
  });

  test("users and remote_servers changes reload; server settings, ZooKeeper and Postgres changes restart", () => {
    const before = servers({ clickhouse: { shards: 2 } });
    const state = stateOf(before.servers, before.t);
    const kinds = (raw: StackConfigInput, pg = "pg") =>
      Object.fromEntries(planUp(servers(raw, pg).servers, state, () => true).map((a) => [a.server.name, a.kind]));

    const profile = kinds({ clickhouse: { shards: 2, profiles: { writer: { max_threads: 1 } } } });
    assert.deepEqual(profile, { "zk-posthog-0": "keep", "chi-posthog-0-0": "reload", "chi-posthog-1-0": "reload", postgres: "keep" });

    const setting = kinds({ clickhouse: { shards: 2, settings: { max_concurrent_queries: 7 } } });
    assert.equal(setting["chi-posthog-0-0"], "restart");
    assert.equal(setting["zk-posthog-0"], "keep");

    const heap = kinds({ clickhouse: { shards: 2 }, coordination: { heapMb: 512 } });
    assert.equal(heap["zk-posthog-0"], "restart", "the heap is a launch argument: a change restarts the node");
    assert.equal(heap["chi-posthog-0-0"], "keep");

    assert.equal(kinds({ clickhouse: { shards: 2 } }, "pg with other settings").postgres, "restart");
  });

  test("a running stack changes shards and replicas, but not its ZooKeeper ensemble size or cluster name", () => {
    const before = servers({ clickhouse: { shards: 2, replicas: 2 } });
    const state = stateOf(before.servers, before.t);
    assert.equal(topologyChange(servers({ clickhouse: { shards: 3, replicas: 1 } }).t, state, true), undefined);
    const bigger = servers({ clickhouse: { shards: 2, replicas: 2 }, coordination: { kind: "zookeeper", size: 3 } }).t;
    assert.match(topologyChange(bigger, state, true) ?? "", /is running 1 ZooKeeper node\(s\), cluster posthog; the config asks for 3 ZooKeeper node\(s\)/);
    assert.equal(topologyChange(bigger, state, false), undefined);
    assert.equal(topologyChange(before.t, state, true), undefined);
  });
});

describe("generated credentials", () => {
  test("passwords: 32 characters of [A-Za-z0-9], all different", () => {
    const many = Array.from({ length: 200 }, generatePassword);
    assert.ok(many.every((p) => /^[A-Za-z0-9]{32}$/.test(p)));
    assert.equal(new Set(many).size, many.length);
    assert.ok(new Set(many.join("")).size > 55, "the whole alphabet is used");
  });

  test("pgpass escapes : and \\; the client config carries the admin's credentials", () => {
    const s = goldenSecrets();
    const odd = { ...s, postgres: { ...s.postgres, password: "a:b\\c-0123456789abcdef" } };
    assert.match(renderPgpass(odd, 5432), /^127\.0\.0\.1:5432:\*:posthog:a\\:b\\\\c-0123456789abcdef$/m);
    const xml = renderClientConfig(s);
    assert.match(xml, /<config>/);
    assert.match(xml, /<user>chstack_admin<\/user>/);
    assert.match(xml, new RegExp(`<password>${s.clickhouse.admin.password}</password>`));
  });
});
