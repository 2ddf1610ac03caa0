import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../../infra/config/load.ts";
import { assignSlots, loopbackHosts, publishedShards, recordedHosts } from "../../infra/loopback/hosts.ts";
import type { StackState } from "../../infra/loopback/state.ts";
import { describeChange, hostsOf, planChange } from "../../infra/model/change.ts";
import { clickhouseFiles, CLICKHOUSE_FILE_TABLE, reloadsInPlace } from "../../infra/render/clickhouse/index.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { hashPasswords } from "../../infra/render/clickhouse/index.ts";
import { XMLParser } from "fast-xml-parser";

const parser = new XMLParser({ parseTagValue: true, isArray: (_n, jpath) => /^yandex\.remote_servers\.[^.]+\.shard(\.replica)?$/.test(String(jpath)) });
const parseXml = (xml: string) => parser.parse(xml) as { yandex: Record<string, any> };
const PW = { admin: "a".repeat(20), writer: "w".repeat(20), readonly: "r".repeat(20), interserver: "i".repeat(20) };
const config = (shards: number, replicas: number) =>
  parseStackConfig({ clickhouse: { cluster: "ev", shards, replicas }, loopback: { portBase: 30000 } }, "t", { rejectPlaintextSecrets: true });
const names = (hs: readonly { name: string }[]) => hs.map((h) => h.name);
const kinds = (c: ReturnType<typeof planChange>) => c.steps.map((s) => s.kind);

describe("the topology change model", () => {
  test("a first install publishes its hosts from the start: no steps", () => {
    const c = planChange([], hostsOf("ev", 2, 2));
    assert.equal(c.install, true);
    assert.deepEqual(c.steps, []);
    assert.deepEqual(names(c.published.after), ["chi-ev-0-0", "chi-ev-0-1", "chi-ev-1-0", "chi-ev-1-1"]);
  });

  test("no change: no steps, whatever the order of the lists", () => {
    assert.deepEqual(planChange(hostsOf("ev", 2, 2).reverse(), hostsOf("ev", 2, 2)).steps, []);
  });

  test("adding a replica: start, schema, catch-up, then publish; nothing retires", () => {
    const c = planChange(hostsOf("ev", 2, 1), hostsOf("ev", 2, 2));
    assert.deepEqual(kinds(c), ["start", "schema", "catch-up", "publish"]);
    assert.deepEqual(names(c.added.replicas), ["chi-ev-0-1", "chi-ev-1-1"]);
    assert.deepEqual(c.added.shards, []);
    assert.deepEqual(names(c.steps[2]!.kind === "catch-up" ? c.steps[2]!.hosts : []), ["chi-ev-0-1", "chi-ev-1-1"]);
    assert.equal(describeChange(c), "adds replicas chi-ev-0-1, chi-ev-1-1");
  });

  test("adding a shard: its hosts start and get the schema; nothing to catch up; published last", () => {
    const c = planChange(hostsOf("ev", 1, 2), hostsOf("ev", 2, 2));
    assert.deepEqual(kinds(c), ["start", "schema", "publish"]);
    assert.deepEqual(c.added.shards, [1]);
    assert.deepEqual(c.added.replicas, []);
    assert.equal(c.steps.at(-1)!.kind, "publish");
    assert.equal(describeChange(c), "adds shard 1 (2 hosts)");
  });

  test("removing replicas: publish first (no query reaches them), then retire and clean up; no guard", () => {
    const c = planChange(hostsOf("ev", 2, 3), hostsOf("ev", 2, 1));
    assert.deepEqual(kinds(c), ["publish", "retire", "clean-up"]);
    assert.deepEqual(names(c.removed.replicas), ["chi-ev-0-1", "chi-ev-0-2", "chi-ev-1-1", "chi-ev-1-2"]);
    assert.deepEqual(c.removed.shards, []);
  });

  test("removing a shard is guarded before anything else; the last replica of a shard is the shard", () => {
    const c = planChange(hostsOf("ev", 2, 2), hostsOf("ev", 1, 2));
    assert.deepEqual(kinds(c), ["guard", "publish", "retire", "clean-up"]);
    assert.deepEqual(c.removed.shards, [1]);
    assert.deepEqual(c.removed.replicas, [], "a removed shard's hosts are not counted as removed replicas");
    assert.equal(describeChange(c), "removes shard 1 (2 hosts)");
  });

  test("adding replicas and removing a shard at once: guard first, new hosts published before the shard retires", () => {
    const c = planChange(hostsOf("ev", 2, 1), hostsOf("ev", 1, 2));
    assert.deepEqual(kinds(c), ["guard", "start", "schema", "catch-up", "publish", "retire", "clean-up"]);
    assert.equal(describeChange(c), "adds replica chi-ev-0-1; removes shard 1 (1 host)");
  });
});

