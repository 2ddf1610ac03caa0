// The planner on synthetic host states: what a server would report for a declaration, then changed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../../infra/config/load.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import type { ActualTable, HostState } from "../../schema/actual.ts";
import { defineSchema, type Declaration, type LocalTableInput } from "../../schema/declare.ts";
import { plan, type Observed } from "../../schema/plan.ts";
import { stateOf } from "../support/host-state.ts";
import { posthogSchema, posthogTables } from "../../schema/posthog.ts";

const config = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 2, replicas: 2 } }, "t", { rejectPlaintextSecrets: true });
const t = buildTopology(config, loopbackTarget(config), "t");
const [h00, h01, h10, h11] = t.hosts.map((h) => h.name) as [string, string, string, string];


const all = (s: (host: string) => Observed) => new Map(t.hosts.map((h) => [h.name, s(h.name)]));
const ok = (state: HostState): Observed => ({ ok: true, state });
const base = posthogSchema("posthog");
const withEventsColumn = (extra: Partial<LocalTableInput["columns"][number]> & { name: string }) =>
  defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events" ? { ...x, columns: [...x.columns, { type: "String", ...extra }] } : x)) });

describe("planner", () => {
  test("every host in the declared state: nothing to do", () => {
    const p = plan(base, t, all(() => ok(stateOf(base))));
    assert.deepEqual([p.tasks.length, p.drift.length, p.unreachable.length, p.blocked], [0, 0, 0, false]);
  });

  test("an empty cluster: databases, then local tables, then Distributed tables, on every host", () => {
    const empty: HostState = { version: "18.16.1", databases: new Set(["default"]), tables: new Map() };
    const p = plan(base, t, all(() => ok(empty)));
    for (const h of [h00, h01, h10, h11]) {
      assert.deepEqual(p.tasks.filter((x) => x.host === h).map((x) => `${x.phase}:${x.kind}:${x.table}`), [
        "2:create-database:posthog", "4:create-table:posthog.sharded_events", "4:create-table:posthog.person",
        "4:create-table:posthog.person_distinct_id", "5:create-table:posthog.writable_events", "5:create-table:posthog.events",
      ]);
    }
  });

  test("a noshard table is one replication group over every host: one ALTER for the whole cluster", () => {
    const decl = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "person" ? { ...x, columns: [...x.columns, { name: "email", type: "String" }] } : x)) });
    const p = plan(decl, t, all(() => ok(stateOf(base))));
    const alters = p.tasks.filter((x) => x.kind === "add-column");
    assert.equal(alters.length, 1);
    assert.deepEqual(alters[0]!.group, [h00, h01, h10, h11]);
    assert.equal(p.tasks.filter((x) => x.kind === "sync-replica").length, 3);
  });

  test("a replica that already has the column (catching up) is synced, not altered again", () => {
    const decl = withEventsColumn({ name: "session_id" });
    const p = plan(decl, t, all((h) => ok(stateOf(h === h01 ? decl : base))));
    const shard0 = p.tasks.filter((x) => x.table === "posthog.sharded_events" && (x.host === h00 || x.host === h01));
    assert.deepEqual(shard0.map((x) => `${x.host}:${x.kind}`), [`${h00}:sync-replica`], "h00 lags behind h01: no ALTER on shard 0");
    const shard1 = p.tasks.filter((x) => x.table === "posthog.sharded_events" && (x.host === h10 || x.host === h11));
    assert.deepEqual(shard1.map((x) => `${x.host}:${x.kind}`), [`${h10}:add-column`, `${h11}:sync-replica`]);
  });

  test("an unreachable host: named, its shard altered on the live replica", () => {
    const decl = withEventsColumn({ name: "session_id" });
    const p = plan(decl, t, all((h) => (h === h00 ? { ok: false, error: "connect ECONNREFUSED" } : ok(stateOf(base)))));
    assert.deepEqual(p.unreachable, [{ host: h00, error: "connect ECONNREFUSED" }]);
    const alter = p.tasks.find((x) => x.kind === "add-column" && x.table === "posthog.sharded_events" && x.group?.includes(h00));
    assert.equal(alter?.host, h01);
    assert.ok(!p.tasks.some((x) => x.host === h00));
  });

  test("CODEC, TTL and a replicated COMMENT are refused for an 18.16 host, naming feature and host; fine on a current one", () => {
    const decl = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events"
      ? { ...x, ttl: "timestamp + toIntervalDay(30)", columns: x.columns.map((c) => (c.name === "properties" ? { ...c, codec: ["ZSTD(3)"], comment: "JSON" } : c)) }
      : x)) });
    const old = plan(decl, t, all(() => ok(stateOf(base))));
    assert.ok(old.blocked);
    const reasons = old.drift.filter((d) => d.kind === "unsupported" && d.hosts[0] === h00).map((d) => d.reason);
    assert.deepEqual(reasons.sort(), [
      `columns.2.codec (properties): column CODEC needs ClickHouse 19.11+, ${h00} runs 18.16.1`,
      `columns.2.comment (properties): column COMMENT on a replicated table needs ClickHouse 19.11+, ${h00} runs 18.16.1`,
      `ttl: table TTL needs ClickHouse 19.6+, ${h00} runs 18.16.1`,
    ]);
    const current = plan(decl, t, all(() => ok(stateOf(base, "25.8.1.1"))));
    assert.ok(!current.drift.some((d) => d.kind === "unsupported"));
    assert.ok(current.tasks.some((x) => x.kind === "modify-ttl"));
    assert.ok(current.tasks.some((x) => x.kind === "modify-column" && x.column === "properties" && /CODEC\(ZSTD\(3\)\)/.test(x.sql)));
  });

  test("undeclared tables: dropped only with drop-table, Distributed ones first", () => {
    const state = stateOf(base);
    const tables = new Map(state.tables);
    tables.set("posthog.old_local", { ...state.tables.get("posthog.person")!, name: "old_local" });
    tables.set("posthog.old_dist", { ...state.tables.get("posthog.events")!, name: "old_dist" });
    const s: HostState = { ...state, tables };
    const refused = plan(base, t, all(() => ok(s)));
    assert.ok(refused.blocked);
    assert.equal(refused.drift.filter((d) => d.kind === "undeclared-table").length, 8);
    const allowed = plan(base, t, all(() => ok(s)), new Set(["drop-table"]));
    assert.ok(!allowed.blocked);
    assert.deepEqual(allowed.tasks.filter((x) => x.host === h00).map((x) => x.sql), ["DROP TABLE posthog.old_dist", "DROP TABLE posthog.old_local"]);
  });

  test("a changed default is a non-destructive MODIFY COLUMN, once per shard", () => {
    const decl = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events"
      ? { ...x, columns: x.columns.map((c) => (c.name === "elements_chain" ? { ...c, default: { kind: "DEFAULT" as const, expression: "'none'" } } : c)) }
      : x)) });
    const p = plan(decl, t, all(() => ok(stateOf(base))));
    const modifies = p.tasks.filter((x) => x.kind === "modify-column" && x.table === "posthog.sharded_events");
    assert.deepEqual(modifies.map((x) => x.sql), [
      "ALTER TABLE posthog.sharded_events MODIFY COLUMN elements_chain String DEFAULT 'none'",
      "ALTER TABLE posthog.sharded_events MODIFY COLUMN elements_chain String DEFAULT 'none'",
    ]);
    assert.equal(p.drift.length, 0);
  });

  test("the declaration hash changes with the declaration and nothing else", () => {
    const a = plan(base, t, all(() => ok(stateOf(base))));
    const b = plan(posthogSchema("posthog"), t, all(() => ({ ok: false, error: "x" })));
    const c = plan(withEventsColumn({ name: "x" }), t, all(() => ok(stateOf(base))));
    assert.equal(a.declarationHash, b.declarationHash);
    assert.notEqual(a.declarationHash, c.declarationHash);
  });
});

