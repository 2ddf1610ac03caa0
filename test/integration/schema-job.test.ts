// The schema job bundle, the same bytes the Kubernetes ConfigMap carries, run under plain node against a
// real loopback stack: it converges every host, writes the ledger, and refuses while a host is down.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadStackConfig } from "../../infra/config/load.ts";
import { buildSchemaBundle } from "../../infra/k8s/schema-bundle.ts";
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

describe("the schema job bundle on a loopback stack", () => {
  before(async () => {
    writeFileSync(bundle, buildSchemaBundle(posthogSchema("posthog")).code);
    const r = await stack.chstack("up", "--no-schema");
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await stack.destroy();
    rmSync(dir, { recursive: true, force: true });
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
