// The declared schema on a real 2x2 stack of ClickHouse 18.16: create, add a column, drift, destructive
// changes, a migration-only change, and a server killed in the middle of an apply.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatApply } from "../../cli/schema-format.ts";
import { closeAll, connectAll } from "../../infra/loopback/schema.ts";
import { apply, PlanBlockedError, planFor } from "../../schema/apply.ts";
import { defineSchema, type DistributedTableInput, type LocalTableInput } from "../../schema/declare.ts";
import { lastApply } from "../../schema/ledger.ts";
import { posthogSchema, posthogTables } from "../../schema/posthog.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { pidsOf, processExists, rows, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-schema", 31300);
const t = stack.topology;
const hostNames = t.hosts.map((h) => h.name);
const conns = connectAll(t, goldenSecrets());
const base = posthogSchema("posthog");

/** The PostHog declaration with one more column on sharded_events (and so on its Distributed tables). */
function withColumn(name: string, change: (x: LocalTableInput) => LocalTableInput = (x) => x) {
  const tables = posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events"
    ? change({ ...x, columns: [...x.columns, { name, type: "String", default: { kind: "DEFAULT", expression: "''" } }] })
    : x)) as (LocalTableInput | DistributedTableInput)[];
  return defineSchema({ tables });
}

async function columnsOn(host: number, table: string): Promise<string[]> {
  const cols = await conns.get(hostNames[host]!)!.query<{ name: string }>(`SELECT name FROM system.columns WHERE database = 'posthog' AND table = '${table}'`);
  return cols.map((r) => r.name);
}

