// Secrets only in Secrets; every invariant able to fail; unknown fields are compile errors; the StatefulSet guard.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { objectProblems } from "../../infra/k8s/validate.ts";
import { byKind, object, runK8s } from "../support/k8s.ts";

const SENTINEL = "SENTINEL-7f3a9c";
const CONFIG = {
  clickhouse: { cluster: "events", shards: 2, replicas: 2 },
  app: { image: "ghcr.io/example/app:1.0", env: { LOG_LEVEL: "info" }, secretEnv: { API_KEY: "decrypted-by-engine-value" } },
};

describe("secrets", () => {
  const run = runK8s(CONFIG, { sentinel: SENTINEL });

  test("a generated password appears inside Secret objects and nowhere else", () => {
    assert.ok(run.ok, run.error);
    const holders = run.objects.filter((o) => JSON.stringify(o).includes(SENTINEL)).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(holders.sort(), ["Secret/app-events-bootstrap", "Secret/chi-events-users-credentials", "Secret/pg-events-credentials"]);
    assert.ok(!JSON.stringify(run.outputs).includes(SENTINEL), "not in stack outputs");
    for (const o of run.objects) {
      assert.ok(!JSON.stringify(o.metadata).includes(SENTINEL), `${o.kind}/${o.metadata.name}: not in labels or annotations`);
    }
  });

  test("the users file carries password hashes only, and sits in a Secret", () => {
    const users = object(run, "Secret", "chi-events-users")!;
    const xml = users.stringData["chstack-users.xml"] as string;
    assert.match(xml, /<password_sha256_hex>[0-9a-f]{64}<\/password_sha256_hex>/);
    assert.ok(!xml.includes(SENTINEL));
    for (const cm of byKind(run, "ConfigMap")) assert.ok(!Object.keys(cm.data).includes("chstack-users.xml"), `${cm.metadata.name} has no users file`);
  });

  test("no env literal holds a secret: passwords and secretEnv come from Secrets by reference", () => {
    for (const o of [...byKind(run, "StatefulSet"), ...byKind(run, "Deployment")]) {
      for (const c of [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers]) {
        for (const e of c.env ?? []) {
          if (/PASSWORD|API_KEY|DATABASE_URL|TOKEN/.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef && e.value === undefined, `${o.metadata.name}: ${e.name} is a secret reference`);
          assert.ok(!String(e.value ?? "").includes("decrypted-by-engine-value"));
        }
      }
    }
    assert.equal(object(run, "Secret", "app-events-env")!.stringData.API_KEY, "decrypted-by-engine-value");
  });
});

describe("invariants: each can fail", () => {
  const good = {
    apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "ok" },
    spec: {
      serviceName: "ok", replicas: 1, selector: { matchLabels: { a: "b" } },
      template: {
        metadata: { labels: { a: "b" } },
        spec: { containers: [{ name: "c", image: "x:1", readinessProbe: { tcpSocket: { port: 1 } }, resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "1Gi" } }, securityContext: { allowPrivilegeEscalation: false } }] },
      },
    },
  };
  const broken = (change: (o: any) => void) => {
    const o = structuredClone(good);
    change(o);
    return objectProblems(o);
  };

  test("a well-formed object has no problem", () => assert.deepEqual(objectProblems(good), []));
  const cases: [string, (o: any) => void, RegExp][] = [
    ["a container without an image", (o) => delete o.spec.template.spec.containers[0].image, /has no image/],
    ["a container without requests", (o) => delete o.spec.template.spec.containers[0].resources.requests, /no cpu and memory requests/],
    ["a container without a memory limit", (o) => delete o.spec.template.spec.containers[0].resources.limits, /no memory limit/],
    ["replicas 0", (o) => (o.spec.replicas = 0), /replicas must be an integer >= 1/],
    ["replicas -1", (o) => (o.spec.replicas = -1), /replicas must be an integer >= 1/],
    ["a name that is not a DNS-1123 label", (o) => (o.metadata.name = "Bad_Name"), /DNS-1123 label/],
    ["a container without a readiness probe", (o) => delete o.spec.template.spec.containers[0].readinessProbe, /no readiness probe/],
    ["privilege escalation allowed", (o) => delete o.spec.template.spec.containers[0].securityContext, /may escalate privileges/],
    ["no containers", (o) => (o.spec.template.spec.containers = []), /no containers/],
    ["replicas as a string (kubernetes-models)", (o) => (o.spec.replicas = "two"), /StatefulSet\/ok: .*replicas/],
    ["a missing selector (kubernetes-models)", (o) => delete o.spec.selector, /selector/],
    ["an unknown kind", (o) => (o.kind = "CronJob"), /not a kind this program emits/],
  ];
  for (const [what, change, rule] of cases) {
    test(what, () => assert.ok(broken(change).some((p) => rule.test(p)), JSON.stringify(broken(change))));
  }
});

