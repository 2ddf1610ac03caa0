// The schema step in the cluster, under mocks: its bundle, its Job, its name and its input.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../../infra/config/load.ts";
import { buildSchemaBundle } from "../../infra/k8s/schema-bundle.ts";
import { BUNDLE_FILE, schemaJobInput } from "../../infra/k8s/schema.ts";
import { posthogSchema } from "../../schema/posthog.ts";
import { byKind, object, runK8s } from "../support/k8s.ts";

const BASE = { clickhouse: { cluster: "events", shards: 2, replicas: 2, users: { admin: { password: "engine-decrypted-admin" } } }, app: { image: "ghcr.io/example/app:1.0" } };

describe("the schema Job", () => {
  const run = runK8s(BASE, { sentinel: "SENTINEL-schema" });
  const job = byKind(run, "Job")[0]!;

  test("a Job on a stock Node image runs the bundle from a ConfigMap of the same name", () => {
    assert.ok(run.ok, run.error);
    assert.equal(job.metadata.name, run.outputs.schemaJob);
    assert.match(job.metadata.name, /^schema-events-[0-9a-f]{10}$/);
    const c = job.spec.template.spec.containers[0];
    assert.equal(c.image, "node:24-alpine");
    assert.deepEqual(c.command, ["node", `/job/${BUNDLE_FILE}`]);
    assert.equal(job.spec.template.spec.volumes[0].configMap.name, job.metadata.name);
    assert.equal(job.spec.template.metadata.labels["app.kubernetes.io/component"], "schema", "admitted by the ClickHouse NetworkPolicy");
    assert.deepEqual(c.env.find((e: any) => e.name === "CHSTACK_ADMIN_PASSWORD").valueFrom, { secretKeyRef: { name: "chi-events-users-credentials", key: "admin-password" } });
  });

  test("the ConfigMap carries exactly the bundle the builder makes, with room to spare", () => {
    const code = object(run, "ConfigMap", job.metadata.name)!.data[BUNDLE_FILE] as string;
    assert.equal(code, buildSchemaBundle(posthogSchema("posthog")).code);
    assert.ok(Buffer.byteLength(code) < 256 * 1024, `${Buffer.byteLength(code)} bytes, a ConfigMap takes 1 MiB`);
    assert.ok(!code.includes("zod"), "no validation library: the program validated the declaration");
  });

  test("its input holds no secret", () => {
    const input = job.spec.template.spec.containers[0].env.find((e: any) => e.name === "CHSTACK_SCHEMA_INPUT").value as string;
    assert.ok(!input.includes("engine-decrypted-admin") && !input.includes("SENTINEL-schema"));
    assert.equal(JSON.parse(input).config.clickhouse.cluster, "events");
    const config = parseStackConfig({ ...BASE, postgres: { mode: "external", url: "postgres://u:secretpw@h/db" }, app: { image: "x/y:1", secretEnv: { K: "secretenv" } } }, "t", { rejectPlaintextSecrets: false });
    const text = JSON.stringify(schemaJobInput(config, "t"));
    for (const secret of ["engine-decrypted-admin", "secretpw", "secretenv"]) assert.ok(!text.includes(secret), secret);
  });
});

describe("the Job's name", () => {
  const base = runK8s(BASE);
  test("does not change when nothing the schema reads changes (the app image, ClickHouse resources)", () => {
    const other = runK8s({ ...BASE, clickhouse: { ...BASE.clickhouse, resources: { limits: { memory: "8Gi" } } }, app: { image: "ghcr.io/example/app:2.0" } });
    assert.equal(other.outputs.schemaJob, base.outputs.schemaJob);
  });
  test("follows schema.declaration of the stack config: the module's tables are in the bundle", () => {
    const custom = runK8s({ ...BASE, schema: { declaration: "test/fixtures/declaration.mts" } });
    assert.ok(custom.ok, custom.error);
    assert.notEqual(custom.outputs.schemaJob, base.outputs.schemaJob);
    const code = object(custom, "ConfigMap", custom.outputs.schemaJob)!.data[BUNDLE_FILE] as string;
    assert.ok(code.includes("session_recording_events"));
    assert.ok(!(object(base, "ConfigMap", base.outputs.schemaJob)!.data[BUNDLE_FILE] as string).includes("session_recording_events"));
  });

  test("changes with the declaration (another database) and with the topology (another shard)", () => {
    assert.notEqual(runK8s({ ...BASE, clickhouse: { ...BASE.clickhouse, database: "analytics" } }).outputs.schemaJob, base.outputs.schemaJob);
    assert.notEqual(runK8s({ ...BASE, clickhouse: { ...BASE.clickhouse, shards: 3 } }).outputs.schemaJob, base.outputs.schemaJob);
  });
});

describe("images loaded into the nodes (kubernetes.imagePullPolicy, schema.jobImage)", () => {
  const loaded = runK8s({ ...BASE, kubernetes: { imagePullPolicy: "Never" }, schema: { jobImage: "chstack-standin/node:20" } });

  test("every container and init container of every workload gets the policy; the Job runs the configured image", () => {
    assert.ok(loaded.ok, loaded.error);
    const specs = ["StatefulSet", "Deployment", "Job"].flatMap((k) => byKind(loaded, k)).map((o: any) => o.spec.template.spec);
    const containers = specs.flatMap((s: any) => [...(s.initContainers ?? []), ...s.containers]);
    assert.ok(containers.length >= 8, `${containers.length} containers`);
    for (const c of containers) assert.equal(c.imagePullPolicy, "Never", c.name);
    assert.equal(byKind(loaded, "Job")[0]!.spec.template.spec.containers[0].image, "chstack-standin/node:20");
    const base = runK8s(BASE);
    assert.ok(["StatefulSet", "Job"].flatMap((k) => byKind(base, k)).every((o: any) => o.spec.template.spec.containers.every((c: any) => c.imagePullPolicy === undefined)), "unset by default");
  });

  test("neither changes the Job's name: the schema is not run again for them", () => {
    assert.equal(loaded.outputs.schemaJob, runK8s(BASE).outputs.schemaJob);
  });
});
