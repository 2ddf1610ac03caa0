// The Pulumi program under pulumi.runtime.setMocks: it reads the same config keys the stack file holds.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../infra/config/errors.ts";
import { loadPulumiStackConfig } from "../../infra/config/pulumi.ts";
import { GENERATED_PASSWORD } from "../../infra/k8s/generated-password.ts";

test("the program reads chstack: config through the engine and exports the Kubernetes topology", async () => {
  // Config and mocks first, then the program (it reads config at import).
  pulumi.runtime.setAllConfig({
    "chstack:clickhouse": JSON.stringify({ cluster: "events", shards: 3, replicas: 2 }),
    "chstack:coordination": JSON.stringify({ size: 3 }),
    "chstack:kubernetes": JSON.stringify({ namespace: "analytics" }),
    "chstack:postgres": JSON.stringify({ password: "decrypted-by-the-engine" }),
    "kubernetes:context": "kind-kind",
  });
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => ({
        id: `${a.name}-id`,
        state: a.type === "pulumi:pulumi:StackReference" ? { ...a.inputs, outputs: {} }
          : a.type === GENERATED_PASSWORD ? { ...a.inputs, result: "generated" }
          : a.inputs,
      }),
      call: (a) => a.inputs,
    },
    "chstack",
    "staging",
    false,
    "organization",
  );
  const program = await import("../../index.ts");
  assert.equal(program.topology.cluster, "events");
  assert.equal(program.topology.namespace, "analytics");
  assert.deepEqual([program.topology.shards, program.topology.replicas], [3, 2]);
  assert.deepEqual(program.topology.hosts.slice(4), ["chi-events-2-0.analytics.svc.cluster.local", "chi-events-2-1.analytics.svc.cluster.local"]);
  assert.deepEqual(program.topology.coordination, [0, 1, 2].map((i) => `zk-events-${i}.zk-events-headless.analytics.svc.cluster.local`));
  assert.deepEqual(program.clickhouse, { host: "clickhouse-events.analytics.svc.cluster.local", ports: { tcp: 9000, http: 8123 } });
  assert.equal(program.postgresHost, "pg-events.analytics.svc.cluster.local");
  assert.equal(program.appUrl, null);

  // The same schema refuses a bad value, naming the stack file and the field.
  pulumi.runtime.setAllConfig({ "chstack:clickhouse": JSON.stringify({ shards: 0 }) });
  assert.throws(loadPulumiStackConfig, (e: unknown) =>
    e instanceof ConfigError && e.source === "Pulumi.staging.yaml" && e.problems.includes("clickhouse.shards: must be an integer from 1 to 256, got 0"));
});
