// The schema job bundle, the same bytes the Kubernetes ConfigMap carries, run under plain node against a
// real loopback stack: it converges every host, writes the ledger, and refuses while a host is down. Then
// the retire job bundle on the same stack: its row check, its parity wait, and its ZooKeeper clean-up.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadStackConfig } from "../../infra/config/load.ts";
import { buildRetireBundle, buildSchemaBundle } from "../../infra/k8s/schema-bundle.ts";
import { stopServer } from "../../infra/loopback/procs.ts";
import { readState } from "../../infra/loopback/state.ts";
import type { RetireInput } from "../../jobs/retire-job.ts";
import zookeeper from "node-zookeeper-client";
import { schemaJobInput } from "../../infra/k8s/schema.ts";
import { closeAll, connectAll } from "../../infra/loopback/schema.ts";
import { lastApply } from "../../schema/ledger.ts";
import { posthogSchema } from "../../schema/posthog.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { pidsOf, processExists, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-job", 31600);
// Outside the project: the bundle must need no node_modules.
const dir = mkdtempSync(join(tmpdir(), "chstack-job-"));
const bundle = join(dir, "schema-job.cjs");
const secrets = goldenSecrets();

function runJob() {
  const { config } = loadStackConfig({ stack: stack.name, dir: stack.cwd });
  const input = { ...schemaJobInput(config, stack.name), target: "loopback" };
  const r = spawnSync(process.execPath, [bundle], {
    cwd: dir,
    env: { PATH: process.env.PATH, CHSTACK_SCHEMA_INPUT: JSON.stringify(input), CHSTACK_ADMIN_USER: secrets.clickhouse.admin.user, CHSTACK_ADMIN_PASSWORD: secrets.clickhouse.admin.password },
    encoding: "utf8",
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

after(async () => {
  await stack.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("the schema job bundle on a loopback stack", () => {
  before(async () => {
    writeFileSync(bundle, buildSchemaBundle(posthogSchema("posthog")).code);
    const r = await stack.chstack("up", "--no-schema");
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test("converges every host, records its ledger, and a second run has nothing to do", async () => {
    const first = runJob();
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /applied \d+ statement\(s\): all 4 hosts match declaration [0-9a-f]{16}/);
    const plan = await stack.chstack("schema", "plan");
    assert.equal(plan.code, 0, plan.stdout);
    const conns = connectAll(stack.topology, secrets);
    try {
      for (const h of stack.topology.hosts) assert.equal((await lastApply(conns.get(h.name)!)).result, "ok", h.name);
    } finally {
      await closeAll(conns);
    }
    const second = runJob();
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /nothing to do: all 4 hosts match/);
  });

  test("refuses to run while a host is not ready, naming it", async () => {
    const victim = stack.topology.hosts[3]!.name;
    const pid = pidsOf(stack)[victim]!;
    process.kill(pid, "SIGKILL");
    while (processExists(pid)) await new Promise((r) => setTimeout(r, 50));
    const r = runJob();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`refusing to run: ${victim} is not ready`));
    assert.equal((await stack.chstack("up", "--no-schema")).code, 0);
  });
});

describe("the retire job bundle on the same stack", () => {
  const retire = join(dir, "retire-job.cjs");
  const url = (i: number) => ({ name: stack.topology.hosts[i]!.name, url: `http://127.0.0.1:${stack.topology.hosts[i]!.endpoint.ports.http}` });
  const base: Omit<RetireInput, "mode"> = {
    removedShards: [], staying: url(0), removedReplicas: [], allowDropShard: false,
    zookeeper: { connect: `127.0.0.1:${stack.topology.coordination.nodes[0]!.endpoint.ports.client}`, root: stack.topology.zookeeper.root }, clean: [],
  };
  function runRetire(input: RetireInput) {
    const r = spawnSync(process.execPath, [retire], {
      cwd: dir,
      env: { PATH: process.env.PATH, CHSTACK_RETIRE_INPUT: JSON.stringify(input), CHSTACK_ADMIN_USER: secrets.clickhouse.admin.user, CHSTACK_ADMIN_PASSWORD: secrets.clickhouse.admin.password },
      encoding: "utf8",
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }
  const replicasOf = (path: string) => new Promise<string[]>((resolve, reject) => {
    const zk = zookeeper.createClient(base.zookeeper.connect, { sessionTimeout: 5000 });
    zk.once("connected", () => zk.getChildren(path, (e, c) => (zk.close(), e ? reject(e) : resolve(c.sort()))));
    zk.connect();
  });
  const shard1 = `${base.zookeeper.root}/clickhouse/tables/1/posthog.sharded_events/replicas`;

  before(async () => {
    writeFileSync(retire, buildRetireBundle().code);
    const c = stack.client(0);
    await c.command({ query: "INSERT INTO posthog.writable_events (uuid, event, timestamp, team_id, distinct_id, _offset) SELECT generateUUIDv4(), 'retire', now(), 1, toString(number), number FROM system.numbers LIMIT 10000" });
    await c.close();
  });

  test("check: a removed shard with rows is refused, naming table and count; allowed, it warns", () => {
    const shard = { shard: 1, hosts: [url(2), url(3)] };
    const refused = runRetire({ ...base, mode: "check", removedShards: [shard] });
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /removing shard 1 is refused: it holds posthog\.sharded_events \(\d+ rows\)\. Nothing was changed/);
    assert.doesNotMatch(refused.out, /person|schema_ledger/, "noshard tables and the ledger are not counted");
    const allowed = runRetire({ ...base, mode: "check", removedShards: [shard], allowDropShard: true });
    assert.equal(allowed.code, 0, allowed.out);
    assert.match(allowed.out, /WARNING: removing shard 1 although it holds posthog\.sharded_events/);
  });

  test("check: a removed replica passes once a replica that stays holds its rows", () => {
    const r = runRetire({ ...base, mode: "check", removedReplicas: [{ host: url(3), keeper: url(2) }] });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`${url(2).name} holds all \\d+ rows of ${url(3).name}`));
  });

  test("clean: never removes a replica that still runs; once it stopped, exactly its znodes go", async () => {
    const victim = url(3).name;
    const alive = runRetire({ ...base, mode: "clean", clean: [victim], activeWaitSeconds: 2 });
    assert.equal(alive.code, 1, alive.out);
    assert.match(alive.out, new RegExp(`replica ${victim} of .* is still active`));
    assert.deepEqual(await replicasOf(shard1), [url(2).name, victim]);
    await stopServer(readState(stack.dir)!.processes[victim]!);
    const done = runRetire({ ...base, mode: "clean", clean: [victim] });
    assert.equal(done.code, 0, done.out);
    assert.deepEqual(await replicasOf(shard1), [url(2).name], "only the removed replica's node went");
    assert.deepEqual(await replicasOf(`${base.zookeeper.root}/clickhouse/tables/noshard/posthog.person/replicas`), [url(0).name, url(1).name, url(2).name]);
  });
});
