// The resource graph of the Kubernetes program for 1x1, 2x2 and 3x2, recorded under mocks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { validateObjects } from "../../infra/k8s/validate.ts";
import { byKind, object, resource, runK8s } from "../support/k8s.ts";

const APP = { image: "ghcr.io/example/app:1.0", env: { LOG_LEVEL: "info" } };
const RECOMMENDED = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"];

for (const [shards, replicas, zkNodes] of [[1, 1, 1], [2, 2, 1], [3, 2, 3]] as const) {
  describe(`${shards}x${replicas} with ${zkNodes} ZooKeeper node(s) and an app`, () => {
    const run = runK8s({ clickhouse: { cluster: "events", shards, replicas }, coordination: { size: zkNodes }, kubernetes: { namespace: "analytics", labels: { team: "data" } }, app: APP });
    const hosts = Array.from({ length: shards }, (_, s) => Array.from({ length: replicas }, (_, r) => `chi-events-${s}-${r}`)).flat();

    test("runs, and every object passes kubernetes-models and our invariants", () => {
      assert.ok(run.ok, run.error);
      assert.ok(run.objects.length > 0);
      assert.deepEqual(validateObjects(run.objects), []);
    });

    test("counts and names", () => {
      const expected = 19 + 3 * shards * replicas + 2 * shards + 3; // 19 fixed (schema Job and its ConfigMap included), 3 per host, 2 per shard, 3 for the app (Deployment, Service, bootstrap Secret)
      assert.equal(run.objects.length, expected);
      assert.deepEqual(byKind(run, "StatefulSet").map((o) => o.metadata.name).sort(), [...hosts, "pg-events", "zk-events"].sort());
      assert.deepEqual(byKind(run, "Service").map((o) => o.metadata.name).sort(), [
        ...hosts, ...Array.from({ length: shards }, (_, s) => `shard-events-${s}`), "app-events", "clickhouse-events", "pg-events", "zk-events", "zk-events-headless",
      ].sort());
      for (let s = 0; s < shards; s++) assert.equal(object(run, "Service", `shard-events-${s}`)!.spec.clusterIP, "None", "a headless Service per shard");
      assert.equal(object(run, "Service", "clickhouse-events")!.spec.clusterIP, undefined, "the cluster Service balances");
      assert.deepEqual(byKind(run, "PodDisruptionBudget").map((o) => o.metadata.name).sort(), [...Array.from({ length: shards }, (_, s) => `shard-events-${s}`), "zk-events"].sort());
      assert.ok(run.objects.every((o) => o.kind === "Namespace" || o.metadata.namespace === "analytics"), "every object in the namespace");
    });

    test("recommended labels and the stack's own on every object", () => {
      for (const o of run.objects) {
        for (const key of RECOMMENDED) assert.ok(o.metadata.labels?.[key], `${o.kind}/${o.metadata.name} has ${key}`);
        assert.equal(o.metadata.labels.team, "data");
      }
    });

    test("parents, ordering and protection", () => {
      const types = run.resources.map((r) => r.type);
      for (const t of ["chstack:index:ZooKeeper", "chstack:index:ClickHouseCluster", "chstack:index:Schema", "chstack:index:Postgres", "chstack:index:App"]) assert.equal(types.filter((x) => x === t).length, 1, t);
      for (const r of run.resources.filter((x) => x.type === "kubernetes:apps/v1:StatefulSet")) {
        assert.ok(r.parent && /chstack:index:(ZooKeeper|ClickHouseCluster|Postgres)::/.test(r.parent), `${r.name} is parented to its component`);
        assert.equal(r.protect, true, `${r.name} holds data: protected`);
      }
      const ch = resource(run, "chstack:index:ClickHouseCluster", "clickhouse")!;
      assert.ok(ch.dependsOn.some((d) => d.endsWith("::zookeeper")), "ClickHouse after ZooKeeper");
      const schemaDeps = resource(run, "chstack:index:Schema", "schema")!.dependsOn;
      const hosts = run.resources.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name.startsWith("clickhouse-chi-")).map((r) => r.urn);
      assert.ok(hosts.length > 0 && hosts.every((u) => schemaDeps.includes(u)), "the schema after every ClickHouse host");
      assert.ok(resource(run, "chstack:index:App", "app")!.dependsOn.some((d) => d.endsWith("::schema")), "the app after the schema");
      for (let s = 0; s < shards; s++) {
        assert.deepEqual(resource(run, "kubernetes:apps/v1:StatefulSet", `clickhouse-chi-events-${s}-0`)!.dependsOn, [], "the first replica of a shard waits for no other");
        for (let r = 1; r < replicas; r++) {
          const deps = resource(run, "kubernetes:apps/v1:StatefulSet", `clickhouse-chi-events-${s}-${r}`)!.dependsOn;
          assert.deepEqual(deps.map((d) => d.split("::").at(-1)), [`clickhouse-chi-events-${s}-${r - 1}`], "replicas of a shard roll one after another");
        }
      }
    });

    test("every object goes through one provider that updates ConfigMaps and Secrets in place", () => {
      // With the provider's default, a changed ConfigMap (remote_servers, on a new replica) is deleted and
      // replaced, and with it every StatefulSet that mounts it: seen on the real cluster (e2e step 4).
      const providers = run.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
      assert.equal(providers.length, 1);
      const p = providers[0]!;
      assert.equal(String(p.inputs.enableConfigMapMutable), "true");
      assert.equal(String(p.inputs.enableSecretMutable), "true");
      const custom = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
      assert.deepEqual(custom.filter((r) => r.provider !== p.urn).map((r) => r.name), []);
    });

    test("ClickHouse pods: anti-affinity per shard, probes, security context, Secrets by name", () => {
      const secrets = new Set(byKind(run, "Secret").map((o) => o.metadata.name));
      const configMaps = new Set(byKind(run, "ConfigMap").map((o) => o.metadata.name));
      for (const name of hosts) {
        const sts = object(run, "StatefulSet", name)!;
        const pod = sts.spec.template.spec;
        const shard = name.split("-")[2]!;
        const anti = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
        assert.equal(anti.topologyKey, "kubernetes.io/hostname");
        assert.equal(anti.labelSelector.matchLabels["chstack.dev/shard"], shard);
        const c = pod.containers[0];
        assert.equal(c.readinessProbe.httpGet.path, "/replicas_status");
        assert.equal(c.livenessProbe.httpGet.path, "/ping");
        assert.deepEqual([pod.securityContext.runAsNonRoot, pod.securityContext.runAsUser, c.securityContext.allowPrivilegeEscalation], [true, 101, false]);
        assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
        for (const env of c.env.filter((e: any) => e.valueFrom)) assert.ok(secrets.has(env.valueFrom.secretKeyRef.name), `${name}: ${env.name} from an existing Secret`);
        for (const v of pod.volumes.filter((x: any) => x.projected)) {
          for (const src of v.projected.sources) {
            if (src.configMap) assert.ok(configMaps.has(src.configMap.name), `${name}: ConfigMap ${src.configMap.name} exists`);
            if (src.secret) assert.ok(secrets.has(src.secret.name), `${name}: Secret ${src.secret.name} exists`);
          }
        }
        assert.ok(!c.volumeMounts.some((m: any) => m.subPath), "no subPath: the kubelet delivers config changes");
      }
      const zk = object(run, "StatefulSet", "zk-events")!;
      assert.deepEqual([zk.spec.replicas, zk.spec.podManagementPolicy], [zkNodes, "Parallel"]);
      assert.equal(object(run, "Service", "zk-events-headless")!.spec.publishNotReadyAddresses, true);
      assert.equal(object(run, "PodDisruptionBudget", "zk-events")!.spec.minAvailable, Math.floor(zkNodes / 2) + 1, "keeps a quorum");
    });

    test("stack outputs: addresses and topology, no secret", () => {
      assert.equal(run.outputs.clickhouse.host, "clickhouse-events.analytics.svc.cluster.local");
      assert.equal(run.outputs.appUrl, "http://app-events.analytics.svc.cluster.local:8000");
      assert.ok(!JSON.stringify(run.outputs).includes("generated-at-pulumi-up"));
    });
  });
}
