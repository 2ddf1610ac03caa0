// Fault: one host's data disk full, then read-only, on a real 2x2 stack (ClickHouse 18.16). The host's data
// directory is a 128 MiB ext4 file system of its own (a loop device, mounted errors=remount-ro, no blocks
// reserved for root). Read-only is the way disks turn read-only in production: the kernel remounts the file
// system after an error (ext4's trigger_fs_error), while the server holds files open. The failure is reported
// (by the server to the writer, and by `status`), the other hosts keep taking and serving rows, and once the
// disk is back the host catches up: every acknowledged row is present once, and its replica agrees with its peer.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ackedIngest, firstLine } from "../support/acked-ingest.ts";
import { faultSchemaOptions } from "../support/fault-schema.ts";
import { stopServer } from "../../infra/loopback/procs.ts";
import { readState } from "../../infra/loopback/state.ts";
import { healthOf, healthUntil, rows, testStack, withClient } from "../support/stack.ts";

const stack = testStack("2x2", "it-fault-disk", 30800, faultSchemaOptions());
const hosts = stack.topology.hosts;
const victim = hosts[3]!; // shard 1, replica 1; its peer is hosts[2]
const mountPoint = join(stack.dir, victim.paths.data);
const fillers = join(mountPoint, "fillers");
const image = join(stack.cwd, "disk.img");
const mountDisk = () => execFileSync("mount", ["-o", "loop,errors=remount-ro", image, mountPoint]);
const mounted = () => execFileSync("findmnt", ["-n", "-o", "SOURCE", mountPoint], { encoding: "utf8" }).trim();
let acked = 0;

