import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { XMLParser } from "fast-xml-parser";
import { parseStackConfig } from "../../infra/config/load.ts";
import type { StackConfigInput } from "../../infra/config/schema.ts";
import { buildTopology, type Topology } from "../../infra/model/topology.ts";
import { kubernetesTarget, loopbackTarget } from "../../infra/model/targets.ts";
import {
  CLICKHOUSE_FILES as F, hashPasswords, interserverPasswordForEnv, renderClickHouseCommon, renderClickHouseHost, renderClickHouseServer, sha256Hex,
} from "../../infra/render/clickhouse/index.ts";
import { renderUsers } from "../../infra/render/clickhouse/users.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { renderMyid, renderZooCfg } from "../../infra/render/zookeeper.ts";
import { configFile, el } from "../../infra/render/xml.ts";
import { clickhousePasswords } from "../../infra/loopback/secrets.ts";
import { GOLDENS, goldenSecrets, renderGolden } from "../support/goldens.ts";

const HOSTILE = `p<&"'>é漢字 ]]> <!--`;
const PASSWORDS = { admin: `admin${HOSTILE}`, writer: `writer${HOSTILE}`, readonly: `ro${HOSTILE}`, interserver: `is${HOSTILE}` };

function topology(raw: StackConfigInput, target: "loopback" | "kubernetes" = "loopback"): Topology {
  const config = parseStackConfig(raw as Record<string, unknown>, "test", { rejectPlaintextSecrets: true });
  return buildTopology(config, (target === "loopback" ? loopbackTarget : kubernetesTarget)(config), "t");
}

/** Parse XML back with an independent parser (attributes as "@name"; entities decoded; values kept as text). */
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseTagValue: false, parseAttributeValue: false, isArray: (_name, jpath) => /^yandex\.(remote_servers\.[^.]+\.shard(\.replica)?|zookeeper\.node)$/.test(String(jpath)) });
const parseXml = (xml: string) => parser.parse(xml, true) as { yandex: Record<string, any> };

describe("XML", () => {
  test("every value is escaped and parses back to itself", () => {
    const xml = configFile("purpose", [el("timezone", HOSTILE), el("password", undefined, { from_env: HOSTILE })]);
    assert.ok(xml.includes("&lt;&amp;"), "text is escaped");
    assert.ok(!xml.includes(`<&"`), "no raw markup from the value");
    const parsed = parseXml(xml).yandex;
    assert.equal(parsed.timezone, HOSTILE);
    assert.equal(parsed.password["@from_env"], HOSTILE);
  });

  test("header comments cannot be closed from inside", () => {
    assert.throws(() => configFile("a --> b", []), /comment/);
  });

  test("element names are checked, not escaped", () => {
    assert.throws(() => el("a b"), /not a valid XML element name/);
    assert.throws(() => el("x><y"), /not a valid XML element name/);
  });

  test("a string setting with markup and non-ASCII reaches the file escaped", () => {
    const t = topology({ clickhouse: { settings: { timezone: `Europe/<&"é>` } } });
    const xml = renderClickHouseCommon(t, hashPasswords(PASSWORDS))[F.serverSettings]!;
    assert.equal(parseXml(xml).yandex.timezone, `Europe/<&"é>`);
  });
});

describe("users and passwords", () => {
  test("password_sha256_hex is the SHA-256 of the UTF-8 password", () => {
    // Known vector: SHA-256("abc").
    assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const t = topology({});
    const users = parseXml(renderUsers(t, hashPasswords(PASSWORDS))).yandex.users;
    assert.equal(users.chstack_admin.password_sha256_hex, sha256Hex(PASSWORDS.admin));
    assert.equal(users.chstack_app.password_sha256_hex, sha256Hex(PASSWORDS.writer));
    for (const u of ["chstack_admin", "chstack_app", "chstack_reader", "chstack_interserver"]) {
      assert.deepEqual(Object.keys(users[u]).sort(), ["networks", "password", "password_sha256_hex", "profile", "quota"].filter((k) => k !== "password").sort(), `${u}: sha256 only, no password element`);
    }
    assert.equal(users.default["@remove"], "remove", "the stock passwordless default user is removed");
    assert.deepEqual(
      [users.chstack_admin.profile, users.chstack_app.profile, users.chstack_reader.profile, users.chstack_interserver.profile],
      ["chstack_admin", "chstack_writer", "chstack_readonly", "chstack_writer"],
    );
  });

  test("the inter-server password for from_env is XML-escaped (ClickHouse parses the value as XML)", () => {
    assert.equal(interserverPasswordForEnv(`a<b&c"d>é`), "a&lt;b&amp;c&quot;d&gt;é");
    assert.equal(parser.parse(`<p>${interserverPasswordForEnv(HOSTILE)}</p>`, true).p, HOSTILE.replace(/^\s+|\s+$/g, ""));
  });

  test("a malformed hash is refused", () => {
    assert.throws(() => renderUsers(topology({}), { ...hashPasswords(PASSWORDS), admin: "not-a-hash" }), /admin must be 64 lowercase hex/);
  });

  for (const target of ["loopback", "kubernetes"] as const) {
    test(`no password, raw or escaped, in any rendered file (${target})`, () => {
      const t = topology({ clickhouse: { shards: 2, replicas: 2 } }, target);
      const files = { ...renderClickHouseCommon(t, hashPasswords(PASSWORDS)), ...Object.assign({}, ...t.hosts.map(renderClickHouseHost)) };
      const escaped = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
      for (const [path, content] of Object.entries(files as Record<string, string>)) {
        for (const pw of Object.values(PASSWORDS)) {
          assert.ok(!content.includes(pw) && !content.includes(escaped(pw)), `${path} holds a password`);
        }
      }
    });
  }

  test("the golden renderings hold no golden password", () => {
    const passwords = Object.values(clickhousePasswords(goldenSecrets()));
    for (const name of GOLDENS) {
      for (const [path, content] of Object.entries(renderGolden(name))) {
        for (const pw of passwords) assert.ok(!content.includes(pw), `${name}/${path} holds a password`);
      }
    }
  });
});

