// Failing starts leave nothing running; commands on one stack are serialised; stacks may not share ports.
import assert from "node:assert/strict";
import { chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { postgresHome, postgresIdentity } from "../../infra/loopback/postgres.ts";
import { readState } from "../../infra/loopback/state.ts";
import { pidsOf, processExists, processesIn, runChstack, testStack } from "../support/stack.ts";

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });

/** A process's parent pid (/proc/<pid>/stat field 4). */
const parentOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
};

describe("failing starts", () => {
  const stack = testStack("1x1", "it-fail");
  after(() => stack.destroy());

  test("a port already taken: exit 1, the host and port named, nothing started", async () => {
    const host = stack.topology.hosts[0]!;
    const blocker = await listen(host.endpoint.ports.http);
    try {
      const r = await stack.chstack("up");
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot start ${host.name}: its http port ${host.endpoint.ports.http} on 127.0.0.1 is already in use`));
      assert.deepEqual(pidsOf(stack), {}, "no server recorded as started");
      const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
      assert.ok(st.hosts.every((h: { state: string }) => h.state === "down"));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test("a server failing after others started: they are stopped again, and its log is shown", async () => {
    // A data directory from another Postgres version: postgres refuses it after ZooKeeper and ClickHouse are up.
    const who = postgresIdentity();
    const home = postgresHome(stack.dir, who);
    const data = join(home, "data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "PG_VERSION"), "9\n");
    if (who.uid !== undefined) for (const d of [home, data]) chownSync(d, who.uid, who.gid!);

    const r = await stack.chstack("up");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /zk-solo-0\s+up in/);
    assert.match(r.stdout, /chi-solo-0-0\s+up in/);
    assert.match(r.stderr, /postgres exited while starting; the end of its log/);
    assert.match(r.stderr, /could not access the server configuration file/, "the tail of Postgres's own log");
    assert.match(r.stdout, /postgres failed: stopping the 3 server\(s\) this run started/);
    assert.deepEqual(readState(stack.dir)?.processes, {});
    for (const m of r.stdout.matchAll(/\(pid (\d+)\)/g)) assert.ok(!processExists(Number(m[1])), `pid ${m[1]} is gone`);
  });
});

describe("Ctrl-C", () => {
  const stack = testStack("2x2", "it-sigint", 31400);
  after(() => stack.destroy());

  test("interrupting up while ClickHouse starts leaves no process behind", async () => {
    let sent = false;
    const r = await runChstack(stack.cwd, ["up", "--stack", stack.name], (out, child) => {
      if (!sent && /chi-posthog-\d-\d\s+starting/.test(out)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    assert.ok(sent, r.stdout);
    assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /interrupted: stopping the \d+ server\(s\) this run started/);
    for (const dir of [stack.dir, readState(stack.dir)?.postgresHome]) {
      if (dir) assert.deepEqual(processesIn(dir), [], `no process runs in ${dir}`);
    }
    assert.deepEqual(readState(stack.dir)?.processes, {});
    const next = await stack.chstack("up");
    assert.equal(next.code, 0, `the next up converges:\n${next.stdout}\n${next.stderr}`);
  });

  test("up killed (SIGKILL) while ClickHouse starts: the next up stops what it left unrecorded, adopts the rest, and converges", async () => {
    assert.equal((await stack.chstack("down")).code, 0);
    let sent = false;
    const r = await runChstack(stack.cwd, ["up", "--stack", stack.name], (out, child) => {
      if (!sent && /chi-posthog-\d-\d\s+starting/.test(out)) {
        sent = true;
        child.kill("SIGKILL");
      }
    });
    assert.ok(sent, r.stdout);
    assert.equal(r.code, null, "killed by a signal");
    // A server it spawned in its last moment may be running unrecorded (the kill can fall between the spawn and
    // the state write); the next up finds it by its command line and directory, and stops it.
    const recorded = new Set(Object.values(pidsOf(stack)));
    const dirs = [stack.dir, readState(stack.dir)?.postgresHome].filter((d): d is string => Boolean(d));
    const unrecorded = dirs.flatMap((d) => processesIn(d)).filter((pid) => !recorded.has(pid));
    const began = Date.now();
    const next = await stack.chstack("up");
    assert.equal(next.code, 0, `${next.stdout}\n${next.stderr}`);
    for (const pid of unrecorded) {
      assert.match(next.stdout, new RegExp(`stopping pid ${pid}: started by an interrupted run that never recorded it`));
      assert.ok(!processExists(pid), `pid ${pid} is gone`);
    }
    // Every process in the stack's directories is a recorded server or a child of one (Postgres's workers).
    const now = new Set(Object.values(pidsOf(stack)));
    for (const d of dirs) for (const pid of processesIn(d)) assert.ok(now.has(pid) || now.has(parentOf(pid)), `pid ${pid} in ${d} is recorded, or its parent is: no orphan`);
    assert.match(next.stderr, /took over the stack's lock from pid \d+/);
    console.log(`the up after a killed up converged in ${Date.now() - began} ms: ${next.stdout.split("\n").filter((l) => /servers? (started|were already running)/.test(l)).join(" ")}`);
    const st = JSON.parse((await stack.chstack("status", "--json")).stdout);
    assert.ok(st.hosts.every((h: { state: string }) => h.state === "up"), JSON.stringify(st.hosts));
  });

  test("a server running but missing from state.json (the kill fell between its start and the state write): up stops it and starts it anew", async () => {
    const victim = stack.topology.hosts[0]!.name;
    const state = JSON.parse(readFileSync(join(stack.dir, "state.json"), "utf8")) as { processes: Record<string, { pid: number }> };
    const stray = state.processes[victim]!.pid;
    delete state.processes[victim];
    writeFileSync(join(stack.dir, "state.json"), JSON.stringify(state, null, 2));
    const d = await stack.chstack("down");
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`warning: pid ${stray} \\(\\S*clickhouse-server\\) still runs in the stack's directory and is not one of its recorded servers`), "down names it, and leaves it to up");
    assert.ok(processExists(stray));
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${victim}\\s+stopping pid ${stray}: started by an interrupted run that never recorded it`));
    assert.ok(!processExists(stray), "the stray is gone");
    assert.notEqual(pidsOf(stack)[victim], stray);
    assert.equal((await stack.chstack("down")).code, 0);
    for (const dir of [stack.dir, readState(stack.dir)?.postgresHome]) if (dir) assert.deepEqual(processesIn(dir), [], `down left nothing in ${dir}`);
  });
});

describe("one stack, one command at a time; stacks may not share ports", () => {
  const first = testStack("1x1", "it-lock", 31500);
  after(() => first.destroy());

  test("two concurrent ups on one stack: both succeed, the second finds everything running", async () => {
    const [a, b] = await Promise.all([first.chstack("up"), first.chstack("up")]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const outputs = [a.stdout, b.stdout];
    assert.equal(outputs.filter((o) => /3 of 3 servers started/.test(o)).length, 1, outputs.join("\n----\n"));
    assert.equal(outputs.filter((o) => /all 3 servers were already running/.test(o)).length, 1);
  });

  test("a second stack whose ports overlap a running stack is refused before anything starts", async () => {
    // Same project directory, another stack name, the same port range.
    copyFileSync(join(first.cwd, "Pulumi.it-lock.yaml"), join(first.cwd, "Pulumi.it-clash.yaml"));
    const r = await runChstack(first.cwd, ["up", "--stack", "it-clash"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ports 31500-31522 of stack it-clash overlap ports 31500-31522 of the running stack it-lock; choose another loopback\.portBase/);
  });
});
