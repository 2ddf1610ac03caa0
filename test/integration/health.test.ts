// `chstack status` as a health report on a real 2x2 stack (ZooKeeper 3.8, ClickHouse 18.16, Postgres 15):
// healthy with every field; a replica stopped, a hung one, Postgres stopped, a table dropped on one host,
// ZooKeeper stopped, each reported with its verdict, exit code and the culprit named; `up` brings it back.
// Only this test's own servers are stopped, by the pids its stack recorded.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { hostPodName } from "../../infra/model/names.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { stopServer } from "../../infra/loopback/procs.ts";
import { readState } from "../../infra/loopback/state.ts";
import { runChstack, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-health", 30000);
const bin = fileURLToPath(new URL("../../cli/bin.mjs", import.meta.url));
const [h00, h01, h10, h11] = stack.topology.hosts.map((h) => h.name) as [string, string, string, string];
const zkName = stack.topology.coordination.nodes[0]!.name;

interface Health {
  verdict: string;
  exitCode: number;
  summary: string;
  reasons: string[];
  checks: { id: string; subject: string; status: string; reason: string }[];
  rows: { table: string; group: string; replicas: { host: string; rows: number }[]; disagree: boolean }[];
  facts: {
    clickhouse: { host: string; reachable: boolean; error?: string; version?: string; uptimeSeconds?: number; replicas?: { table: string; isReadonly: boolean; isSessionExpired: boolean; queueSize: number; absoluteDelay: number }[]; parts?: { active: number; bytesOnDisk: number }; disk?: { free: number; total: number } }[];
    zookeeper: { node: string; reachable: boolean; mode?: string; connections?: number; outstanding?: number }[];
    postgres: { checked: boolean; reachable?: boolean; version?: string };
    app: { checked: boolean };
    schema?: { declarationHash: string; hosts: { host: string; pending: number }[]; tables: { table: string; hosts: string[]; missing: string[] }[] };
  };
}

async function status(...args: string[]) {
  const began = Date.now();
  const r = await stack.chstack("status", "--json", ...args);
  const st = JSON.parse(r.stdout) as { stack: string; hosts: { name: string; state: string }[]; health: Health };
  return { code: r.code, st, health: st.health, ms: Date.now() - began };
}

/** Poll `status` until `ok` holds (servers settle: a restarted replica, a new ZooKeeper session). */
async function until(what: string, ok: (h: Health, code: number | null) => boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status();
    if (ok(s.health, s.code)) return s;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s; last: exit ${s.code}, ${JSON.stringify(s.health.reasons)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const healthy = (h: Health, code: number | null) => h.verdict === "healthy" && code === 0;

async function stop(name: string) {
  const rec = readState(stack.dir)!.processes[name]!;
  assert.notEqual(await stopServer(rec, 10_000), "not-running", name);
}

async function up() {
  const r = await stack.chstack("up");
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
}

describe("status as a health report on a 2x2 stack", () => {
  before(async () => {
    await up();
    const c = stack.client(0, "writer");
    try {
      await c.command({ query: "INSERT INTO posthog.writable_events (uuid, event, timestamp, team_id, distinct_id, _offset) SELECT generateUUIDv4(), 'health', now(), 1, toString(number), number FROM system.numbers LIMIT 10000" });
    } finally {
      await c.close();
    }
    for (let i = 0; i < 4; i++) {
      const admin = stack.client(i);
      try {
        await admin.command({ query: "SYSTEM SYNC REPLICA posthog.sharded_events" });
      } finally {
        await admin.close();
      }
    }
  });
  after(() => stack.destroy());

  test("healthy: exit 0, the existing fields and the health report with every fact", async () => {
    const { code, st, health, ms } = await status();
    assert.equal(code, 0, JSON.stringify(health.reasons));
    assert.equal(st.stack, "it-health");
    assert.deepEqual(st.hosts.map((h) => h.state), ["up", "up", "up", "up", "up", "up"]);
    assert.equal(health.verdict, "healthy");
    assert.equal(health.exitCode, 0);
    assert.deepEqual(health.reasons, []);
    assert.match(health.summary, /^healthy: 4 ClickHouse host\(s\) up, ZooKeeper standalone, Postgres up, schema [0-9a-f]{16} on every host$/);
    for (const h of health.facts.clickhouse) {
      assert.equal(h.reachable, true, h.host);
      assert.equal(h.version, "18.16.1");
      assert.ok(h.uptimeSeconds! >= 0);
      assert.ok(h.parts!.active > 0 && h.parts!.bytesOnDisk > 0, h.host);
      assert.ok(h.disk!.total > 0, "loopback measures the data directory's disk");
      assert.deepEqual(h.replicas!.map((x) => x.table).sort(), ["posthog.person", "posthog.person_distinct_id", "posthog.sharded_events"]);
      assert.ok(h.replicas!.every((x) => !x.isReadonly && !x.isSessionExpired && x.queueSize === 0 && x.absoluteDelay === 0));
    }
    assert.deepEqual(health.facts.zookeeper.map((z) => [z.node, z.mode]), [[zkName, "standalone"]]);
    assert.ok(health.facts.zookeeper[0]!.connections! >= 4, "every ClickHouse host holds a session");
    assert.equal(health.facts.zookeeper[0]!.outstanding, 0);
    assert.match(health.facts.postgres.version!, /^PostgreSQL 15/);
    assert.equal(health.facts.app.checked, false, "the golden 2x2 has no app");
    assert.ok(health.facts.schema!.hosts.every((h) => h.pending === 0));
    assert.ok(health.facts.schema!.tables.every((x) => x.hosts.length === 4 && x.missing.length === 0));
    // Rows per shard and replica: both replicas of a shard hold the same rows, the shards together all 10000.
    const events = health.rows.filter((g) => g.table === "posthog.sharded_events");
    assert.deepEqual(events.map((g) => g.group), ["shard 0", "shard 1"]);
    for (const g of events) assert.equal(new Set(g.replicas.map((r) => r.rows)).size, 1, JSON.stringify(g));
    assert.equal(events.reduce((n, g) => n + g.replicas[0]!.rows, 0), 10_000);
    console.log(`status --json on a healthy 2x2: ${ms} ms`);

    const text = await stack.chstack("status");
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^stack it-health, cluster posthog: 6 of 6 servers up$/m, "the server table comes first");
    assert.match(text.stdout, new RegExp(`^${h01} +up +18\\.16\\.1 +\\S+ +0 +0s +no +ok `, "m"));
    assert.match(text.stdout, /^zk-posthog-0 +up +standalone +\d+ +0 +3\.8/m);
    assert.match(text.stdout, /^posthog\.sharded_events +local +4 of 4 +shard 0: (\d+) \/ \1; shard 1: (\d+) \/ \2$/m);
    assert.match(text.stdout.trimEnd().split("\n").at(-1)!, /^health: healthy: .* \[exit 0, \d+ ms\]$/);
  });

  test("a replica stopped: degraded, exit 3, the host named; Postgres stopped too: both named; up: healthy again", async () => {
    await stop(h01);
    const one = await status();
    assert.equal(one.code, 3);
    assert.equal(one.health.verdict, "degraded");
    assert.deepEqual(one.health.reasons, [`${h01}: down (not running)`]);
    assert.equal(one.health.summary, `degraded: ${h01}: down (not running)`);
    assert.ok(one.ms < 5000, `${one.ms} ms: a stopped server is not waited for`);
    const text = await stack.chstack("status");
    assert.equal(text.code, 3);
    assert.match(text.stdout, new RegExp(`^${h01} +down .* not running$`, "m"));
    assert.match(text.stdout, new RegExp(`^health: degraded: ${h01}: down \\(not running\\) \\[exit 3, \\d+ ms\\]$`, "m"));

    await stop("postgres");
    const two = await status();
    assert.equal(two.code, 3);
    assert.deepEqual(two.health.reasons, [`${h01}: down (not running)`, "postgres: down (not running)"]);

    await up();
    await until("healthy after up", healthy);
  });

  test("a hung replica (stopped by SIGSTOP): reported within the timeout, not waited for", async () => {
    const pid = readState(stack.dir)!.processes[h11]!.pid;
    process.kill(pid, "SIGSTOP");
    try {
      const s = await status("--timeout", "0.5");
      assert.equal(s.code, 3);
      assert.ok(s.health.reasons.includes(`${h11}: down (no answer in 500 ms)`), JSON.stringify(s.health.reasons));
      assert.ok(s.ms < 4000, `${s.ms} ms`);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await until("healthy after SIGCONT", healthy);
  });

  test("a declared table dropped on one host: its schema differs, the table names where it is missing", async () => {
    const c = stack.client(3);
    try {
      await c.command({ query: "DROP TABLE posthog.events" });
    } finally {
      await c.close();
    }
    const s = await status();
    assert.equal(s.code, 3);
    assert.ok(s.health.reasons.some((r) => r.startsWith(`${h11}: schema differs from declaration `) && r.includes("create-table posthog.events")), JSON.stringify(s.health.reasons));
    assert.deepEqual(s.health.facts.schema!.tables.find((x) => x.table === "posthog.events")!.missing, [h11]);
    const text = await stack.chstack("status");
    assert.match(text.stdout, new RegExp(`^posthog\\.events +distributed +3 of 4, missing on ${h11}`, "m"));
    await up(); // applies the schema again
    await until("healthy after the schema is applied", healthy);
  });

  test("ZooKeeper stopped: down, exit 4, replicas read-only with their session expired; up: healthy again", async () => {
    await stop(zkName);
    const s = await until("read-only replicas reported", (h) => h.reasons.some((r) => r.includes("read-only replica")), 60_000);
    assert.equal(s.code, 4);
    assert.equal(s.health.verdict, "down");
    assert.equal(s.health.summary, "down: ZooKeeper: all 1 node(s) down");
    assert.ok(s.health.reasons.includes(`${zkName}: down (not running)`));
    for (const h of [h00, h10]) {
      assert.ok(s.health.reasons.some((r) => r.startsWith(`${h}: read-only replica of `)), `${h} read-only: ${JSON.stringify(s.health.reasons)}`);
    }
    const expired = await until("expired sessions reported", (h) => h.reasons.some((r) => / ZooKeeper session expired /.test(r) || /: no ZooKeeper session/.test(r)), 60_000);
    assert.equal(expired.code, 4);
    assert.ok(expired.ms < 5000, `${expired.ms} ms: ZooKeeper's part of system.replicas is bounded too`);

    await up();
    await until("healthy after ZooKeeper is back", healthy);
  });

  test("--watch --json: one object per line until interrupted", async () => {
    let interrupted = false;
    const r = await runChstack(stack.cwd, ["status", "--stack", stack.name, "--watch", "1", "--json"], (out, child) => {
      if (!interrupted && out.split("\n").filter((l) => l.startsWith("{") && l.endsWith("}")).length >= 2) {
        interrupted = true;
        child.kill("SIGINT"); // the child this test started
      }
    });
    const objects = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { health: Health });
    assert.ok(objects.length >= 2, r.stdout);
    assert.ok(objects.every((o) => o.health.verdict === "healthy"));
    assert.equal(r.code, 0, "the last report's exit status");
  });

  test("--kubernetes --forward: the same report through kubectl port-forward (a stand-in kubectl forwarding to this stack)", async () => {
    const t = stack.topology;
    const forwards: Record<string, { remote: number; port: number }> = Object.fromEntries([
      ...t.hosts.map((h) => [`pod/${hostPodName(h.name)}`, { remote: 8123, port: h.endpoint.ports.http }]),
      ...t.coordination.nodes.map((n) => [`pod/${n.name}`, { remote: 2181, port: n.endpoint.ports.client }]),
      ["service/pg-posthog", { remote: 5432, port: t.postgres.port }],
    ]);
    const fake = join(stack.cwd, "fake-bin");
    mkdirSync(fake, { recursive: true });
    // kubectl [--context C] -n NS port-forward RESOURCE :PORT --address 127.0.0.1, as kubectl prints it.
    writeFileSync(join(fake, "kubectl"), [
      "#!/usr/bin/env node",
      "const net = require('net');",
      "const a = process.argv.slice(2); const i = a.indexOf('port-forward');",
      "const f = JSON.parse(process.env.FAKE_FORWARDS)[a[i + 1]];",
      "if (a[a.indexOf('-n') + 1] !== 'chstack' || !f || a[i + 2] !== ':' + f.remote) { console.error('Error from server (NotFound): ' + a[i + 1] + ' not found'); process.exit(1); }",
      "const s = net.createServer((c) => { const u = net.connect(f.port, '127.0.0.1'); c.pipe(u).on('error', () => u.destroy()); u.pipe(c).on('error', () => c.destroy()); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });",
      "s.listen(0, '127.0.0.1', () => console.log('Forwarding from 127.0.0.1:' + s.address().port + ' -> ' + f.remote));",
      "process.on('SIGTERM', () => process.exit(0));",
    ].join("\n"));
    chmodSync(join(fake, "kubectl"), 0o755);
    const secrets = goldenSecrets();
    const run = (map: Record<string, unknown>, ...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, "status", "--stack", stack.name, "--kubernetes", "--forward", ...args], {
        cwd: stack.cwd,
        env: {
          ...process.env, PATH: `${fake}:${dirname(process.execPath)}:${process.env.PATH}`, FAKE_FORWARDS: JSON.stringify(map),
          CHSTACK_ADMIN_PASSWORD: secrets.clickhouse.admin.password, CHSTACK_POSTGRES_PASSWORD: secrets.postgres.password,
        },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("close", (code) => resolve({ code, out, err }));
    });
    const json = await run(forwards, "--json");
    assert.equal(json.code, 0, json.out + json.err);
    const k = JSON.parse(json.out) as { target: string; namespace: string; forwarded: boolean; health: Health };
    assert.deepEqual([k.target, k.namespace, k.forwarded, k.health.verdict], ["kubernetes", "chstack", true, "healthy"]);
    assert.deepEqual(k.health.facts.clickhouse.map((h) => h.host), [h00, h01, h10, h11]);
    assert.ok(k.health.facts.schema!.hosts.every((h) => h.pending === 0));
    assert.match(k.health.facts.postgres.version!, /^PostgreSQL 15/);

    const { [`pod/${hostPodName(h11)}`]: _, ...without } = forwards;
    const text = await run(without);
    assert.equal(text.code, 3, text.out + text.err);
    assert.match(text.out, /^stack it-health, cluster posthog on Kubernetes, namespace chstack, through kubectl port-forward$/m);
    assert.match(text.out, new RegExp(`^health: degraded: ${h11}: down \\(kubectl port-forward pod/${h11}-0: Error from server \\(NotFound\\): pod/${h11}-0 not found\\)`, "m"));
  });

  test("a stack that does not run: down at once, without waiting on any timeout", async () => {
    const began = Date.now();
    const r = await runChstack(stack.cwd, ["status", "--config", `${stack.cwd}/Pulumi.${stack.name}.yaml`, "--stack", "it-health-none", "--json"]);
    const ms = Date.now() - began;
    assert.equal(r.code, 4, r.stderr);
    const st = JSON.parse(r.stdout) as { hosts: { state: string }[]; health: Health };
    assert.ok(st.hosts.every((h) => h.state === "down"));
    assert.equal(st.health.verdict, "down");
    assert.ok(ms < 3000, `${ms} ms`);
    const text = await runChstack(stack.cwd, ["status", "--config", `${stack.cwd}/Pulumi.${stack.name}.yaml`, "--stack", "it-health-none"]);
    assert.match(text.stdout, /^health: down: no server of stack it-health-none runs/m);
  });
});