describe("appending a new column to ORDER BY", () => {
  const appended = (orderByExtra: string, column?: string) => defineSchema({
    tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events"
      ? {
        ...x,
        columns: column ? [...x.columns, { name: column, type: "UInt8" }] : x.columns,
        primaryKey: x.orderBy,
        orderBy: [...x.orderBy, orderByExtra],
      }
      : x)),
  });

  test("a column added in the same plan: one ALTER with MODIFY ORDER BY per shard, no drift", () => {
    const p = plan(appended("session_order", "session_order"), t, all(() => ok(stateOf(base))));
    assert.deepEqual(p.drift, []);
    const alters = p.tasks.filter((x) => x.table === "posthog.sharded_events" && x.kind === "add-column");
    assert.equal(alters.length, 2, "once per shard");
    assert.equal(alters[0]!.sql, "ALTER TABLE posthog.sharded_events ADD COLUMN session_order UInt8 AFTER _offset, MODIFY ORDER BY (team_id, toDate(timestamp), event, cityHash64(distinct_id), cityHash64(toString(uuid)), session_order)");
  });

  test("an existing column appended to ORDER BY needs a migration, even with every flag", () => {
    const p = plan(appended("event"), t, all(() => ok(stateOf(base))), new Set(["drop-column", "drop-table", "modify-type"]));
    assert.ok(p.blocked);
    assert.ok(p.drift.some((d) => d.kind === "needs-migration" && d.reason.startsWith("ORDER BY is ")));
  });
});