describe("cluster files", () => {
  test("remote_servers: every shard and replica, internal replication, password from the environment", () => {
    const t = topology({ clickhouse: { cluster: "events", shards: 3, replicas: 2 } });
    const rs = parseXml(renderClickHouseCommon(t, hashPasswords(PASSWORDS))[F.remoteServers]!).yandex.remote_servers;
    assert.equal(rs["@replace"], "replace");
    const shards = rs.events.shard as any[];
    assert.equal(shards.length, 3);
    shards.forEach((shard, s) => {
      assert.equal(shard.internal_replication, "true");
      assert.deepEqual(
        shard.replica.map((r: any) => Number(r.port)),
        t.shards[s]!.hosts.map((h) => h.endpoint.ports.tcp),
      );
      for (const r of shard.replica) {
        assert.equal(r.user, "chstack_interserver");
        assert.deepEqual(r.password, { "@from_env": "CHSTACK_INTERSERVER_PASSWORD" }, "no password text, only from_env");
      }
    });
  });

  test("remote_servers: the one-shard cluster lists every host as a replica of one shard, only when configured", () => {
    const t = topology({ clickhouse: { cluster: "events", shards: 3, replicas: 2, singleShardCluster: "events_single_shard" } });
    const rs = parseXml(renderClickHouseCommon(t, hashPasswords(PASSWORDS))[F.remoteServers]!).yandex.remote_servers;
    assert.equal((rs.events.shard as any[]).length, 3, "the stack's cluster is unchanged");
    const one = rs.events_single_shard.shard as any[];
    assert.equal(one.length, 1);
    assert.equal(one[0].internal_replication, "true");
    assert.deepEqual(one[0].replica.map((r: any) => Number(r.port)), t.hosts.map((h) => h.endpoint.ports.tcp));
    assert.ok(one[0].replica.every((r: any) => r.password["@from_env"] === "CHSTACK_INTERSERVER_PASSWORD"));
    const plain = parseXml(renderClickHouseCommon(topology({ clickhouse: { cluster: "events", shards: 3, replicas: 2 } }), hashPasswords(PASSWORDS))[F.remoteServers]!).yandex.remote_servers;
    assert.deepEqual(Object.keys(plain).filter((k) => !k.startsWith("@")), ["events"]);
  });

  test("macros, ZooKeeper with the cluster root, distributed DDL", () => {
    const t = topology({ clickhouse: { cluster: "events", shards: 2, replicas: 2 }, coordination: { size: 3 } });
    const host = t.shards[1]!.hosts[0]!;
    assert.deepEqual(parseXml(renderClickHouseHost(host)[F.macros]!).yandex.macros, { cluster: "events", shard: "1", replica: "chi-events-1-0" });
    const common = renderClickHouseCommon(t, hashPasswords(PASSWORDS));
    const zk = parseXml(common[F.zookeeper]!).yandex.zookeeper;
    assert.equal(zk.root, "/clickhouse/events");
    assert.deepEqual(zk.node.map((n: any) => [n["@index"], Number(n.port)]), t.coordination.nodes.map((n) => [String(n.id), n.endpoint.ports.client]));
    assert.equal(parseXml(common[F.distributedDdl]!).yandex.distributed_ddl.path, "/clickhouse/task_queue/ddl");
  });

  test("listen, ports, paths and logger come from the host's endpoint and paths", () => {
    const t = topology({ clickhouse: { shards: 2 } });
    const host = t.hosts[1]!;
    const files = renderClickHouseHost(host);
    const listen = parseXml(files[F.listen]!).yandex;
    assert.deepEqual(
      [listen.listen_host, Number(listen.tcp_port), Number(listen.http_port), Number(listen.interserver_http_port), listen.interserver_http_host],
      ["127.0.0.1", host.endpoint.ports.tcp, host.endpoint.ports.http, host.endpoint.ports.interserver, "127.0.0.1"],
    );
    assert.equal(parseXml(files[F.paths]!).yandex.path, host.paths.data);
    assert.equal(parseXml(files[F.logger]!).yandex.logger.log, host.paths.log);
  });

  test("profiles: role privileges and the memory limit", () => {
    const t = topology({ clickhouse: { profiles: { default: { max_memory_usage: 1000000000 } } } });
    const profiles = parseXml(renderClickHouseCommon(t, hashPasswords(PASSWORDS))[F.profiles]!).yandex.profiles;
    assert.equal(profiles.default.max_memory_usage, "1000000000");
    assert.equal(profiles.chstack_readonly.readonly, "1");
    assert.equal(profiles.chstack_writer.allow_ddl, "0");
    assert.equal(profiles.chstack_writer.insert_distributed_sync, "1");
    assert.equal(profiles.chstack_admin.allow_ddl, "1");
  });

  test("a server's full file set: base files plus common plus its own", () => {
    const t = topology({});
    const files = renderClickHouseServer(t, t.hosts[0]!, hashPasswords(PASSWORDS));
    assert.deepEqual(Object.keys(files).sort(), Object.values(F).sort());
    for (const [path, xml] of Object.entries(files)) assert.ok(parseXml(xml).yandex !== undefined, `${path} has a <yandex> root`);
  });
});

