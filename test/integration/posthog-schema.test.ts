// PostHog's own tables (schema/posthog-full.ts) on a real 2x2 stack of ClickHouse 18.16, through the
// command line as a user runs it: up converges, the next plan is empty, 100k events written through
// writable_events read back through events on every host (materialized columns included), and a new
// materialized column converges with an empty plan after it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { rows, testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-posthog", 31700);
const full = fileURLToPath(new URL("../../schema/posthog-full.ts", import.meta.url));
const EVENTS = 100_000;
const GROUPS = 5;

/** The declaration with a materialized column PostHog's column materializer would add. */
function evolved(): string {
  const file = join(stack.cwd, "posthog-evolved.mts");
  writeFileSync(file, [
    `import { defineSchema } from ${JSON.stringify(fileURLToPath(new URL("../../schema/declare.ts", import.meta.url)))};`,
    `import { posthogFullTables } from ${JSON.stringify(full)};`,
    "export const evolvedTables = (db: string) => posthogFullTables(db).map((x) => x.kind === 'table' && x.name === 'sharded_events'",
    "  ? { ...x, columns: [...x.columns, { name: 'mat_$browser', type: 'VARCHAR', default: { kind: 'MATERIALIZED', expression: \"visitParamExtractString(properties, '$browser')\" } }] } : x);",
    "export default (db: string) => defineSchema({ tables: evolvedTables(db) });",
  ].join("\n"));
  return file;
}

/** An event as PostHog's pipeline writes it into writable_events. */
function event(i: number) {
  const ts = new Date(Date.UTC(2026, 10, 1) + (i % (30 * 86_400)) * 1000).toISOString().slice(0, 19).replace("T", " ");
  return {
    uuid: randomUUID(), event: i % 3 === 0 ? "$pageview" : "$autocapture",
    properties: JSON.stringify({ $group_0: `g${i % GROUPS}`, $window_id: `w${i % 7}`, $browser: i % 2 === 0 ? "Chrome" : "Firefox" }),
    timestamp: ts, team_id: 1 + (i % 3), distinct_id: `user-${i % 5000}`, elements_chain: i % 4 === 0 ? 'a.link:href="/pricing"text="Pricing"' : "",
    created_at: ts, person_id: randomUUID(), person_created_at: ts, person_properties: "{}",
    group0_properties: "{}", group1_properties: "{}", group2_properties: "{}", group3_properties: "{}", group4_properties: "{}",
    group0_created_at: ts, group1_created_at: ts, group2_created_at: ts, group3_created_at: ts, group4_created_at: ts,
    person_mode: "full", _timestamp: ts, _offset: i,
  };
}

/** Every replica has fetched what was written to its peer (a synchronous Distributed insert waits for one replica per shard). */
async function syncReplicas(table = "posthog.sharded_events"): Promise<void> {
  await Promise.all(stack.topology.hosts.map(async (_, h) => {
    const admin = stack.client(h, "admin");
    try {
      await admin.command({ query: `SYSTEM SYNC REPLICA ${table}` });
    } finally {
      await admin.close();
    }
  }));
}

/** Rows of the local table on the first replica of each shard. */
async function perShard(): Promise<number[]> {
  return Promise.all(stack.topology.shards.map(async (s) => {
    const c = stack.client(stack.topology.hosts.indexOf(s.hosts[0]!), "readonly");
    try {
      return Number((await rows<{ n: string }>(c, "SELECT count() AS n FROM posthog.sharded_events"))[0]!.n);
    } finally {
      await c.close();
    }
  }));
}

/** The evolved declaration and a Distributed table over `person` (replicated to every host) through the one-shard cluster. */
function withPersonEverywhere(): string {
  const file = join(stack.cwd, "posthog-persons.mts");
  writeFileSync(file, [
    `import { defineSchema, distributed } from ${JSON.stringify(fileURLToPath(new URL("../../schema/declare.ts", import.meta.url)))};`,
    `import { evolvedTables } from ${JSON.stringify(evolved())};`,
    "export default (db: string) => defineSchema({ tables: [...evolvedTables(db), distributed({ database: db, name: 'person_everywhere', local: 'person', cluster: 'posthog_single_shard' })] });",
  ].join("\n"));
  return file;
}