describe("defaults as 18.16 stores them, key columns, new columns after one of their own list", () => {
  /** sharded_events with `columns` appended. */
  const withColumns = (...columns: LocalTableInput["columns"]) => defineSchema({
    tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events" ? { ...x, columns: [...x.columns, ...columns] } : x)),
  });
  /** The host's state of `decl`, with columns of sharded_events (and of its Distributed tables) reported differently. */
  const reported = (decl: Declaration, changes: Record<string, Partial<ActualTable["columns"][number]>>) => {
    const s = stateOf(decl);
    for (const name of ["posthog.sharded_events", "posthog.writable_events", "posthog.events"]) {
      const tbl = s.tables.get(name)!;
      (s.tables as Map<string, ActualTable>).set(name, { ...tbl, columns: tbl.columns.map((c) => ({ ...c, ...changes[c.name] })) });
    }
    return s;
  };

  test("DEFAULT 1 on an Int8 and now() on a Nullable(DateTime), stored as 18.16's CASTs: nothing to do", () => {
    const decl = withColumns({ name: "flag", type: "Int8", default: { kind: "DEFAULT", expression: "1" } }, { name: "seen", type: "Nullable(DateTime)", default: { kind: "DEFAULT", expression: "now()" } });
    const s = reported(decl, { flag: { defaultExpression: "CAST(1, 'Int8')" }, seen: { defaultExpression: "CAST(now(), 'Nullable(DateTime)')" } });
    const p = plan(decl, t, all(() => ok(s)));
    assert.deepEqual(p.tasks, []);
    assert.deepEqual(p.drift, []);
  });

  test("a different value inside the cast, or a cast to another type, is a change", () => {
    const decl = withColumns({ name: "flag", type: "Int8", default: { kind: "DEFAULT", expression: "1" } });
    for (const stored of ["CAST(2, 'Int8')", "CAST(1, 'Int16')", "CAST(1)"]) {
      const p = plan(decl, t, all(() => ok(reported(decl, { flag: { defaultExpression: stored } }))));
      assert.ok(p.tasks.some((x) => x.kind === "modify-column" && x.column === "flag"), stored);
    }
  });

  test("a key column or the engine's version or sign column: a migration, reported before anything runs", () => {
    const versionDefault = plan(base, t, all(() => ok(reported(base, { _timestamp: { defaultKind: "DEFAULT", defaultExpression: "now()" } }))));
    assert.ok(versionDefault.blocked);
    assert.match(versionDefault.drift.find((d) => d.column === "_timestamp")!.reason, /the ReplacingMergeTree version column/);
    assert.ok(!versionDefault.tasks.some((x) => x.table === "posthog.sharded_events" && x.column === "_timestamp"));

    const keyType = plan(base, t, all(() => ok(reported(base, { team_id: { type: "Int32" } }))), new Set(["modify-type"]));
    assert.ok(keyType.blocked, "not even with --allow modify-type");
    assert.match(keyType.drift.find((d) => d.column === "team_id" && d.kind === "needs-migration")!.reason, /is a key column/);
    assert.ok(!keyType.tasks.some((x) => x.table === "posthog.sharded_events" && x.column === "team_id"));

    const s = stateOf(base);
    const pdi = s.tables.get("posthog.person_distinct_id")!;
    (s.tables as Map<string, ActualTable>).set("posthog.person_distinct_id", { ...pdi, columns: pdi.columns.map((c) => (c.name === "_sign" ? { ...c, defaultKind: "DEFAULT", defaultExpression: "1" } : c)) });
    const sign = plan(base, t, all(() => ok(s)));
    assert.match(sign.drift.find((d) => d.column === "_sign")!.reason, /the CollapsingMergeTree sign column/);
  });

  test("a new column goes after the previous declared column of its own list (18.16 keeps three)", () => {
    const before = withColumns({ name: "m1", type: "String", default: { kind: "MATERIALIZED", expression: "event" } });
    const after = withColumns(
      { name: "m1", type: "String", default: { kind: "MATERIALIZED", expression: "event" } },
      { name: "plain", type: "String" },
      { name: "m2", type: "String", default: { kind: "MATERIALIZED", expression: "distinct_id" } },
      { name: "a1", type: "String", default: { kind: "ALIAS", expression: "event" } },
    );
    const sql = plan(after, t, all(() => ok(stateOf(before)))).tasks.filter((x) => x.host === h00 && x.table === "posthog.sharded_events").map((x) => x.sql);
    assert.deepEqual(sql, [
      "ALTER TABLE posthog.sharded_events ADD COLUMN plain String AFTER _offset",
      "ALTER TABLE posthog.sharded_events ADD COLUMN m2 String MATERIALIZED distinct_id AFTER m1",
      "ALTER TABLE posthog.sharded_events ADD COLUMN a1 String ALIAS event",
    ]);
  });
});