async function ingest(clientHosts: readonly number[], n: number) {
  const clients = clientHosts.map((i) => stack.client(i, "writer"));
  try {
    const r = await ackedIngest({ clients, table: "faults.rows", firstId: acked, rows: n, batchRows: 5_000, inFlight: 2, batchDeadlineMs: 60_000 });
    acked += r.acked;
    return r;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

const count = (i: number, table: string, role: "admin" | "readonly" = "admin"): Promise<number> =>
  withClient(stack, i, async (c) => Number((await rows<{ n: string }>(c, `SELECT toString(count()) AS n FROM ${table}`))[0]!.n), role);
const localRows = (i: number) => count(i, "faults.sharded_rows");

/** count() through the Distributed table from each host but the victim: they answer. */
const distributedCounts = (): Promise<number[]> => Promise.all([0, 1, 2].map((i) => count(i, "faults.rows", "readonly")));

const insertOnVictim = (): Promise<string> => withClient(stack, 3, (c) =>
  c.command({ query: "INSERT INTO faults.sharded_rows (id, shard_key) SELECT number + 900000000, 'direct' FROM system.numbers LIMIT 100000" })
    .then(() => "acknowledged", firstLine), "writer");

/** Until the victim holds what its peer holds, and the shards together hold every acknowledged row. */
async function caughtUp(): Promise<number> {
  const began = Date.now();
  for (;;) {
    const [s0, , s1, v] = await Promise.all(hosts.map((_, i) => localRows(i)));
    if (v === s1 && s0! + s1! === acked) return Date.now() - began;
    if (Date.now() - began > 120_000) assert.fail(`${victim.name} holds ${v} rows, its peer ${s1}; shards ${s0} + ${s1} of ${acked} acknowledged`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// Mounting a loop device needs root, as the front door's root half does; CI runs as root.
describe("one host's data disk full, then read-only", { skip: process.getuid?.() !== 0 && "needs root: it mounts a loop device" }, () => {
  before(async () => {
    mkdirSync(mountPoint, { recursive: true });
    execFileSync("truncate", ["-s", "128M", image]);
    execFileSync("mkfs.ext4", ["-q", "-m", "0", "-F", image]);
    mountDisk();
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await ingest([0, 1, 2, 3], 50_000);
  });
  after(async () => {
    await stack.chstack("down");
    for (const p of Object.values(readState(stack.dir)?.processes ?? {})) await stopServer(p, 10_000); // if down could not
    // mount -o loop detaches the loop device on umount; a lazy umount if something still holds it.
    if (spawnSync("findmnt", [mountPoint]).status === 0 && spawnSync("umount", [mountPoint]).status !== 0) execFileSync("umount", ["--lazy", mountPoint]);
    await stack.destroy();
  });

  test("full: its own inserts fail with the server's error; status names it; the others take and serve every row", async () => {
    // Most of the space in one go, then the rest (ext4 keeps some for the extents) until nothing is left.
    mkdirSync(fillers);
    const { bavail, bsize } = statfsSync(mountPoint);
    execFileSync("fallocate", ["-l", String(bavail * bsize - 4 * 2 ** 20), join(fillers, "bulk")]);
    const tail = spawnSync("dd", ["if=/dev/zero", `of=${join(fillers, "tail")}`, "bs=64k"], { encoding: "utf8" });
    assert.match(tail.stderr, /No space left on device/);
    const refusal = await insertOnVictim();
    console.log(`insert on the full host: ${refusal}`);
    assert.match(refusal, /space|ENOSPC|errno: 28/i);

    const r = await ingest([0, 1, 2], 50_000);
    console.log(`with ${victim.name}'s disk full: ${r.acked} rows acknowledged through the other hosts, ${r.retries} retried attempt(s) ${JSON.stringify([...r.errors])}`);
    const [s0, , s1] = await Promise.all(hosts.map((_, i) => localRows(i)));
    assert.equal(s0! + s1!, acked, "every acknowledged row is on a replica of its shard");
    console.log(`reads through faults.rows on the other hosts answer: ${(await distributedCounts()).join(", ")} of ${acked} (a read routed to the full host sees what it holds)`);

    // Its fetches fail too; the report counts an entry as failing after a few tries.
    const s = await healthUntil(stack, "the full disk and the failing fetches reported", (h) =>
      h.reasons.some((x) => x.startsWith(`${victim.name}: replication failing on faults.sharded_rows`)));
    console.log(`status: exit ${s.code}, ${s.summary}\n  ${s.reasons.join("\n  ")}`);
    assert.equal(s.code, 3);
    assert.ok(s.reasons.some((x) => x.startsWith(`${victim.name}: disk nearly full`)), JSON.stringify(s.reasons));
    const text = await stack.chstack("status");
    assert.equal(text.code, 3);
    assert.match(text.stdout, new RegExp(`health: degraded: ${victim.name}: `));
    console.log(`status (text):\n${text.stdout}`);
  });

  test("space freed: the host catches up by itself, and the report is healthy", async () => {
    rmSync(fillers, { recursive: true });
    const ms = await caughtUp();
    console.log(`${victim.name} caught up ${ms} ms after the space was freed (${acked} rows)`);
    await healthUntil(stack, "healthy once the host caught up", (h) => h.code === 0);
  });

  test("read-only: its own inserts fail with the server's error; status names it; the others take every row", async () => {
    execFileSync("sh", ["-c", `echo 1 > /sys/fs/ext4/${mounted().replace("/dev/", "")}/trigger_fs_error`]);
    const refusal = await insertOnVictim();
    console.log(`insert on the read-only host: ${refusal}`);
    assert.match(refusal, /read-only|EROFS|errno: 30/i);

    const r = await ingest([0, 1, 2], 50_000);
    console.log(`with ${victim.name}'s disk read-only: ${r.acked} rows acknowledged through the other hosts, ${r.retries} retried attempt(s) ${JSON.stringify([...r.errors])}`);
    const [s0, , s1] = await Promise.all(hosts.map((_, i) => localRows(i)));
    assert.equal(s0! + s1!, acked, "every acknowledged row is on a replica of its shard");
    const s = await healthOf(stack);
    console.log(`status: exit ${s.code}, ${s.summary}\n  ${s.reasons.join("\n  ")}`);
    assert.equal(s.code, 3);
    assert.ok(s.reasons.includes(`${victim.name}: data disk not writable (EROFS: read-only file system)`), JSON.stringify(s.reasons));
  });

  test("the operator's repair (stop the host, fsck, mount, up): the host catches up, the report is healthy", async () => {
    const began = Date.now();
    await stopServer(readState(stack.dir)!.processes[victim.name]!, 30_000);
    execFileSync("umount", [mountPoint]);
    const fsck = spawnSync("e2fsck", ["-fy", image], { encoding: "utf8" });
    assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck: exit ${fsck.status} (0 clean, 1 repaired)\n${fsck.stdout}`);
    mountDisk();
    const up = await stack.chstack("up");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    const ms = await caughtUp();
    console.log(`${victim.name} repaired and caught up ${Date.now() - began} ms after its stop began (catch-up ${ms} ms after up; ${acked} rows)`);
    await healthUntil(stack, "healthy after the repair", (h) => h.code === 0);
  });
});