describe("the StatefulSet guard", () => {
  const first = runK8s(CONFIG);

  test("the same config again: accepted", () => {
    assert.ok(first.ok, first.error);
    const again = runK8s(CONFIG, { previousOutputs: { statefulSetShapes: first.outputs.statefulSetShapes } });
    assert.ok(again.ok, again.error);
  });

  test("a new storage size (volumeClaimTemplates) is refused at program time, naming the StatefulSets", () => {
    const bigger = runK8s({ ...CONFIG, clickhouse: { ...CONFIG.clickhouse, storage: { size: "50Gi" } } }, { previousOutputs: { statefulSetShapes: first.outputs.statefulSetShapes } });
    assert.equal(bigger.ok, false);
    assert.match(bigger.error ?? "", /StatefulSet chi-events-0-0: volumeClaimTemplates would change, which Kubernetes cannot do in place/);
    // Found on a real cluster: the refusal ran beside the registrations, and the engine went on to replace a StatefulSet.
    assert.deepEqual(bigger.objects.map((o) => `${o.kind}/${o.metadata?.name}`), [], "no Kubernetes object reaches the engine");
  });

  describe("removing hosts (infra/model/change.ts: check, unpublish, stop, clean)", () => {
    const grown = runK8s({ ...CONFIG, clickhouse: { ...CONFIG.clickhouse, replicas: 3 } }, { previousOutputs: { statefulSetShapes: first.outputs.statefulSetShapes } });
    const fewer = runK8s(CONFIG, { previousOutputs: grown.outputs });
    type Run = typeof fewer;
    const res = (run: Run, type: string, suffix: string) => run.resources.find((x) => x.type === type && x.name.endsWith(suffix));
    const sts = (run: Run, host: string) => res(run, "kubernetes:apps/v1:StatefulSet", `-${host}`)!;
    const cm = (run: Run) => res(run, "kubernetes:core/v1:ConfigMap", "-remote-servers")!;
    const job = (run: Run, mode: string) => res(run, "kubernetes:batch/v1:Job", `-retire-${mode}-job`);
    const inputOf = (run: Run, mode: string) => JSON.parse(job(run, mode)!.inputs.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "CHSTACK_RETIRE_INPUT").value);

    test("the removed replicas: checked, then unpublished, then stopped at 0 replicas (protected, volumes kept), then cleaned", () => {
      assert.ok(grown.ok && fewer.ok, fewer.error);
      const check = job(fewer, "check")!;
      const clean = job(fewer, "clean")!;
      const kept = ["chi-events-0-0", "chi-events-0-1", "chi-events-1-0", "chi-events-1-1"];
      assert.deepEqual(kept.filter((h) => !check.dependsOn.includes(sts(fewer, h).urn)), [], "the check waits for every host that stays");
      assert.ok(cm(fewer).dependsOn.includes(check.urn), "remote_servers changes only after the check");
      assert.equal((cm(fewer).inputs.data["chstack-remote-servers.xml"].match(/<replica>/g) ?? []).length, 4);
      for (const h of ["chi-events-0-2", "chi-events-1-2"]) {
        const s = sts(fewer, h);
        assert.equal(s.inputs.spec.replicas, 0, `${h} scaled to 0`);
        assert.equal(s.protect, true);
        assert.ok(s.dependsOn.includes(cm(fewer).urn), `${h} stops after remote_servers no longer lists it`);
        assert.ok(clean.dependsOn.includes(s.urn), `the clean-up waits for ${h} to stop`);
        assert.equal(fewer.outputs.statefulSetShapes[h], grown.outputs.statefulSetShapes[h], "its shape (and volume claim) is unchanged");
      }
      for (const h of kept) assert.deepEqual(sts(fewer, h).inputs.spec, sts(grown, h).inputs.spec, `${h} is not touched`);
      const input = inputOf(fewer, "check");
      assert.deepEqual(input.removedReplicas.map((r: { host: { name: string }; keeper: { name: string } }) => [r.host.name, r.keeper.name]), [["chi-events-0-2", "chi-events-0-0"], ["chi-events-1-2", "chi-events-1-0"]]);
      assert.deepEqual(input.removedShards, []);
      assert.deepEqual(inputOf(fewer, "clean").clean, ["chi-events-0-2", "chi-events-1-2"]);
      assert.deepEqual(inputOf(fewer, "clean").zookeeper, { connect: "zk-events-0.zk-events-headless.chstack.svc.cluster.local:2181", root: "/clickhouse/events" });
      assert.deepEqual(fewer.outputs.retiredHosts, ["chi-events-0-2", "chi-events-1-2"]);
    });

    test("a later run keeps them at 0 replicas and runs no retire Job", () => {
      const again = runK8s(CONFIG, { previousOutputs: fewer.outputs });
      assert.ok(again.ok, again.error);
      assert.equal(sts(again, "chi-events-0-2").inputs.spec.replicas, 0);
      assert.equal(job(again, "check"), undefined);
      assert.equal(job(again, "clean"), undefined);
      assert.deepEqual(again.outputs.retiredHosts, fewer.outputs.retiredHosts);
    });

    test("a removed shard: the check Job is given its hosts and chstack:scaling.allowDropShard", () => {
      const oneShard = { ...CONFIG, clickhouse: { ...CONFIG.clickhouse, shards: 1, replicas: 3 } };
      for (const allow of [false, true]) {
        const run = runK8s({ ...oneShard, scaling: { allowDropShard: allow } }, { previousOutputs: grown.outputs });
        assert.ok(run.ok, run.error);
        const input = inputOf(run, "check");
        assert.deepEqual(input.removedShards.map((x: { shard: number; hosts: { name: string }[] }) => [x.shard, x.hosts.map((h) => h.name)]), [[1, ["chi-events-1-0", "chi-events-1-1", "chi-events-1-2"]]]);
        assert.equal(input.allowDropShard, allow);
        assert.equal(input.staying.name, "chi-events-0-0");
      }
    });

    test("bringing a removed host back is refused at program time: no Kubernetes object reaches the engine", () => {
      const back = runK8s({ ...CONFIG, clickhouse: { ...CONFIG.clickhouse, replicas: 3 } }, { previousOutputs: fewer.outputs });
      assert.equal(back.ok, false);
      assert.match(back.error ?? "", /ClickHouse host chi-events-0-2 was removed by an earlier run and its volume still holds its old data/);
      assert.deepEqual(back.objects, []);
    });
  });

  test("adding a replica is not a change to any existing StatefulSet", () => {
    const more = runK8s({ ...CONFIG, clickhouse: { ...CONFIG.clickhouse, replicas: 3 } }, { previousOutputs: { statefulSetShapes: first.outputs.statefulSetShapes } });
    assert.ok(more.ok, more.error);
    // Found on a real cluster: ClickHouse 18.16 reloading a remote_servers that names a host not yet in DNS
    // fails and is left with no cluster. The new list waits for the new hosts, and only for them.
    const waitsOn = (run: typeof more) => {
      const cm = run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.endsWith("-remote-servers"))!;
      return run.resources.filter((r) => cm.dependsOn.includes(r.urn) && r.type === "kubernetes:apps/v1:StatefulSet").map((r) => r.inputs.metadata.name).sort();
    };
    assert.deepEqual(waitsOn(more), ["chi-events-0-2", "chi-events-1-2"]);
    assert.deepEqual(waitsOn(first), [], "a first install publishes the list with the hosts");
    // ... and for the schema Job: a Distributed query must never reach a host that lacks the table.
    const cmOf = (run: typeof more) => run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.endsWith("-remote-servers"))!;
    const schemaUrn = more.resources.find((r) => r.type === "chstack:index:Schema")!.urn;
    assert.ok(cmOf(more).dependsOn.includes(schemaUrn), "the new list waits for the schema Job");
    assert.ok(!cmOf(first).dependsOn.includes(schemaUrn), "on a first install the Job needs the list: no cycle");
    const again = runK8s(CONFIG, { previousOutputs: { statefulSetShapes: first.outputs.statefulSetShapes } });
    assert.ok(!cmOf(again).dependsOn.includes(schemaUrn), "no new host: nothing to wait for");
  });
});
