// Faults in a schema apply, on a real 2x2 stack (ClickHouse 18.16): one host down while a change is applied,
// then the tool itself killed (SIGKILL) in the middle of an apply. A re-run converges each time, and the
// ledger on each host tells what happened: an apply that began and never finished reads "interrupted".
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stopServer } from "../../infra/loopback/procs.ts";
import { readState } from "../../infra/loopback/state.ts";
import { FAULT_DECLARATION, FAULT_DECLARATION_FILE, faultSchemaOptions } from "../support/fault-schema.ts";
import { rows, runChstack, testStack, withClient } from "../support/stack.ts";

const stack = testStack("2x2", "it-fault-schema", 30700, faultSchemaOptions());
const hosts = stack.topology.hosts;

/** The fault declaration with more columns on faults.sharded_rows (and so on faults.rows). */
function declare(columns: readonly string[]) {
  const extra = columns.map((c) => `{ name: "${c}", type: "String", default: { kind: "DEFAULT", expression: "''" } }`).join(", ");
  writeFileSync(join(stack.cwd, FAULT_DECLARATION_FILE),
    FAULT_DECLARATION.replace('{ name: "shard_key", type: "String" }]', `{ name: "shard_key", type: "String" }, ${extra}]`));
}

interface HostStatus { host: string; reachable: boolean; inSync: boolean; pendingStatements: number; ledger: { result: string | null; declarationHash: string | null; began?: string; planned?: string } }
async function schemaStatus() {
  const r = await stack.chstack("schema", "status", "--json");
  return JSON.parse(r.stdout) as { declarationHash: string; hosts: HostStatus[] };
}

const columnsOn = (i: number): Promise<string[]> => withClient(stack, i, async (c) =>
  (await rows<{ name: string }>(c, "SELECT name FROM system.columns WHERE database = 'faults' AND table = 'sharded_rows' ORDER BY name")).map((r) => r.name));

describe("schema apply under faults", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });
  after(() => stack.destroy());

  const down = hosts[3]!;
  test("one host down: the others converge, the command exits 1 naming it; up brings it back and converges it", async () => {
    assert.notEqual(await stopServer(readState(stack.dir)!.processes[down.name]!, 10_000), "not-running");
    declare(["note"]);
    const r = await stack.chstack("schema", "apply");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${down.name}`));
    for (let i = 0; i < 3; i++) assert.ok((await columnsOn(i)).includes("note"), hosts[i]!.name);
    const st = await schemaStatus();
    assert.deepEqual(st.hosts.map((h) => [h.host, h.reachable, h.inSync]), hosts.map((h, i) => [h.name, i !== 3, i !== 3]));

    const began = Date.now();
    const up = await stack.chstack("up");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    console.log(`up restarted ${down.name} and converged its schema in ${Date.now() - began} ms`);
    assert.ok((await columnsOn(3)).includes("note"), "the returning host has the column");
    const after = await schemaStatus();
    assert.ok(after.hosts.every((h) => h.inSync), JSON.stringify(after.hosts));
  });

  test("the tool killed in the middle of an apply: the ledger says interrupted; the re-run converges and the ledger says so", async () => {
    // Eight columns: each a replicated ALTER after the other on one table, so the apply is still running
    // when the kill arrives (its first progress line is printed before its first statement).
    const added = ["kill_a", "kill_b", "kill_c", "kill_d", "kill_e", "kill_f", "kill_g", "kill_h"];
    declare(["note", ...added]);
    let killed = false;
    const r = await runChstack(stack.cwd, ["schema", "apply", "--stack", stack.name], (out, child) => {
      if (!killed && /add-column/.test(out)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    assert.ok(killed, r.stdout);
    assert.equal(r.code, null, "killed by a signal");

    const st = await schemaStatus();
    const interrupted = st.hosts.filter((h) => h.ledger.result === "interrupted");
    assert.ok(interrupted.length > 0, JSON.stringify(st.hosts));
    for (const h of interrupted) {
      assert.equal(h.ledger.declarationHash, st.declarationHash);
      assert.match(h.ledger.planned ?? "", /^\d+ statement\(s\) planned$/);
    }
    const text = await stack.chstack("schema", "status");
    assert.match(text.stdout, /began .* and never finished \(\d+ statement\(s\) planned\): it was interrupted; schema apply again converges/);

    const began = Date.now();
    const again = await stack.chstack("schema", "apply");
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.match(again.stderr, /took over the stack's lock from pid \d+, which is no longer running/, "the killed command's lock is taken over, not waited out");
    console.log(`the re-run after the kill converged in ${Date.now() - began} ms; ${interrupted.length} host ledger(s) read interrupted before it`);
    for (let i = 0; i < hosts.length; i++) assert.deepEqual((await columnsOn(i)).filter((c) => c.startsWith("kill_")), added, hosts[i]!.name);
    // Every host matches; its ledger says the re-run succeeded, or (a host the re-run had nothing left to do
    // on) that the killed apply was interrupted and the host matches now.
    const after = await schemaStatus();
    const lines = (await stack.chstack("schema", "status")).stdout;
    for (const h of after.hosts) {
      assert.ok(h.inSync, h.host);
      if (h.ledger.result !== "ok") {
        assert.equal(h.ledger.result, "interrupted", h.host);
        assert.match(lines, new RegExp(`${h.host}: matches the declaration; last apply .* it was interrupted; the host matches the declaration now`));
      }
    }
    const plan = await stack.chstack("schema", "plan");
    assert.equal(plan.code, 0, plan.stdout);
  });
});