describe("loopback host slots", () => {
  test("a fresh stack's slots are shard * replicas + replica (the golden layout)", () => {
    const lh = loopbackHosts(config(2, 2), "t", undefined);
    assert.deepEqual(lh.topology.hosts.map((h) => h.endpoint.ports.tcp), [30020, 30023, 30026, 30029]);
    assert.deepEqual(lh.published, []);
  });

  test("scaling keeps every recorded host on its ports; new hosts take the free slots", () => {
    const first = loopbackHosts(config(2, 2), "t", undefined);
    const state = { hosts: first.slots, published: names(first.wanted), processes: {} } as unknown as StackState;
    const grown = loopbackHosts(config(2, 3), "t", state);
    const port = (n: string) => grown.byName.get(n)!.endpoint.ports.tcp;
    for (const h of first.topology.hosts) assert.equal(port(h.name), h.endpoint.ports.tcp, h.name);
    assert.deepEqual([port("chi-ev-0-2"), port("chi-ev-1-2")], [30032, 30035]);
    assert.deepEqual(grown.portRange, { first: 30000, last: 30037 });
    assert.deepEqual(names(grown.published), names(first.wanted));
    // Hosts to retire keep their ports too, to be reached until they stop.
    const shrunk = loopbackHosts(config(1, 2), "t", { ...state, hosts: grown.slots } as StackState);
    assert.equal(shrunk.byName.get("chi-ev-1-1")!.endpoint.ports.tcp, 30029);
  });

  test("a freed slot is reused; a state from before slots were recorded keeps its hosts' old ports", () => {
    assert.equal(assignSlots({ a: { shard: 0, replica: 0, slot: 0 }, c: { shard: 1, replica: 0, slot: 2 } }, [{ name: "b", shard: 0, replica: 1 }]).b!.slot, 1);
    const old = { replicas: 2, processes: { "chi-ev-1-1": { role: "clickhouse" }, "zk-ev-0": { role: "zookeeper" } } } as unknown as StackState;
    assert.deepEqual(recordedHosts(old), { "chi-ev-1-1": { shard: 1, replica: 1, slot: 3 } });
  });

  test("remote_servers during a change lists the published hosts only, on every host", () => {
    const first = loopbackHosts(config(1, 2), "t", undefined);
    const state = { hosts: first.slots, published: names(first.wanted), processes: {} } as unknown as StackState;
    const lh = loopbackHosts(config(2, 2), "t", state);
    const files = renderLoopback(lh.topology, hashPasswords(PW), { published: publishedShards(lh.byName, lh.published) });
    for (const h of lh.topology.hosts) {
      const shards = parseXml(files[`clickhouse/${h.name}/config/config.d/chstack-remote-servers.xml`]!).yandex.remote_servers.ev.shard;
      assert.equal(shards.length, 1, h.name);
      assert.deepEqual(shards[0].replica.map((r: { port: number }) => r.port), [30020, 30023]);
    }
  });
});

describe("the ClickHouse file table", () => {
  test("remote_servers and users.d reload in place; everything else needs a restart", () => {
    assert.deepEqual(clickhouseFiles({ delivery: "reload" }), [
      "config.d/chstack-remote-servers.xml", "users.d/chstack-profiles.xml", "users.d/chstack-quotas.xml", "users.d/chstack-users.xml",
    ]);
    assert.equal(reloadsInPlace("config.d/chstack-macros.xml"), false);
    assert.equal(Object.keys(CLICKHOUSE_FILE_TABLE).length, 13);
    assert.deepEqual(clickhouseFiles({ scope: "host" }), ["config.d/chstack-listen.xml", "config.d/chstack-paths.xml", "config.d/chstack-logger.xml", "config.d/chstack-macros.xml"]);
  });
});
