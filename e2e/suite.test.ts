// The program on a real cluster with the real Pulumi engine (e2e/run.sh brings the cluster up and down).
// Each step is a test; a step runs only when every step before it passed, as each builds on the last.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadStackConfig } from "../infra/config/load.ts";
import { loadDeclaration } from "../infra/declaration.ts";
import { hostPodName, postgresName, remoteServersConfigMapName, serviceFqdn, usersSecretName } from "../infra/model/names.ts";
import { kubernetesTarget } from "../infra/model/targets.ts";
import { buildTopology, type Topology } from "../infra/model/topology.ts";
import { CACHE, clickhouse, eventually, Kube, progress, ROOT, Runner, workCopy, type RunOptions } from "./support.ts";

const STACK = "e2e";
const ROWS = 100_000;
const runId = new Date().toISOString().replace(/[:.]/g, "-");
const r = new Runner(join(CACHE, "e2e", "logs", runId));
const passphrase = randomBytes(24).toString("base64url");
let work = "";
let env: NodeJS.ProcessEnv = {};
const timings: [string, number][] = [];
let broken: string | undefined;

/** A step: skipped work is a failure too, so that a broken step never lets the later ones pass. */
function step(name: string, body: () => Promise<void>): void {
  test(name, async () => {
    if (broken) throw new Error(`not run: "${broken}" failed`);
    const t0 = Date.now();
    progress(`step: ${name}`);
    try {
      await body();
    } catch (e) {
      broken = name;
      throw e;
    } finally {
      timings.push([name, (Date.now() - t0) / 1000]);
      progress(`step took ${((Date.now() - t0) / 1000).toFixed(0)}s: ${name}`);
    }
  });
}

const pulumi = (args: readonly string[], o: RunOptions = {}) =>
  r.run("pulumi", [...args, "--stack", STACK, "--non-interactive"], { cwd: work, env, secrets: [passphrase], ...o });
const npm = (args: readonly string[], o: RunOptions = {}) => r.run("npm", args, { cwd: work, env, secrets: [passphrase], stream: true, ...o });

type KubeObjectWithFields = { metadata: { managedFields?: { time: string }[] } };

function topology(): Topology {
  const { config } = loadStackConfig({ stack: STACK, dir: work });
  return buildTopology(config, kubernetesTarget(config), STACK);
}

let t: Topology;
let kube: Kube;
let query: (pod: string, sql: string) => Promise<string>;
let secretValues: string[] = [];

async function connect(): Promise<void> {
  t = topology();
  kube = new Kube(r, t.config.kubernetes.namespace);
  const creds = await kube.secret(`${usersSecretName(t.cluster)}-credentials`);
  const pg = await kube.secret(`${postgresName(t.cluster)}-credentials`);
  secretValues = [...Object.values(creds), pg.POSTGRES_PASSWORD!, pg.DATABASE_URL!];
  r.redactAlways(secretValues); // found on a real cluster: a ClickHouse error quoted the inter-server password
  query = clickhouse(kube, t.users.admin.name, creds["admin-password"]!);
}

const pods = () => t.hosts.map((h) => hostPodName(h.name));
const db = () => t.config.clickhouse.database;

async function statefulSetsReady(): Promise<void> {
  await eventually("every StatefulSet ready", 300, () => kube.list("statefulsets"), (list) =>
    list.length > 0 && list.every((s) => s.status?.readyReplicas === s.spec.replicas && s.status?.updatedReplicas === s.spec.replicas));
}

/** Rows of the e2e batch on each host: pod -> count. */
async function rowsPerHost(): Promise<Map<string, number>> {
  const counts = await Promise.all(pods().map(async (p) => [p, Number(await query(p, `SELECT count() FROM ${db()}.sharded_events WHERE event = 'e2e'`))] as const));
  return new Map(counts);
}

/** Each shard's replicas hold the same count, every shard holds some, and they add up to `ROWS`. */
function shardsAgree(counts: Map<string, number>): boolean {
  const perShard = t.shards.map((s) => new Set(s.hosts.map((h) => counts.get(hostPodName(h.name)))));
  return perShard.every((set) => set.size === 1 && [...set][0]! > 0) && perShard.reduce((n, set) => n + [...set][0]!, 0) === ROWS;
}