describe("version-dependent session settings, and Distributed tables over tables on every host", () => {
  const lowCard = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events" ? { ...x, columns: [...x.columns, { name: "lib", type: "LowCardinality(String)" }] } : x)) });

  test("LowCardinality on 18.16 runs with allow_experimental_low_cardinality_type; on current versions without", () => {
    const empty = (version: string): HostState => ({ version, databases: new Set(["default"]), tables: new Map() });
    const old = plan(lowCard, t, all(() => ok(empty("18.16.1")))).tasks.filter((x) => /LowCardinality/.test(x.sql));
    assert.equal(old.length, 4 * 3, "the local table and both Distributed tables on every host");
    assert.ok(old.every((x) => x.settings?.allow_experimental_low_cardinality_type === 1));
    const current = plan(lowCard, t, all(() => ok(empty("25.8.1.1")))).tasks;
    assert.ok(current.every((x) => x.settings === undefined), "current ClickHouse refuses the setting as unknown");
    const grown = plan(lowCard, t, all(() => ok(stateOf(base)))).tasks.filter((x) => x.kind === "add-column");
    assert.ok(grown.length > 0 && grown.every((x) => x.settings?.allow_experimental_low_cardinality_type === 1));
  });

  test("a Distributed table over a table replicated to every host is refused on a cluster of several shards", () => {
    const overPersons = defineSchema({ tables: [...posthogTables("posthog"), { kind: "distributed", database: "posthog", name: "persons", local: "person", shardingKey: "rand()" }] });
    const p = plan(overPersons, t, all(() => ok(stateOf(base))));
    assert.ok(p.blocked);
    const d = p.drift.find((x) => x.table === "posthog.persons")!;
    assert.equal(d.kind, "unsupported");
    assert.match(d.reason, /every row once per shard \(2 shards\)/);
    assert.ok(!p.tasks.some((x) => x.table === "posthog.persons"), "nothing is created");

    const one = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 1, replicas: 2 } }, "t1", { rejectPlaintextSecrets: true });
    const t1 = buildTopology(one, loopbackTarget(one), "t1");
    const p1 = plan(overPersons, t1, new Map(t1.hosts.map((h) => [h.name, ok(stateOf(base))])));
    assert.ok(!p1.drift.some((x) => x.table === "posthog.persons"), "one shard: each row once");
  });

  test("through the one-shard cluster (clickhouse.singleShardCluster) it is planned, and a sharded table through it is refused", () => {
    const cfg = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 2, replicas: 2, singleShardCluster: "posthog_single_shard" } }, "ts", { rejectPlaintextSecrets: true });
    const ts = buildTopology(cfg, loopbackTarget(cfg), "ts");
    const on = (d: Declaration) => plan(d, ts, new Map(ts.hosts.map((h) => [h.name, ok(stateOf(base))])));
    const decl = (extra: object) => defineSchema({ tables: [...posthogTables("posthog"), { kind: "distributed", database: "posthog", name: "persons", local: "person", ...extra }] });

    const p = on(decl({ cluster: "posthog_single_shard" }));
    assert.deepEqual(p.drift, []);
    const creates = p.tasks.filter((x) => x.table === "posthog.persons");
    assert.equal(creates.length, 4, "on every host");
    assert.ok(creates.every((x) => x.phase === 5 && x.sql.endsWith("ENGINE = Distributed(posthog_single_shard, posthog, person)")), creates[0]?.sql);
    const held = decl({ cluster: "posthog_single_shard" });
    const settled = plan(held, ts, new Map(ts.hosts.map((h) => [h.name, ok(stateOf(held))])));
    assert.deepEqual([settled.tasks.length, settled.drift.length], [0, 0], "a host holding it plans nothing");
    // The same table created through the stack's cluster is a migration, not silently left.
    const moved = plan(decl({}), ts, new Map(ts.hosts.map((h) => [h.name, ok(stateOf(held))]))).drift;
    assert.ok(moved.some((d) => d.table === "posthog.persons" && /every row once per shard/.test(d.reason)));

    const unknown = on(decl({ cluster: "elsewhere" })).drift.find((d) => d.table === "posthog.persons")!;
    assert.match(unknown.reason, /^cluster: elsewhere is not a cluster of this stack: name posthog \(clickhouse\.cluster\) or posthog_single_shard \(clickhouse\.singleShardCluster\)$/);
    const noSingle = plan(decl({ cluster: "posthog_single_shard" }), t, all(() => ok(stateOf(base)))).drift.find((d) => d.table === "posthog.persons")!;
    assert.match(noSingle.reason, /set clickhouse\.singleShardCluster: posthog_single_shard in the stack config/);

    const sharded = defineSchema({ tables: [...posthogTables("posthog"), { kind: "distributed", database: "posthog", name: "events_one", local: "sharded_events", cluster: "posthog_single_shard" }] });
    const refused = on(sharded);
    assert.ok(refused.blocked);
    assert.match(refused.drift.find((d) => d.table === "posthog.events_one")!.reason, /through the one-shard cluster posthog_single_shard a query would read one host's rows only/);
    assert.ok(!refused.tasks.some((x) => x.table === "posthog.events_one"));
  });
});