describe("one renderer, two targets", () => {
  test("files without addresses or paths are identical; the others differ only there", () => {
    const raw: StackConfigInput = { clickhouse: { shards: 2, replicas: 2 }, coordination: { size: 3 } };
    const loop = topology(raw, "loopback");
    const kube = topology(raw, "kubernetes");
    const hashes = hashPasswords(PASSWORDS);
    const [lc, kc] = [renderClickHouseCommon(loop, hashes), renderClickHouseCommon(kube, hashes)];
    for (const f of [F.distributedDdl, F.serverSettings, F.profiles, F.quotas]) assert.equal(lc[f], kc[f], f);
    loop.hosts.forEach((h, i) => assert.equal(renderClickHouseHost(h)[F.macros], renderClickHouseHost(kube.hosts[i]!)[F.macros]));
    // Swap each loopback address for its Kubernetes counterpart: remote_servers and zookeeper become equal.
    let swapped = lc[F.remoteServers]!;
    loop.hosts.forEach((h, i) => {
      swapped = swapped.replace(`<host>127.0.0.1</host>\n          <port>${h.endpoint.ports.tcp}</port>`, `<host>${kube.hosts[i]!.endpoint.host}</host>\n          <port>9000</port>`);
    });
    assert.equal(swapped, kc[F.remoteServers]);
  });
});

describe("zoo.cfg", () => {
  test("a single node runs standalone; an ensemble lists every server", () => {
    const one = topology({});
    assert.ok(!renderZooCfg(one, one.coordination.nodes[0]!).includes("server."));
    const five = topology({ coordination: { size: 5 } });
    const cfg = renderZooCfg(five, five.coordination.nodes[2]!);
    const servers = cfg.split("\n").filter((l) => l.startsWith("server."));
    assert.deepEqual(servers, five.coordination.nodes.map((n) => `server.${n.id}=127.0.0.1:${n.endpoint.ports.peer}:${n.endpoint.ports.election}`));
    assert.ok(cfg.includes(`clientPort=${five.coordination.nodes[2]!.endpoint.ports.client}\n`));
    assert.ok(cfg.includes("clientPortAddress=127.0.0.1\n") && cfg.includes("admin.enableServer=false\n"));
    assert.equal(renderMyid(five.coordination.nodes[2]!), "3\n");
  });

  test("on Kubernetes every pod gets the same zoo.cfg (myid comes from the ordinal)", () => {
    const t = topology({ coordination: { size: 3 } }, "kubernetes");
    const cfgs = t.coordination.nodes.map((n) => renderZooCfg(t, n));
    assert.equal(new Set(cfgs).size, 1);
    assert.ok(cfgs[0]!.includes("quorumListenOnAllIPs=true"));
    assert.ok(cfgs[0]!.includes("server.2=zk-posthog-1.zk-posthog-headless.chstack.svc.cluster.local:2888:3888"));
  });

  test("Keeper is refused by the loopback rendering, naming the field", () => {
    const t = topology({ coordination: { kind: "keeper", size: 3 } });
    assert.throws(() => renderLoopback(t, hashPasswords(PASSWORDS)), /coordination\.kind: the loopback target runs ZooKeeper only/);
  });
});