async function tablesOnEveryHost(): Promise<void> {
  const declared = (await loadDeclaration(db(), t.config.schema.declaration, work)).tables.map((d) => `${d.database}.${d.name}`).sort();
  for (const p of pods()) {
    const have = (await query(p, `SELECT concat(database, '.', name) FROM system.tables WHERE database = '${db()}'`)).split("\n");
    assert.deepEqual(declared.filter((d) => !have.includes(d)), [], `tables missing on ${p}`);
  }
}

async function clusterHostsEverywhere(n: number, seconds: number): Promise<void> {
  for (const p of pods()) {
    await eventually(`system.clusters on ${p} lists ${n} hosts`, seconds,
      () => query(p, `SELECT count() FROM system.clusters WHERE cluster = '${t.cluster}'`), (v) => Number(v) === n);
  }
}

before(() => {
  work = workCopy(join(ROOT, "e2e", "stack", `Pulumi.${STACK}.yaml`), STACK);
  const bin = process.env.CHSTACK_E2E_TOOLCHAIN_BIN;
  assert.ok(bin, "CHSTACK_E2E_TOOLCHAIN_BIN is not set: run the suite with npm run test:e2e (e2e/run.sh)");
  env = {
    ...process.env,
    // the dynamic resource's provider (pulumi-resource-pulumi-nodejs) ships with @pulumi/pulumi
    PATH: `${bin}:${join(work, "node_modules", "@pulumi", "pulumi")}:${process.env.PATH}`,
    PULUMI_HOME: join(CACHE, "toolchain", "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_BACKEND_URL: `file://${join(work, ".chstack", "pulumi-state")}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
  };
  progress(`work directory ${work}, logs ${r.logDir}`);
});

after(() => {
  const table = timings.map(([n, s]) => `${s.toFixed(1).padStart(7)} s  ${n}`).join("\n");
  writeFileSync(join(r.logDir, "timings.txt"), `${table}\n`);
  progress(`step times:\n${table}`);
  if (!broken) rmSync(work, { recursive: true, force: true });
  else progress(`kept the work directory for a look: ${work}`);
});

step("1. npm run kind:up: pulumi up from nothing, 2x2, ZooKeeper, Postgres, the schema Job and the app", async () => {
  await npm(["run", "kind:up", "--", "--stack", STACK]);
  await connect();
  assert.equal(t.hosts.length, 4);
  await statefulSetsReady();
  const jobs = (await kube.list("jobs")).filter((j) => j.metadata.labels?.["app.kubernetes.io/component"] === "schema");
  assert.equal(jobs.length, 1, "one schema Job");
  assert.ok(jobs[0]!.status?.succeeded >= 1, `schema Job ${jobs[0]!.metadata.name} completed`);

  await clusterHostsEverywhere(4, 60);
  await tablesOnEveryHost();

  const cols = "uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset";
  await query(pods()[0]!, `INSERT INTO ${db()}.writable_events (${cols}) SELECT generateUUIDv4(), 'e2e', '{}', now(), 1, toString(number), '', now(), now(), number FROM system.numbers LIMIT ${ROWS}`);
  const counts = await eventually(`${ROWS} rows on both shards, replicas agreeing`, 180, rowsPerHost, shardsAgree);
  progress(`rows per host: ${JSON.stringify(Object.fromEntries(counts))}`);

  const pg = await kube.secret(`${postgresName(t.cluster)}-credentials`);
  const pgPod = `${postgresName(t.cluster)}-0`;
  const psql = (password: string) => kube.exec(pgPod, "postgres",
    ["env", `PGPASSWORD=${password}`, "psql", "-h", serviceFqdn(postgresName(t.cluster), t.config.kubernetes.namespace), "-U", pg.POSTGRES_USER!, "-d", pg.POSTGRES_DB!, "-tAc", "SELECT 1"],
    [password], true);
  const good = await psql(pg.POSTGRES_PASSWORD!);
  assert.equal(good.code, 0, `psql with the Secret's password: ${good.out}`);
  assert.equal(good.stdout.trim(), "1");
  const bad = await psql(`${pg.POSTGRES_PASSWORD!}x`);
  assert.notEqual(bad.code, 0, "psql with a wrong password is refused");

  await appThroughItsService();

  // The health report from this machine, through kubectl port-forward: the README's command.
  const health = await statusThroughForward();
  assert.equal(health.code, 0, health.text);
  assert.equal(health.report.verdict, "healthy", health.text);
  assert.equal(health.report.facts.clickhouse.length, 4);
  assert.ok(health.report.facts.zookeeper.every((z: { mode?: string }) => z.mode), "every ZooKeeper node serves");
  assert.equal(health.report.facts.postgres.reachable, true);
  assert.equal(health.report.facts.app.ready, true);

  for (const cm of await kube.list("configmaps")) {
    const text = [...Object.values(cm.data ?? {}), ...Object.values(cm.binaryData ?? {}).map((b) => Buffer.from(b, "base64").toString())].join("\n");
    for (const v of secretValues) assert.ok(!text.includes(v), `ConfigMap ${cm.metadata.name} holds a Secret value`);
  }
  const outputs = (await pulumi(["stack", "output", "--json", "--show-secrets"], { secrets: [passphrase, ...secretValues] })).stdout;
  for (const v of secretValues) assert.ok(!outputs.includes(v), "a stack output holds a Secret value");
});

/**
 * The app: 1,000 events posted to /batch/ through the app's Service with the bootstrap team's key (read from
 * the pod's own environment, never a command line), then the hourly trends read back through the Service
 * and the rows counted in ClickHouse.
 */
/**
 * `chstack status --kubernetes --forward`, as the README shows it: the passwords from the Secrets in the
 * environment, one kubectl port-forward per server. Text and JSON; neither may hold a Secret value.
 */
async function statusThroughForward(): Promise<{ code: number; text: string; report: any }> {
  const creds = await kube.secret(`${usersSecretName(t.cluster)}-credentials`);
  const pg = await kube.secret(`${postgresName(t.cluster)}-credentials`);
  const o = { cwd: work, env: { ...env, CHSTACK_ADMIN_PASSWORD: creds["admin-password"], CHSTACK_POSTGRES_PASSWORD: pg.POSTGRES_PASSWORD }, secrets: [passphrase, ...secretValues], allowFailure: true };
  const args = ["cli/bin.mjs", "status", "--stack", STACK, "--kubernetes", "--forward"];
  const text = await r.run("node", args, o);
  const json = await r.run("node", [...args, "--json"], o);
  progress(`status --kubernetes --forward (exit ${text.code}):\n${text.stdout}`);
  for (const v of secretValues) assert.ok(!text.out.includes(v) && !json.out.includes(v), "the health report holds a Secret value");
  assert.equal(json.code, text.code);
  return { code: text.code, text: text.out, report: JSON.parse(json.stdout).health };
}

async function appThroughItsService(): Promise<void> {
  await eventually("the app Deployment ready", 180, () => kube.list("deployments"), (list) => list.some((d) => d.metadata.name === t.app!.name && d.status?.readyReplicas >= 1));
  const script = [
    "const base = process.argv[1], key = process.env.APP_BOOTSTRAP_TEAM_TOKEN;",
    "const batch = Array.from({ length: 1000 }, (_, i) => ({ event: 'e2e-app', distinct_id: 'u' + (i % 100), properties: { $browser: i % 2 ? 'Chrome' : 'Firefox' }, timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString() }));",
    "const posted = await fetch(base + '/batch/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key, batch }) });",
    "if (!posted.ok) throw new Error('batch: ' + posted.status + ' ' + await posted.text());",
    "const trends = await fetch(base + '/api/trends?team_id=1&event=e2e-app&from=2026-11-01&to=2026-11-02&interval=hour', { headers: { authorization: 'Bearer ' + key } });",
    "if (!trends.ok) throw new Error('trends: ' + trends.status + ' ' + await trends.text());",
    "console.log(JSON.stringify((await trends.json()).totals));",
  ].join("\n");
  const url = `http://${t.app!.endpoint.host}:${t.app!.endpoint.ports.http}`;
  const out = (await kube.exec(`deploy/${t.app!.name}`, "app", ["node", "--input-type=module", "-e", script, url])).stdout.trim();
  assert.deepEqual(JSON.parse(out.split("\n").at(-1)!), { events: 1000, users: 100 }, "the trends through the Service count every posted event");
  assert.equal(Number(await query(pods()[0]!, `SELECT count() FROM ${db()}.events WHERE event = 'e2e-app'`)), 1000, "every acknowledged event is in ClickHouse");
}

const snapshot = async () => ({ pods: await kube.pods(), statefulSets: new Map((await kube.list("statefulsets")).map((s) => [s.metadata.name, s.metadata.uid])), pvcs: new Map((await kube.list("pvc")).map((p) => [p.metadata.name, p.metadata.uid])) });
function assertKept(before: Awaited<ReturnType<typeof snapshot>>, now: Awaited<ReturnType<typeof snapshot>>): void {
  for (const [name, p] of before.pods) {
    const n = now.pods.get(name);
    assert.ok(n, `pod ${name} is gone`);
    assert.equal(n.uid, p.uid, `pod ${name} was recreated`);
    assert.equal(n.restarts, p.restarts, `pod ${name} restarted`);
  }
  for (const [kind, map] of [["StatefulSet", "statefulSets"], ["PVC", "pvcs"]] as const) {
    for (const [name, uid] of before[map]) assert.equal(now[map].get(name), uid, `${kind} ${name} was replaced or deleted`);
  }
}

step("2. pulumi preview shows no change; a second pulumi up changes nothing and restarts no pod", async () => {
  const s0 = await snapshot();
  await pulumi(["preview", "--expect-no-changes"]);
  await pulumi(["up", "--yes", "--expect-no-changes"], { stream: true });
  assertKept(s0, await snapshot());
});

step("3. a storage size change is refused, naming the StatefulSet, and nothing is replaced", async () => {
  const s0 = await snapshot();
  const original = (await pulumi(["config", "get", "--path", "chstack:clickhouse.storage.size"])).stdout.trim();
  await pulumi(["config", "set", "--path", "chstack:clickhouse.storage.size", "2Gi"]);
  try {
    const up = await pulumi(["up", "--yes"], { stream: true, allowFailure: true });
    assert.notEqual(up.code, 0, "pulumi up exited 0");
    assert.match(up.out, new RegExp(`StatefulSet ${t.shards[0]!.hosts[0]!.name}\\b[^\\n]*volumeClaimTemplates`), "the refusal names the StatefulSet and field");
    assertKept(s0, await snapshot());
  } finally {
    await pulumi(["config", "set", "--path", "chstack:clickhouse.storage.size", original]);
  }
  await pulumi(["preview", "--expect-no-changes"]);
});

step("4. 2x2 -> 2x3: new hosts get the tables and their shard's rows; no pod restarts; only new objects and remote_servers change", async () => {
  const s0 = await snapshot();
  await pulumi(["config", "set", "--path", "chstack:clickhouse.replicas", "3"]);
  const oldHosts = new Set(t.hosts.map((h) => h.name));
  const plan = JSON.parse((await pulumi(["preview", "--json"])).stdout) as { steps: { op: string; urn: string; oldState?: { outputs?: any }; newState?: { inputs?: any } }[] };
  const changed = plan.steps.filter((s) => s.op !== "same").map((s) => {
    const state = s.newState?.inputs ?? s.oldState?.outputs;
    const [, , types, name] = s.urn.split("::");
    return `${s.op} ${types!.split("$").pop()} ${state?.metadata?.name ?? name}`; // the type without its parents
  });
  progress(`plan:\n  ${changed.join("\n  ")}`);
  await connect(); // the topology of the new config
  const newHosts = t.hosts.filter((h) => !oldHosts.has(h.name)).map((h) => h.name);
  assert.equal(newHosts.length, 2);
  const unexpected = changed.filter((c) => {
    const [op, type, name] = c.split(" ");
    if (op === "create" && newHosts.some((h) => name!.startsWith(h))) return false;
    if (op === "update" && type === "kubernetes:core/v1:ConfigMap" && name!.endsWith("-remote-servers")) return false;
    if (op === "replace" && name!.startsWith("schema-")) return false; // the schema Job (and its bundle) of the new topology
    if (op === "read" && type === "pulumi:pulumi:StackReference") return false; // the guard's previous outputs
    if (op === "update" && type === "pulumi:pulumi:Stack") return false; // its outputs
    return true;
  });
  assert.deepEqual(unexpected, [], "only new hosts' objects, the schema Job and remote_servers change");

  await pulumi(["up", "--yes"], { stream: true });
  await statefulSetsReady();
  assertKept(s0, await snapshot());
  await clusterHostsEverywhere(6, 180); // remote_servers reaches the running pods through the ConfigMap volume
  await tablesOnEveryHost();
  const counts = await eventually("the new replicas caught up with their shard", 180, rowsPerHost, shardsAgree);
  progress(`rows per host: ${JSON.stringify(Object.fromEntries(counts))}`);
});

step("5. 2x3 -> 3x3: remote_servers lists the new shard only after its schema Job succeeded; new rows reach all 3 shards; no pod restarts", async () => {
  const s0 = await snapshot();
  await pulumi(["config", "set", "--path", "chstack:clickhouse.shards", "3"]);
  await pulumi(["up", "--yes"], { stream: true });
  await connect();
  assert.equal(t.hosts.length, 9);
  await statefulSetsReady();
  assertKept(s0, await snapshot());
  // The order of infra/model/change.ts on a real API server: the ConfigMap's last write is after the Job's completion.
  const job = (await kube.list("jobs")).filter((j) => j.metadata.labels?.["app.kubernetes.io/component"] === "schema")
    .sort((a, b) => Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp))[0]!;
  assert.ok(job.status?.succeeded >= 1, `schema Job ${job.metadata.name} succeeded`);
  const cm = JSON.parse((await r.run("kubectl", ["get", "configmap", remoteServersConfigMapName(t.cluster), "-n", t.config.kubernetes.namespace, "-o", "json", "--show-managed-fields"])).stdout) as KubeObjectWithFields;
  const written = Math.max(...(cm.metadata.managedFields ?? []).map((f) => Date.parse(f.time)));
  progress(`schema Job ${job.metadata.name} completed ${job.status.completionTime}; remote_servers last written ${new Date(written).toISOString()}`);
  assert.ok(written >= Date.parse(job.status.completionTime), "remote_servers was written before the schema Job completed");
  await clusterHostsEverywhere(9, 180);
  await tablesOnEveryHost();

  const cols = "uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset";
  await query(pods()[0]!, `INSERT INTO ${db()}.writable_events (${cols}) SELECT generateUUIDv4(), 'e2e-3x3', '{}', now(), 1, concat('n', toString(number)), '', now(), now(), number FROM system.numbers LIMIT 30000`);
  const perShard = await eventually("30000 new rows over the 3 shards", 180,
    () => Promise.all(t.shards.map(async (sh) => Number(await query(hostPodName(sh.hosts[0]!.name), `SELECT count() FROM ${db()}.sharded_events WHERE event = 'e2e-3x3'`)))),
    (n) => n.every((x) => x > 0) && n.reduce((a, b) => a + b, 0) === 30_000);
  progress(`new rows per shard: ${perShard.join(", ")}`);
});