describe("projections", () => {
  const withProjection = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events"
    ? { ...x, projections: [{ name: "daily", query: "SELECT team_id, toDate(timestamp), count() GROUP BY team_id, toDate(timestamp)" }] } : x)) });

  test("refused on 18.16 with a version message; on 22.2+ added once per shard, and an undeclared one is kept unless allowed", () => {
    const old = plan(withProjection, t, all(() => ok(stateOf(base))));
    assert.ok(old.blocked);
    assert.match(old.drift.find((d) => d.kind === "unsupported")!.reason, /^projections\.0 \(daily\): PROJECTION needs ClickHouse 22\.2\+, chi-posthog-0-0 runs 18\.16\.1$/);
    const current = plan(withProjection, t, all(() => ok(stateOf(base, "25.8.1.1"))));
    const adds = current.tasks.filter((x) => x.kind === "add-projection");
    assert.deepEqual(adds.map((x) => [x.phase, x.host]), [[3, h00], [3, h10]], "once per replication group");
    assert.equal(adds[0]!.sql, "ALTER TABLE posthog.sharded_events ADD PROJECTION daily (SELECT team_id, toDate(timestamp), count() GROUP BY team_id, toDate(timestamp))");
    const held = all(() => ok(stateOf(withProjection, "25.8.1.1")));
    assert.deepEqual(plan(withProjection, t, held).tasks, []);
    const undeclared = plan(defineSchema({ tables: posthogTables("posthog") }), t, held);
    assert.ok(undeclared.blocked && undeclared.drift.every((d) => d.kind === "undeclared-projection" && d.allowedBy === undefined));
    assert.deepEqual(undeclared.tasks, []);
    const allowed = plan(defineSchema({ tables: posthogTables("posthog") }), t, held, new Set(["drop-projection"]));
    assert.deepEqual(allowed.tasks.map((x) => [x.host, x.sql]), [
      [h00, "ALTER TABLE posthog.sharded_events DROP PROJECTION daily"], [h10, "ALTER TABLE posthog.sharded_events DROP PROJECTION daily"],
      [h01, "SYSTEM SYNC REPLICA posthog.sharded_events"], [h11, "SYSTEM SYNC REPLICA posthog.sharded_events"],
    ], "once per shard, then the other replica syncs");
  });
});

