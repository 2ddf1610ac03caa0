// Fault: kill -9 of a ClickHouse replica in the middle of a 1M-row ingest through a Distributed table, on a
// real 2x2 stack (ClickHouse 18.16, ZooKeeper 3.8). Every batch is retried on another host until a server
// acknowledges it; then `up` brings the replica back. Every acknowledged row is present exactly once, and the
// replicas of each shard hold the same rows. Only this test's servers are touched, by their recorded pids.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ackedIngest, type IngestResult } from "../support/acked-ingest.ts";
import { faultSchemaOptions } from "../support/fault-schema.ts";
import { pidsOf, processExists, rows, testStack, withClient } from "../support/stack.ts";

const stack = testStack("2x2", "it-fault-ingest", 30500, faultSchemaOptions());
const hosts = stack.topology.hosts;
const ROWS = 1_000_000;

interface Digest { rows: string; ids: string; sum: string; min: string; max: string }
const DIGEST = "SELECT toString(count()) AS rows, toString(uniqExact(id)) AS ids, toString(sum(id)) AS sum, toString(min(id)) AS min, toString(max(id)) AS max";

const digest = (i: number, from: string): Promise<Digest> => withClient(stack, i, async (c) => (await rows<Digest>(c, `${DIGEST} FROM ${from}`))[0]!);

describe("kill -9 of a replica during a 1M-row ingest", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });
  after(() => stack.destroy());

  let ingest: IngestResult;
  let killedAt = 0;
  const victim = hosts[1]!; // shard 0, replica 1

  test("the ingest goes on while the replica is dead: every batch is acknowledged", async () => {
    const clients = hosts.map((_, i) => stack.client(i, "writer"));
    const pid = pidsOf(stack)[victim.name]!;
    try {
      ingest = await ackedIngest({
        clients, table: "faults.rows", rows: ROWS, batchRows: 20_000, inFlight: 2,
        onAck: async (acked) => {
          if (killedAt || acked < 300_000) return;
          killedAt = acked;
          process.kill(pid, "SIGKILL");
          while (processExists(pid)) await new Promise((r) => setTimeout(r, 20));
        },
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    console.log(`acknowledged ${ingest.acked} rows in ${ingest.batches} batches; ${victim.name} killed after ${killedAt}; ${ingest.retries} retried attempt(s): ${JSON.stringify([...ingest.errors])}`);
    assert.ok(killedAt > 0, "the replica was killed mid-ingest");
    assert.equal(ingest.acked, ROWS);
    assert.ok(ingest.retries > 0, "some attempts reached the dead replica and were retried elsewhere");
  });

  test("up brings the replica back; every acknowledged row is present exactly once; the replicas agree", async () => {
    const began = Date.now();
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${victim.name}\\s+restarted \\(was not running\\)`));
    const upMs = Date.now() - began;

    // The restarted replica fetches the parts written while it was dead, and its peer the parts that only
    // the dead replica had acknowledged: wait until both replicas of each shard hold the same rows.
    let local: Digest[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      local = await Promise.all(hosts.map((_, i) => digest(i, "faults.sharded_rows")));
      if (JSON.stringify(local[0]) === JSON.stringify(local[1]) && JSON.stringify(local[2]) === JSON.stringify(local[3])) break;
      if (Date.now() > deadline) break; // the assertions below name the difference
      await new Promise((r) => setTimeout(r, 500));
    }
    const caughtUpMs = Date.now() - began;

    const total = await digest(0, "faults.rows");
    const expectedSum = ((ROWS - 1) * ROWS) / 2;
    assert.deepEqual(total, { rows: String(ROWS), ids: String(ROWS), sum: String(expectedSum), min: "0", max: String(ROWS - 1) }, "through the Distributed table");

    assert.deepEqual(local[1], local[0], `shard 0: ${victim.name} holds the same rows as its peer`);
    assert.deepEqual(local[3], local[2], "shard 1: both replicas hold the same rows");
    assert.equal(Number(local[0]!.rows) + Number(local[2]!.rows), ROWS, "the shards split the rows, none in both");
    assert.equal(Number(local[0]!.ids), Number(local[0]!.rows), "no row twice on a replica");
    console.log(`acknowledged ${ingest.acked}, present ${total.rows} (distinct ids ${total.ids}); shard 0 ${local[0]!.rows} = ${local[1]!.rows}, shard 1 ${local[2]!.rows} = ${local[3]!.rows}; up ${upMs} ms, replica caught up ${caughtUpMs} ms after up began`);
  });
});