const retireJob = async (mode: "check" | "clean") => (await kube.list("jobs")).filter((j) => j.metadata.labels?.["chstack.dev/job"] === `retire-${mode}`)
  .sort((a, b) => Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp))[0];
const replicaCounts = (pod: string) => query(pod, `SELECT concat(toString(total_replicas), '/', toString(active_replicas)) FROM system.replicas WHERE database = '${db()}' AND table = 'sharded_events'`);

step("6. 3x3 -> 3x2: a check Job, then remote_servers without the removed replicas, then their pods stop (volumes kept), then no znode is left of them", async () => {
  const s0 = await snapshot();
  const total = Number(await query(pods()[0]!, `SELECT count() FROM ${db()}.events`));
  await pulumi(["config", "set", "--path", "chstack:clickhouse.replicas", "2"]);
  await pulumi(["up", "--yes"], { stream: true });
  const removed = t.hosts.filter((h) => h.address.replicaIndex === 2).map((h) => h.name);
  await connect();
  assert.equal(t.hosts.length, 6);
  for (const j of ["check", "clean"] as const) assert.ok((await retireJob(j))?.status?.succeeded >= 1, `retire ${j} Job succeeded`);
  const now = await snapshot();
  for (const h of removed) {
    assert.ok(!now.pods.has(hostPodName(h)), `pod of ${h} still runs`);
    assert.equal(now.statefulSets.get(h), s0.statefulSets.get(h), `StatefulSet ${h} was replaced or deleted (it stays, at 0 replicas)`);
    assert.equal(now.pvcs.get(`data-${h}-0`), s0.pvcs.get(`data-${h}-0`), `the volume of ${h} is kept`);
  }
  assertKept({ ...s0, pods: new Map([...s0.pods].filter(([p]) => !removed.some((h) => p === hostPodName(h)))) }, now);
  await clusterHostsEverywhere(6, 180);
  for (const p of pods()) {
    assert.equal(await replicaCounts(p), "2/2", `${p}: total/active replicas`);
    assert.equal(Number(await query(p, `SELECT count() FROM ${db()}.events`)), total, `${p} reads every row`);
  }
  const left = await query(pods()[0]!, `SELECT name FROM system.zookeeper WHERE path = '/clickhouse/tables/0/${db()}.sharded_events/replicas' ORDER BY name`);
  assert.deepEqual(left.split("\n"), t.shards[0]!.hosts.map((h) => h.name), "the removed replica's znode is gone");
});