describe("PostHog's tables on a 2x2 stack", () => {
  before(async () => {
    const r = await stack.chstack("up", "--declaration", full);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /all 4 hosts match declaration/);
  });
  after(() => stack.destroy());

  test("the next plan is empty (18.16's spellings of the defaults read as declared)", async () => {
    const p = await stack.chstack("schema", "plan", "--declaration", full, "--json");
    assert.equal(p.code, 0, p.stdout);
    const plan = JSON.parse(p.stdout);
    assert.deepEqual([plan.tasks, plan.drift], [[], []]);
  });

  test("100k events through writable_events read back through events on every host, materialized columns too", async () => {
    const writer = stack.client(0, "writer");
    try {
      for (let from = 0; from < EVENTS; from += 25_000) {
        await writer.insert({ table: "posthog.writable_events", values: Array.from({ length: 25_000 }, (_, k) => event(from + k)), format: "JSONEachRow" });
      }
    } finally {
      await writer.close();
    }
    await syncReplicas();
    const shards = await perShard();
    assert.ok(shards.every((n) => n > EVENTS / 4), `both shards hold events by the sharding key: ${shards}`);
    assert.equal(shards[0]! + shards[1]!, EVENTS);
    for (let h = 0; h < 4; h++) {
      const reader = stack.client(h, "readonly");
      try {
        const [r] = await rows<{ n: string; g0: string; pricing: string }>(reader,
          "SELECT count() AS n, countIf(`$group_0` = 'g0') AS g0, countIf(elements_chain_href = '/pricing') AS pricing FROM posthog.events");
        assert.deepEqual({ ...r }, { n: String(EVENTS), g0: String(EVENTS / GROUPS), pricing: String(EVENTS / 4) }, stack.topology.hosts[h]!.name);
      } finally {
        await reader.close();
      }
    }
  });

  test("a new materialized column: one ALTER per shard, then an empty plan; writes go on", async () => {
    const module = evolved();
    const applied = await stack.chstack("schema", "apply", "--declaration", module);
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const alters = (table: string) => applied.stdout.split("\n").filter((l) => l.includes(`add-column      posthog.${table}.mat_$browser`)).length;
    assert.deepEqual([alters("sharded_events"), alters("events"), alters("writable_events")], [2, 4, 0], "once per shard; on every host for events; writable_events keeps its columns");
    const again = await stack.chstack("schema", "plan", "--declaration", module);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /nothing to do/);

    const writer = stack.client(3, "writer");
    try {
      await writer.insert({ table: "posthog.writable_events", values: Array.from({ length: 1000 }, (_, k) => event(EVENTS + k)), format: "JSONEachRow" });
    } finally {
      await writer.close();
    }
    await syncReplicas();
    const reader = stack.client(1, "readonly");
    try {
      const [r] = await rows<{ n: string; chrome: string }>(reader, "SELECT count() AS n, countIf(`mat_$browser` = 'Chrome') AS chrome FROM posthog.events");
      assert.deepEqual({ ...r }, { n: String(EVENTS + 1000), chrome: String((EVENTS + 1000) / 2) });
    } finally {
      await reader.close();
    }
  });

  test("a Distributed table over a table on every host, through the one-shard cluster, returns each row once", async () => {
    const applied = await stack.chstack("schema", "apply", "--declaration", withPersonEverywhere());
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const admin = stack.client(2, "admin");
    try {
      const ts = "2026-11-01 00:00:00";
      await admin.insert({ table: "posthog.person", format: "JSONEachRow", values: Array.from({ length: 10 }, (_, i) => ({ id: randomUUID(), created_at: ts, team_id: 1, properties: "{}", is_identified: 0, is_deleted: 0, version: i, _timestamp: ts, _offset: i })) });
    } finally {
      await admin.close();
    }
    await syncReplicas("posthog.person");
    for (let h = 0; h < 4; h++) {
      const reader = stack.client(h, "readonly");
      try {
        const [r] = await rows<{ n: string; clusters: string }>(reader, "SELECT (SELECT count() FROM posthog.person_everywhere) AS n, (SELECT count() FROM system.clusters WHERE cluster = 'posthog_single_shard') AS clusters");
        assert.deepEqual({ ...r }, { n: "10", clusters: "4" }, `${stack.topology.hosts[h]!.name}: each row once (through the 2-shard cluster it would be 20)`);
      } finally {
        await reader.close();
      }
    }
  });
});
