// kind: the generated cluster config (pinned and parsed back), the steps, and the messages for missing
// tools. Docker, kind and the Pulumi CLI do not exist here: what they would do is tested as data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { loadStackConfig, parseStackConfig } from "../../infra/config/load.ts";
import { kindConfig, renderKindConfig } from "../../infra/kind/config.ts";
import { downSteps, missingToolsMessage, upSteps } from "../../infra/kind/steps.ts";
import { kubernetesTarget } from "../../infra/model/targets.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { object, runK8s } from "../support/k8s.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const topo = (raw: Record<string, unknown>) => {
  const c = parseStackConfig(raw, "t", { rejectPlaintextSecrets: true });
  return buildTopology(c, kubernetesTarget(c), "kind");
};

describe("the kind cluster config", () => {
  test("kind/cluster.yaml is exactly what the kind stack generates, and parses back", () => {
    const { config } = loadStackConfig({ stack: "kind", dir: root });
    const t = buildTopology(config, kubernetesTarget(config), "kind");
    const text = readFileSync(join(root, "kind/cluster.yaml"), "utf8");
    assert.equal(text, renderKindConfig(t), "regenerate with npm run kind:config");
    const parsed = parse(text);
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(kindConfig(t))));
    assert.equal(parsed.nodes.filter((n: any) => n.role === "worker").length, 2, "two replicas per shard need two nodes");
    assert.deepEqual(parsed.nodes[0].extraPortMappings, [
      { containerPort: config.kubernetes.nodePorts!.clickhouseHttp, hostPort: 8123, listenAddress: "127.0.0.1", protocol: "TCP" },
      { containerPort: config.kubernetes.nodePorts!.app, hostPort: 8000, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
  });

  test("the kind stack's cluster Service is the NodePort the kind config maps to the laptop", () => {
    const raw = parse(readFileSync(join(root, "Pulumi.kind.yaml"), "utf8")).config;
    const run = runK8s(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^chstack:/, ""), v])));
    assert.ok(run.ok, run.error);
    const svc = object(run, "Service", "clickhouse-posthog")!;
    assert.equal(svc.spec.type, "NodePort");
    assert.equal(svc.spec.ports.find((p: any) => p.name === "http").nodePort, parse(readFileSync(join(root, "kind/cluster.yaml"), "utf8")).nodes[0].extraPortMappings[0].containerPort);
  });

  test("workers follow the required anti-affinity: replicas per shard, or coordination nodes", () => {
    assert.equal(kindConfig(topo({ clickhouse: { shards: 4, replicas: 3 } })).nodes.length, 1 + 3);
    assert.equal(kindConfig(topo({ clickhouse: { replicas: 2 }, coordination: { size: 5 } })).nodes.length, 1 + 5);
    const app = kindConfig(topo({ app: { image: "x/y:1", port: 8080 }, kubernetes: { nodePorts: { app: 30080 } } }));
    assert.deepEqual(app.nodes[0]!.extraPortMappings, [{ containerPort: 30080, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" }]);
  });
});

describe("kind:up and kind:down", () => {
  const env = { root: "/p", stack: "kind", kindConfigFile: "/p/.chstack/kind/chstack.yaml" };
  test("up: engine check, cluster, stack, context, pulumi up; no create when the cluster exists", () => {
    assert.deepEqual(upSteps(env, false).map((s) => s.command.slice(0, 3).join(" ")), [
      "docker info --format", "kind create cluster", "pulumi stack select", "pulumi config set", "pulumi up --yes",
    ]);
    assert.deepEqual(upSteps(env, false)[2]!.unless, ["pulumi", "stack", "init", "kind", "--secrets-provider", "passphrase"]);
    assert.ok(!upSteps(env, true).some((s) => s.command[0] === "kind"));
    assert.deepEqual(downSteps(env).map((s) => s.command.join(" ")), ["kind delete cluster --name chstack", "pulumi stack rm kind --yes --force"]);
  });

  test("up with the reference app: its image is built from app/Dockerfile and loaded into the nodes before pulumi up", () => {
    const steps = upSteps({ ...env, referenceAppImage: "chstack/app:0.1.0" }, true).map((s) => s.command.join(" "));
    assert.deepEqual(steps.slice(1, 3), ["docker build -f /p/app/Dockerfile -t chstack/app:0.1.0 /p", "kind load docker-image chstack/app:0.1.0 --name chstack"]);
    assert.ok(steps.indexOf("kind load docker-image chstack/app:0.1.0 --name chstack") < steps.findIndex((s) => s.startsWith("pulumi up")));
  });

  test("a missing tool is named with where to get it", () => {
    const m = missingToolsMessage(["kind", "pulumi"]);
    assert.match(m, /needs kind, pulumi, which are not on PATH/);
    assert.match(m, /kind: https:\/\/kind\.sigs\.k8s\.io/);
    assert.match(m, /pulumi: https:\/\/www\.pulumi\.com\/docs\/install/);
  });

  const bin = mkdtempSync(join(tmpdir(), "chstack-path-"));
  symlinkSync(process.execPath, join(bin, "node"));
  after(() => rmSync(bin, { recursive: true, force: true }));
  const chstack = (...args: string[]) => spawnSync(process.execPath, [join(root, "cli/bin.mjs"), ...args], { cwd: root, encoding: "utf8", env: { PATH: `${bin}:/bin:/usr/bin`.replace(/:\/usr\/bin$/, ""), HOME: process.env.HOME } });

  test("npm run kind:up with no tools: exit 1, each named, nothing done", () => {
    const r = chstack("kind", "up");
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /kind needs (docker, )?kind, pulumi, which are not on PATH/);
  });

  test("up creates the local file backend's directory before the first pulumi command (the real CLI refuses a missing one)", () => {
    // Stand-ins for the three tools: the pulumi one fails as the real CLI did on a first run here
    // ("unable to open bucket file://...: no such file or directory").
    const tools = mkdtempSync(join(tmpdir(), "chstack-tools-"));
    const state = join(tools, "no-such-dir", "pulumi-state");
    const calls = join(tools, "calls");
    const tool = (name: string, body: string) => {
      writeFileSync(join(tools, name), `#!/bin/sh\necho "${name} $*" >> '${calls}'\n${body}\n`);
      chmodSync(join(tools, name), 0o755);
    };
    tool("docker", "exit 0");
    tool("kind", "exit 0");
    tool("pulumi", `d=\${PULUMI_BACKEND_URL#file://}; [ -d "$d" ] || { echo "error: unable to open bucket $PULUMI_BACKEND_URL: stat $d: no such file or directory" >&2; exit 1; }`);
    try {
      const r = spawnSync(process.execPath, [join(root, "cli/bin.mjs"), "kind", "up"], {
        cwd: root, encoding: "utf8", env: { PATH: `${tools}:${bin}:/bin`, HOME: process.env.HOME, PULUMI_BACKEND_URL: `file://${state}` },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.ok(existsSync(state));
      assert.match(readFileSync(calls, "utf8"), /^pulumi up --yes --stack kind$/m);
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });

  test("--dry-run prints the steps it would take", () => {
    const r = chstack("kind", "up", "--dry-run");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /would create the kind cluster chstack: kind create cluster --name chstack --config .*\.chstack\/kind\/chstack\.yaml/);
    assert.match(r.stdout, /would deploy: pulumi up --yes --stack kind/);
    const down = chstack("kind", "down", "--dry-run");
    assert.match(down.stdout, /would delete the kind cluster chstack/);
  });
});