step("7. 3x2 -> 2x2: refused by the check Job while shard 2 holds rows, nothing changed; then allowed with chstack:scaling.allowDropShard", async () => {
  const s0 = await snapshot();
  await pulumi(["config", "set", "--path", "chstack:clickhouse.shards", "2"]);
  const refused = await pulumi(["up", "--yes"], { stream: true, allowFailure: true });
  assert.notEqual(refused.code, 0, "pulumi up exited 0");
  const check = (await retireJob("check"))!;
  const log = await r.run("kubectl", ["logs", `job/${check.metadata.name}`, "-n", t.config.kubernetes.namespace]);
  assert.match(log.out, new RegExp(`removing shard 2 is refused: it holds ${db()}\\.sharded_events \\(\\d+ rows\\)`));
  assertKept(s0, await snapshot());
  await clusterHostsEverywhere(6, 30);

  const onShard2 = Number(await query(hostPodName(t.shards[2]!.hosts[0]!.name), `SELECT count() FROM ${db()}.sharded_events`));
  const total = Number(await query(pods()[0]!, `SELECT count() FROM ${db()}.events`));
  await pulumi(["config", "set", "--path", "chstack:scaling.allowDropShard", "true"]);
  await pulumi(["up", "--yes"], { stream: true });
  await pulumi(["config", "rm", "--path", "chstack:scaling.allowDropShard"]);
  const gone = t.shards[2]!.hosts.map((h) => h.name);
  await connect();
  assert.equal(t.hosts.length, 4);
  const now = await snapshot();
  for (const h of gone) assert.ok(!now.pods.has(hostPodName(h)), `pod of ${h} still runs`);
  await clusterHostsEverywhere(4, 180);
  for (const p of pods()) assert.equal(Number(await query(p, `SELECT count() FROM ${db()}.events`)), total - onShard2, `${p} reads the two shards left`);
  const tables = await query(pods()[0]!, "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/tables' ORDER BY name");
  if (tables.split("\n").includes("2")) {
    const clean = (await retireJob("clean"))!;
    const log = await r.run("kubectl", ["logs", `job/${clean.metadata.name}`, "-n", t.config.kubernetes.namespace], { allowFailure: true });
    const left = await query(pods()[0]!, "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/tables/2' ORDER BY name");
    assert.fail(`shard 2's ZooKeeper paths are left: /clickhouse/tables/2 holds ${left.replaceAll("\n", ", ") || "nothing"}; the clean Job said:\n${log.out}`);
  }
});

