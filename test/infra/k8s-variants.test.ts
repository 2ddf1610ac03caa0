// The other coordination and Postgres modes, under mocks only: ClickHouse Keeper cannot run on this
// machine (18.16 has none), and an external Postgres is someone else's server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { XMLParser } from "fast-xml-parser";
import { validateObjects } from "../../infra/k8s/validate.ts";
import { byKind, object, runK8s } from "../support/k8s.ts";

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseTagValue: false, isArray: (n) => n === "server" || n === "node" });

describe("ClickHouse Keeper instead of ZooKeeper", () => {
  const run = runK8s({ clickhouse: { cluster: "events", shards: 2, replicas: 2 }, coordination: { kind: "keeper", size: 3 } });

  test("a Keeper StatefulSet of 3 with its raft configuration; no ZooKeeper", () => {
    assert.ok(run.ok, run.error);
    assert.deepEqual(validateObjects(run.objects), []);
    assert.equal(object(run, "StatefulSet", "zk-events"), undefined);
    const sts = object(run, "StatefulSet", "chk-events")!;
    assert.deepEqual([sts.spec.replicas, sts.spec.podManagementPolicy], [3, "Parallel"]);
    const keeper = xml.parse(object(run, "ConfigMap", "chk-events-config")!.data["keeper_config.xml"]).yandex.keeper_server;
    assert.equal(keeper.tcp_port, "9181");
    assert.deepEqual(keeper.server_id, { "@from_env": "KEEPER_SERVER_ID" });
    assert.deepEqual(keeper.raft_configuration.server.map((s: any) => [s.id, s.hostname, s.port]), [0, 1, 2].map((i) => [String(i + 1), `chk-events-${i}.chk-events-headless.chstack.svc.cluster.local`, "9234"]));
    assert.equal(object(run, "PodDisruptionBudget", "chk-events")!.spec.minAvailable, 2);
  });

  test("ClickHouse uses Keeper's client port, and its init container creates the root with keeper-client", () => {
    const zk = xml.parse(object(run, "ConfigMap", "chi-events-common")!.data["chstack-zookeeper.xml"]).yandex.zookeeper;
    assert.deepEqual(zk.node.map((n: any) => [n.host, n.port]), [0, 1, 2].map((i) => [`chk-events-${i}.chk-events-headless.chstack.svc.cluster.local`, "9181"]));
    const init = object(run, "StatefulSet", "chi-events-0-0")!.spec.template.spec.initContainers[0];
    assert.match(init.command.at(-1), /clickhouse keeper-client -h chk-events\.chstack\.svc\.cluster\.local -p 9181 -q "touch '\/clickhouse'"/);
    const policy = byKind(run, "NetworkPolicy").find((p) => p.metadata.name === "allow-keeper-events")!;
    assert.deepEqual(policy.spec.ingress[0].ports, [{ protocol: "TCP", port: 9181 }]);
  });
});

describe("an external Postgres", () => {
  const run = runK8s({ postgres: { mode: "external", url: "postgres://u:pw@db.example.com:5432/posthog" }, app: { image: "ghcr.io/example/app:1.0" } });

  test("no Postgres server, its URL in a Secret, the app wired to it", () => {
    assert.ok(run.ok, run.error);
    assert.equal(object(run, "StatefulSet", "pg-posthog"), undefined);
    assert.equal(byKind(run, "NetworkPolicy").some((p) => p.metadata.name.startsWith("allow-postgres")), false);
    assert.equal(object(run, "Secret", "pg-posthog-credentials")!.stringData.DATABASE_URL, "postgres://u:pw@db.example.com:5432/posthog");
    const env = object(run, "Deployment", "app-posthog")!.spec.template.spec.containers[0].env;
    assert.deepEqual(env.find((e: any) => e.name === "DATABASE_URL").valueFrom, { secretKeyRef: { name: "pg-posthog-credentials", key: "DATABASE_URL" } });
    assert.equal(run.outputs.postgresHost, "(external)");
    assert.ok(!JSON.stringify(run.outputs).includes("pw@"));
  });
});