describe("ReplacingMergeTree's is_deleted column, and a Distributed table with no sharding key", () => {
  const withIsDeleted = defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "person"
    ? { ...x, columns: x.columns.map((c) => (c.name === "is_deleted" ? { name: "is_deleted", type: "UInt8" } : c)), engine: { family: "ReplacingMergeTree" as const, version: "version", isDeleted: "is_deleted" } }
    : x)) });

  test("is_deleted is refused on 18.16 with a version message, planned as the engine's second argument on 23.2+", () => {
    const empty = (version: string): HostState => ({ version, databases: new Set(["default"]), tables: new Map() });
    const old = plan(withIsDeleted, t, all(() => ok(empty("18.16.1"))));
    assert.ok(old.blocked);
    assert.match(old.drift.find((d) => d.table === "posthog.person")!.reason, /engine\.isDeleted: ReplacingMergeTree's is_deleted column needs ClickHouse 23\.2\+/);
    const current = plan(withIsDeleted, t, all(() => ok(empty("25.8.1.1"))));
    assert.ok(!current.blocked);
    assert.match(current.tasks.find((x) => x.table === "posthog.person")!.sql, /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/noshard\/posthog\.person', '\{replica\}', version, is_deleted\)/);
    assert.deepEqual(plan(withIsDeleted, t, all(() => ok(stateOf(withIsDeleted, "25.8.1.1")))).tasks, [], "as declared: nothing to do");
  });

  test("is_deleted must be a declared UInt8 column after a version column", () => {
    const bad = (engine: object) => () => defineSchema({ tables: [{ kind: "table", database: "d", name: "t", columns: [{ name: "v", type: "UInt64" }, { name: "del", type: "Int8" }], engine, orderBy: ["v"] }] });
    assert.throws(bad({ family: "ReplacingMergeTree", isDeleted: "del" }), /engine\.isDeleted: needs engine\.version/);
    assert.throws(bad({ family: "ReplacingMergeTree", version: "v", isDeleted: "del" }), /the is_deleted column must be UInt8, got Int8/);
    assert.throws(bad({ family: "ReplacingMergeTree", version: "v", isDeleted: "gone" }), /gone is not a declared column/);
  });

  test("no sharding key: Distributed(cluster, db, table), and a key added later is a migration", () => {
    const keyless = defineSchema({ tables: [...posthogTables("posthog"), { kind: "distributed", database: "posthog", name: "events_read", local: "sharded_events" }] });
    const p = plan(keyless, t, all(() => ok(stateOf(base))));
    assert.match(p.tasks.find((x) => x.table === "posthog.events_read")!.sql, /ENGINE = Distributed\(posthog, posthog, sharded_events\)$/);
    const keyed = defineSchema({ tables: [...posthogTables("posthog"), { kind: "distributed", database: "posthog", name: "events_read", local: "sharded_events", shardingKey: "rand()" }] });
    const later = plan(keyed, t, all(() => ok(stateOf(keyless))));
    assert.match(later.drift.find((d) => d.table === "posthog.events_read")!.reason, /^sharding key is \(none\), declared rand\(\)$/);
  });
});