describe("declared schema on a 2x2 stack", () => {
  before(async () => {
    const r = await stack.chstack("up", "--no-schema");
    assert.equal(r.code, 0, `up failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(async () => {
    await closeAll(conns);
    await stack.destroy();
  });

  test("schema plan exits 2 on a fresh stack; apply creates every table on every host; a second plan exits 0", async () => {
    const planned = await stack.chstack("schema", "plan");
    assert.equal(planned.code, 2, planned.stderr);
    assert.match(planned.stdout, /statement\(s\) to run/);

    const r = await apply(base, t, conns);
    assert.ok(r.converged, formatApply(r));
    for (const h of hostNames) {
      const tables = await conns.get(h)!.query<{ name: string }>("SELECT name FROM system.tables WHERE database = 'posthog' ORDER BY name");
      assert.deepEqual(tables.map((x) => x.name), ["events", "person", "person_distinct_id", "sharded_events", "writable_events"], h);
      const ledger = await lastApply(conns.get(h)!);
      assert.equal(ledger.declarationHash, r.plan.declarationHash, `${h}: the ledger records the apply`);
      assert.equal(ledger.result, "ok");
    }
    const again = await stack.chstack("schema", "plan");
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /nothing to do/);
  });

  test("rows written through writable_events are read through events, exactly", async () => {
    const writer = stack.client(0, "writer");
    await writer.command({
      query: "INSERT INTO posthog.writable_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset) " +
        "SELECT generateUUIDv4(), 'pageview', '{}', toDateTime('2026-11-01 00:00:00') + number, 1, toString(number % 997), '', now(), now(), number FROM numbers(25000)",
    });
    await writer.close();
    // The insert is synchronous to one replica per shard; the other replica fetches the part a moment later.
    for (const h of hostNames) await conns.get(h)!.command("SYSTEM SYNC REPLICA posthog.sharded_events");
    for (let i = 0; i < hostNames.length; i++) {
      const reader = stack.client(i, "readonly");
      const [all] = await rows<{ n: string }>(reader, "SELECT count() AS n FROM posthog.events");
      assert.equal(Number(all!.n), 25000, hostNames[i]);
      await reader.close();
    }
    const [local0] = await conns.get(hostNames[0]!)!.query<{ n: string }>("SELECT count() AS n FROM posthog.sharded_events");
    const [local2] = await conns.get(hostNames[2]!)!.query<{ n: string }>("SELECT count() AS n FROM posthog.sharded_events");
    assert.ok(Number(local0!.n) > 0 && Number(local2!.n) > 0 && Number(local0!.n) + Number(local2!.n) === 25000, "both shards hold rows, summing to the total");
  });

  test("an added column: one ADD COLUMN per shard for the replicated table, one per host per Distributed table", async () => {
    const decl = withColumn("session_id");
    const p = await planFor(decl, t, conns);
    const adds = p.tasks.filter((x) => x.kind === "add-column");
    const replicated = adds.filter((x) => x.table === "posthog.sharded_events");
    assert.equal(replicated.length, 2, "once per shard");
    assert.deepEqual(replicated.map((x) => t.hosts.find((h) => h.name === x.host)!.address.shardIndex).sort(), [0, 1]);
    assert.deepEqual(replicated.map((x) => x.group!.length), [2, 2]);
    for (const dist of ["posthog.events", "posthog.writable_events"]) {
      assert.deepEqual(adds.filter((x) => x.table === dist).map((x) => x.host).sort(), [...hostNames].sort(), `${dist}: once per host`);
    }
    const r = await apply(decl, t, conns);
    assert.ok(r.converged, formatApply(r));
    for (let i = 0; i < hostNames.length; i++) {
      for (const table of ["sharded_events", "events", "writable_events"]) assert.ok((await columnsOn(i, table)).includes("session_id"), `${hostNames[i]} ${table}`);
    }
    assert.equal((await planFor(decl, t, conns)).tasks.length, 0, "a second plan is empty");
  });

  test("drift made by hand is reported with its hosts, and apply refuses it", async () => {
    const decl = withColumn("session_id");
    await conns.get(hostNames[2]!)!.command("ALTER TABLE posthog.sharded_events ADD COLUMN by_hand String"); // shard 1: replicates to both
    await conns.get(hostNames[1]!)!.command("CREATE TABLE posthog.scratch (x UInt8) ENGINE = Memory");
    const p = await planFor(decl, t, conns);
    const column = p.drift.find((d) => d.kind === "undeclared-column" && d.column === "by_hand" && d.table === "posthog.sharded_events");
    assert.ok(column, JSON.stringify(p.drift));
    assert.deepEqual([...column.hosts].sort(), [hostNames[2], hostNames[3]]);
    const table = p.drift.find((d) => d.kind === "undeclared-table" && d.table === "posthog.scratch");
    assert.deepEqual(table?.hosts, [hostNames[1]]);
    await assert.rejects(apply(decl, t, conns), PlanBlockedError);
    assert.ok((await columnsOn(2, "sharded_events")).includes("by_hand"), "nothing was applied");
  });

  test("a destructive change is applied only with its --allow flag", async () => {
    const decl = withColumn("session_id");
    await assert.rejects(apply(decl, t, conns, { allow: new Set(["drop-column"]) }), PlanBlockedError, "the undeclared table still needs drop-table");
    const r = await apply(decl, t, conns, { allow: new Set(["drop-column", "drop-table"]) });
    assert.ok(r.converged, formatApply(r));
    assert.ok(!(await columnsOn(3, "sharded_events")).includes("by_hand"));
    const [scratch] = await conns.get(hostNames[1]!)!.query<{ n: string }>("SELECT count() AS n FROM system.tables WHERE database = 'posthog' AND name = 'scratch'");
    assert.equal(Number(scratch!.n), 0);
    const typeChange = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "person" ? { ...x, columns: x.columns.map((c) => (c.name === "properties" ? { ...c, type: "Nullable(String)" } : c)) } : x)) });
    const p = await planFor(typeChange, t, conns);
    assert.ok(p.drift.some((d) => d.kind === "type-change" && d.column === "properties" && !d.resolved));
  });

  test("an ORDER BY change is refused even with every flag, and changes nothing", async () => {
    const decl = withColumn("session_id", (x) => ({ ...x, orderBy: ["team_id", "toDate(timestamp)", "event", "cityHash64(distinct_id)"] }));
    const p = await planFor(decl, t, conns);
    const migration = p.drift.filter((d) => d.kind === "needs-migration" && d.table === "posthog.sharded_events");
    assert.ok(migration.some((d) => /^ORDER BY is team_id, toDate\(timestamp\), event, cityHash64\(distinct_id\), cityHash64\(toString\(uuid\)\), declared team_id, toDate\(timestamp\), event, cityHash64\(distinct_id\)$/.test(d.reason)), JSON.stringify(migration));
    assert.deepEqual([...new Set(migration.flatMap((d) => d.hosts))].sort(), [...hostNames].sort(), "named on every host");
    await assert.rejects(apply(decl, t, conns, { allow: new Set(["drop-column", "drop-table", "modify-type"]) }), PlanBlockedError);
  });

  test("a server killed after the first statement: the others converge, it is named; the re-run converges without repeating the ALTER", async () => {
    const decl = withColumn("session_id", (x) => ({ ...x, columns: [...x.columns, { name: "kill_test", type: "UInt8" }] }));
    let victim: string | undefined;
    const r = await apply(decl, t, conns, {
      confirmTimeoutMs: 2000,
      afterStatement: async (task) => {
        if (victim) return;
        victim = task.host;
        const pid = pidsOf(stack)[task.host]!;
        process.kill(pid, "SIGKILL");
        while (processExists(pid)) await new Promise((res) => setTimeout(res, 50));
      },
    });
    assert.ok(victim);
    assert.equal(r.converged, false);
    const outcome = r.outcomes.find((o) => o.host === victim)!;
    assert.ok(outcome.failed, `${victim} failed`);
    assert.ok(outcome.undone.length > 0, "its remaining steps are listed as undone");
    assert.match(formatApply(r), new RegExp(`${victim}: FAILED at `));
    for (const o of r.outcomes.filter((x) => x.host !== victim)) assert.equal(o.failed, undefined, `${o.host} converged`);

    const restarted = await stack.chstack("up", "--no-schema");
    assert.equal(restarted.code, 0, restarted.stderr);
    const again = await apply(decl, t, conns);
    assert.ok(again.converged, formatApply(again));
    assert.ok(!again.plan.tasks.some((x) => x.table === "posthog.sharded_events" && x.kind === "add-column"), "the replicated ALTER is not issued again");
    for (let i = 0; i < hostNames.length; i++) assert.ok((await columnsOn(i, "sharded_events")).includes("kill_test"), hostNames[i]);
    const status = await stack.chstack("schema", "plan", "--declaration", writeDeclarationModule());
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);
  });

  test("a new column appended to ORDER BY: one ALTER with MODIFY ORDER BY per shard, on 18.16", async () => {
    const decl = withColumn("session_id", (x) => ({
      ...x,
      columns: [...x.columns, { name: "kill_test", type: "UInt8" }, { name: "order_key", type: "UInt8" }],
      primaryKey: x.orderBy,
      orderBy: [...x.orderBy, "order_key"],
    }));
    const p = await planFor(decl, t, conns);
    assert.deepEqual(p.drift, []);
    assert.equal(p.tasks.filter((x) => /MODIFY ORDER BY/.test(x.sql)).length, 2, "once per shard");
    const r = await apply(decl, t, conns);
    assert.ok(r.converged, formatApply(r));
    for (const h of hostNames) {
      const [row] = await conns.get(h)!.query<{ sorting_key: string; primary_key: string }>("SELECT sorting_key, primary_key FROM system.tables WHERE database = 'posthog' AND name = 'sharded_events'");
      assert.match(row!.sorting_key, /, order_key$/, h);
      assert.doesNotMatch(row!.primary_key, /order_key/, `${h}: the primary key stays`);
    }
    assert.equal((await planFor(decl, t, conns)).tasks.length, 0);
  });
});

/** A declaration module on disk, for the CLI: the same declaration as the last test. */
function writeDeclarationModule(): string {
  const file = join(stack.cwd, "decl.mts"); // an ES module wherever it sits
  const schema = fileURLToPath(new URL("../../schema/", import.meta.url));
  writeFileSync(file, [
    `import { defineSchema } from "${schema}declare.ts";`,
    `import { posthogTables } from "${schema}posthog.ts";`,
    "export default (db: string) => defineSchema({ tables: posthogTables(db).map((x) => x.kind === 'table' && x.name === 'sharded_events'",
    "  ? { ...x, columns: [...x.columns, { name: 'session_id', type: 'String', default: { kind: 'DEFAULT', expression: \"''\" } }, { name: 'kill_test', type: 'UInt8' }] } : x) });",
  ].join("\n"));
  return file;
}