step("8. a host scaled to 0 reads degraded in the health report; pulumi destroy as the README documents it, then npm run kind:down", async () => {
  const gone = t.hosts.at(-1)!.name;
  await r.run("kubectl", ["scale", "statefulset", gone, "--replicas=0", "-n", t.config.kubernetes.namespace]);
  await eventually(`pod ${hostPodName(gone)} gone`, 120, () => kube.pods(), (p) => !p.has(hostPodName(gone)));
  const health = await statusThroughForward();
  assert.equal(health.code, 3, health.text);
  assert.equal(health.report.verdict, "degraded");
  assert.match(health.report.summary, new RegExp(`^degraded: ${gone}: down`), health.text);

  const s0 = await snapshot();
  const refused = await pulumi(["destroy", "--yes"], { stream: true, allowFailure: true });
  assert.notEqual(refused.code, 0, "pulumi destroy of protected StatefulSets exited 0");
  assert.match(refused.out, /protected/);
  assertKept(s0, await snapshot());

  await pulumi(["state", "unprotect", "--all", "--yes"]);
  await pulumi(["destroy", "--yes"], { stream: true });
  const ns = t.config.kubernetes.namespace;
  await eventually(`namespace ${ns} deleted`, 180, () => kube.exists("namespace", ns, false), (v) => !v);
  await eventually("no PersistentVolume of the stack left", 180, () => kube.list("pv", false),
    (pvs) => pvs.every((pv) => pv.spec?.claimRef?.namespace !== ns));
  const leftovers = await r.run("kubectl", ["get", "all,configmaps,secrets,pvc,networkpolicies,pv,clusterroles,clusterrolebindings", "-A", "-l", "app.kubernetes.io/part-of=chstack", "-o", "name"]);
  assert.equal(leftovers.stdout.trim(), "", "objects of the stack left");

  await npm(["run", "kind:down", "--", "--stack", STACK]);
  const clusters = await r.run("kind", ["get", "clusters"], { env });
  assert.ok(!clusters.stdout.split("\n").includes("chstack"), "the kind cluster is gone");
});