describe("data-skipping indexes", () => {
  const indexed = (indexes: LocalTableInput["indexes"]) => defineSchema({ tables: posthogTables("posthog").map((x) => (x.kind === "table" && x.name === "sharded_events" ? { ...x, indexes } : x)) });
  const minmax = [{ name: "minmax_$group_0", expression: "`event`", type: "minmax", granularity: 1 }];

  test("refused on 18.16 with a version message; on current versions one ADD INDEX per shard", () => {
    const decl = indexed(minmax);
    const old = plan(decl, t, all(() => ok(stateOf(base))));
    assert.ok(old.blocked);
    assert.match(old.drift.find((d) => d.kind === "unsupported")!.reason, /data-skipping INDEX needs ClickHouse 20\.1\+/);
    const current = plan(decl, t, all(() => ok(stateOf(base, "25.8.1.1"))));
    const adds = current.tasks.filter((x) => x.kind === "add-index");
    assert.equal(adds.length, 2, "once per replication group");
    assert.equal(adds[0]!.sql, "ALTER TABLE posthog.sharded_events ADD INDEX `minmax_$group_0` `event` TYPE minmax GRANULARITY 1");
    assert.deepEqual(plan(decl, t, all(() => ok(stateOf(decl, "25.8.1.1")))).tasks, [], "as declared: nothing to do");
  });

  test("a changed index needs a migration; an undeclared one is dropped only with --allow drop-index", () => {
    const changed = plan(indexed([{ ...minmax[0]!, granularity: 4 }]), t, all(() => ok(stateOf(indexed(minmax), "25.8.1.1"))));
    assert.match(changed.drift.find((d) => d.kind === "needs-migration")!.reason, /GRANULARITY 1, declared `event` TYPE minmax GRANULARITY 4/);
    const extra = plan(base, t, all(() => ok(stateOf(indexed(minmax), "25.8.1.1"))));
    assert.ok(extra.blocked && extra.drift.some((d) => d.kind === "undeclared-index"));
    const allowed = plan(base, t, all(() => ok(stateOf(indexed(minmax), "25.8.1.1"))), new Set(["drop-index"]));
    assert.ok(!allowed.blocked);
    assert.ok(allowed.tasks.some((x) => x.sql === "ALTER TABLE posthog.sharded_events DROP INDEX `minmax_$group_0`"));
  });
});
