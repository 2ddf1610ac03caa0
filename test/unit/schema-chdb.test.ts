// The schema planner against CURRENT ClickHouse, embedded in-process by chdb (the project's servers are 18.16;
// chdb is the only current ClickHouse here). What is proven:
//   1. every CREATE the renderer emits runs on current ClickHouse (the PostHog declaration and a richer one:
//      codecs, TTL, DEFAULT / MATERIALIZED / ALIAS, comments, Aggregating / Collapsing / Replacing engines,
//      PRIMARY KEY as a prefix of ORDER BY, SAMPLE BY, SETTINGS);
//   2. the project's own INTROSPECTION_QUERY runs there and parseIntrospection reads the answer;
//   3. the plan for what was created is empty (no task, no drift);
//   4. every ALTER / DROP / SYSTEM statement the renderer emits parses (formatQuery), the ALTERs run for real,
//      and after an ALTER made behind the planner's back the plan names exactly that change and undoes it.
// Where current ClickHouse prints a declared spelling back differently (see the "spellings" block): codec
// default arguments, SQL type aliases, quoted names, string escapes, INTERVAL and tuple() are read as the
// declaration; structural rewrites (operator parentheses, `?:`, `||`, CAST AS, BETWEEN, exponents) are not
// guessed, and the plan names both spellings (apply then reports them as the host's spelling).
//
// chdb has no ZooKeeper, so Replicated tables cannot be used (see below). A replicated table is created from the
// renderer's own CREATE with its engine clause swapped for the plain one (`ReplicatedX('path', '{replica}',
// args)` -> `X(args)`; the test checks that this is the only difference from the CREATE of the same table
// declared `replicated: false`), and planned two ways: with the `replicated: false` declaration (what exists),
// and with the real declaration against the same introspected row in which only the engine name and the
// engine clause are swapped back (`readAsReplicated`), so that the planner's replicated branch also meets
// current ClickHouse's formatting of columns, codecs, TTL and settings.
//
// (chdb can create a Replicated table when its config names ZooKeeper's in-memory `testkeeper`, and then
// prints engine_full exactly in that shape, macros unexpanded: `ReplicatedReplacingMergeTree('/clickhouse/tables/
// {shard}/d.r', '{replica}', v) ORDER BY a ...`. But such a table stays read-only ("Code: 242 ... Table is in
// readonly mode", for ALTER and SYSTEM SYNC REPLICA alike), an INSERT into it never returns, and closing the
// session then hangs: not usable here.)
//
// Distributed: chdb knows no cluster `posthog` (`Distributed(posthog, ...)` fails with "Code: 701 ... Requested
// cluster 'posthog' not found. (CLUSTER_DOESNT_EXIST)"), so the session starts with a config file that
// declares remote_servers.posthog (one replica at 127.0.0.1:9000). Creating and introspecting a Distributed
// table connects to nothing, so the Distributed tables are created and read back for real; their SQL also goes
// through formatQuery.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Session } from "chdb";
import { parseStackConfig } from "../../infra/config/load.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { INTROSPECTION_QUERY, parseIntrospection, type ActualColumn, type ActualTable, type HostState } from "../../schema/actual.ts";
import { record, lastApply } from "../../schema/ledger.ts";
import { apply } from "../../schema/apply.ts";
import type { HostConnection } from "../../schema/connection.ts";
import { formatApply } from "../../cli/schema-format.ts";
import * as ddl from "../../schema/ddl.ts";
import { defineSchema, distributed, fullName, table, type Column, type Declaration, type DistributedTableInput, type LocalTable, type LocalTableInput } from "../../schema/declare.ts";
import { diffColumns } from "../../schema/diff.ts";
import { stringLiteral } from "../../schema/expressions.ts";
import { parseVersion, supports } from "../../schema/features.ts";
import { plan, type AllowKind, type Plan } from "../../schema/plan.ts";
import { posthogSchema, posthogTables } from "../../schema/posthog.ts";
import { posthogFullSchema, posthogFullTables } from "../../schema/posthog-full.ts";

const config = parseStackConfig({ clickhouse: { cluster: "posthog", shards: 1, replicas: 1 } }, "test", { rejectPlaintextSecrets: true });
const topology = buildTopology(config, loopbackTarget(config), "chdb");
const HOST = topology.hosts[0]!.name;

type TableInput = LocalTableInput | DistributedTableInput;
type ColumnInput = LocalTableInput["columns"][number];
type IntrospectionRow = Parameters<typeof parseIntrospection>[0];

// ---------------------------------------------------------------------------------------------------------
// The chdb session (one per process: the engine is a process singleton), in a temporary directory.

let dir = "";
let session: Session | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "chstack-chdb-"));
  const configFile = join(dir, "config.xml");
  writeFileSync(configFile, `<clickhouse><remote_servers><${topology.cluster}><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></${topology.cluster}></remote_servers></clickhouse>`);
  session = new Session(join(dir, "data"), { connectionArgs: [`--config-file=${configFile}`] });
});

after(() => {
  try {
    session?.cleanup();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

function ch(): Session {
  assert.ok(session, "the chdb session is open");
  return session;
}

/** Run a statement for real. */
const run = (sql: string) => void ch().query(sql);

/** Current ClickHouse's own parser: the statement formatted back, or a thrown syntax error. */
function formatQuery(sql: string): string {
  return (JSON.parse(ch().query(`SELECT formatQuery(${stringLiteral(sql)}) AS f`, "JSONEachRow")) as { f: string }).f;
}

/** The project's introspection query, run as is; its single row parsed as JSON. */
function introspectRow(): IntrospectionRow {
  const lines = ch().query(INTROSPECTION_QUERY, "JSONEachRow").trim().split("\n");
  assert.equal(lines.length, 1, "the introspection query returns one row");
  return JSON.parse(lines[0]!) as IntrospectionRow;
}

const introspect = (): HostState => parseIntrospection(introspectRow());

const planOn = (decl: Declaration, state: HostState, allow: readonly AllowKind[] = []): Plan =>
  plan(decl, topology, new Map([[HOST, { ok: true as const, state }]]), new Set(allow));

const EMPTY = { tasks: [], drift: [], unreachable: [], blocked: false };
/** A plan without the human-readable `detail` of each task (asserted on its own where it matters). */
const summary = (p: Plan) => ({ tasks: p.tasks.map(({ detail: _detail, ...task }) => task), drift: p.drift, unreachable: p.unreachable, blocked: p.blocked });
const sqlOf = (p: Plan) => p.tasks.map((t) => t.sql);

// ---------------------------------------------------------------------------------------------------------
// Replicated tables without ZooKeeper.

/** The same table as it can exist in chdb: not replicated (no ZooKeeper path, no replica name). */
function unreplicated(input: TableInput): TableInput {
  if (input.kind !== "table") return input;
  const { zookeeperPath: _path, replicaName: _replica, ...rest } = input;
  return { ...rest, replicated: false };
}

const plainOf = (t: LocalTable): LocalTable => ({ ...t, replicated: false });

/** The renderer's CREATE of a replicated table with `ReplicatedX(...)` swapped for `X(...)`. */
function withPlainEngine(t: LocalTable): string {
  const sql = ddl.createLocalTable(t);
  const replicated = `ENGINE = ${ddl.engineClause(t)}`;
  assert.ok(sql.includes(replicated), `${fullName(t)}: the CREATE names its engine as ${replicated}`);
  return sql.replace(replicated, `ENGINE = ${ddl.engineClause(plainOf(t))}`);
}

/**
 * The introspected row as a host with the replicated tables would report it: chdb's own row, with only the
 * engine name and the engine clause of engine_full / create_table_query swapped back to the replicated form.
 */
function readAsReplicated(row: IntrospectionRow, decl: Declaration): IntrospectionRow {
  const replicated = new Map(decl.tables.filter((t): t is LocalTable => t.kind === "table" && t.replicated).map((t) => [fullName(t), t]));
  return {
    ...row,
    tables: row.tables.map((r) => {
      const t = replicated.get(`${r[0]}.${r[1]}`);
      if (!t) return r;
      const plain = ddl.engineClause(plainOf(t));
      const [database, name, engine, engineFull, partitionKey, sortingKey, primaryKey, samplingKey, createQuery] = r as [string, string, string, string, string, string, string, string, string];
      assert.ok(engineFull.startsWith(plain), `${database}.${name}: engine_full ${JSON.stringify(engineFull)} starts with ${plain}`);
      assert.ok(createQuery.includes(` ENGINE = ${plain}`), `${database}.${name}: create_table_query has ENGINE = ${plain}`);
      return [
        database, name, `Replicated${engine}`, ddl.engineClause(t) + engineFull.slice(plain.length),
        partitionKey, sortingKey, primaryKey, samplingKey, createQuery.replace(` ENGINE = ${plain}`, ` ENGINE = ${ddl.engineClause(t)}`),
      ];
    }),
  };
}

/**
 * Create a declaration in chdb the way `apply` would: plan it against what is there (create-database and
 * create-table tasks, the renderer's SQL) and run every task. The tasks come from the `replicated: false`
 * declaration; for every replicated table the real declaration's CREATE is checked to parse and to differ from
 * the one run only by its engine clause. Distributed CREATEs are checked with formatQuery too.
 */
function create(decl: Declaration, created: Declaration): Plan {
  assert.deepEqual(created.tables.map(fullName), decl.tables.map(fullName));
  decl.tables.forEach((t, i) => {
    const c = created.tables[i]!;
    if (t.kind === "table" && t.replicated) {
      assert.ok(c.kind === "table" && !c.replicated);
      assert.match(formatQuery(ddl.createLocalTable(t)), /ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\//);
      assert.equal(withPlainEngine(t), ddl.createLocalTable(c), `${fullName(t)}: only the engine clause differs`);
    } else if (t.kind === "distributed") {
      assert.match(formatQuery(ddl.createDistributedTable(t, topology.cluster)), new RegExp(`ENGINE = Distributed\\(${topology.cluster}, `));
    }
  });
  const first = planOn(created, introspect());
  assert.equal(first.blocked, false);
  for (const task of first.tasks) run(task.sql);
  return first;
}

/** Every column diff of every declared table, for the tables that exist. */
function columnDiffs(decl: Declaration, state: HostState) {
  return decl.tables.map((t) => {
    const actual = state.tables.get(fullName(t));
    assert.ok(actual, `${fullName(t)} exists`);
    const d = diffColumns(t, actual);
    return {
      table: fullName(t),
      missing: d.missing.map((m) => m.column.name),
      undeclared: d.undeclared.map((a) => a.name),
      typeChanged: d.typeChanged.map((x) => `${x.column.name}: declared ${x.column.type}, read ${x.actual.type}`),
      defaultChanged: d.defaultChanged.map((c) => c.name),
      commentChanged: d.commentChanged.map((c) => c.name),
      codecChanged: d.codecChanged.map((x) => `${x.column.name}: declared ${(x.column.codec ?? []).join(", ")}, read ${x.actual.codec}`),
    };
  });
}

const noColumnDiffs = (decl: Declaration) =>
  decl.tables.map((t) => ({ table: fullName(t), missing: [], undeclared: [], typeChanged: [], defaultChanged: [], commentChanged: [], codecChanged: [] }));

const columnsOf = (t: ActualTable | undefined) =>
  (t?.columns ?? []).map((c: ActualColumn) => [c.name, c.type, c.defaultKind, c.defaultExpression, c.comment, c.codec]);

/** Plan both ways (see the top of the file) and require both to be empty. */
function assertConverged(decl: Declaration, created: Declaration) {
  const row = introspectRow();
  assert.deepEqual(summary(planOn(created, parseIntrospection(row))), EMPTY, "the plan for the tables as they exist in chdb");
  assert.deepEqual(summary(planOn(decl, parseIntrospection(readAsReplicated(row, decl)))), EMPTY, "the plan for the real declaration, read as replicated");
}

// ---------------------------------------------------------------------------------------------------------
// A richer declaration than PostHog's. Codecs are declared the way current ClickHouse prints them back
// (`Delta(4)`, not `Delta`: see the spellings block for what the bare forms do).

function richTables(database: string): TableInput[] {
  return [
    table({
      database,
      name: "hits",
      columns: [
        { name: "timestamp", type: "DateTime", codec: ["Delta(4)", "ZSTD(1)"], comment: "event time" },
        { name: "user_id", type: "UInt64", comment: "the user's id" },
        { name: "url", type: "String", codec: ["ZSTD(3)"], comment: "page url" },
        { name: "date", type: "Date", default: { kind: "MATERIALIZED", expression: "toDate(timestamp)" } },
        { name: "domain", type: "String", default: { kind: "ALIAS", expression: "domain(url)" }, comment: "host of the url" },
        { name: "duration_ms", type: "UInt32", default: { kind: "DEFAULT", expression: "0" } },
        { name: "ingested", type: "DateTime", default: { kind: "DEFAULT", expression: "now()" } },
        { name: "label", type: "LowCardinality(String)" },
        { name: "value", type: "Nullable(Float64)", codec: ["Gorilla(8)", "LZ4"] },
        { name: "tags", type: "Array(String)" },
        { name: "ts64", type: "DateTime64(3, 'UTC')", default: { kind: "DEFAULT", expression: "now64(3)" } },
        { name: "amount", type: "Decimal(18, 4)", codec: ["T64", "ZSTD(1)"] },
        { name: "kind", type: "Enum8('a' = 1, 'b' = 2)", default: { kind: "DEFAULT", expression: "'a'" } },
        { name: "score", type: "UInt64", default: { kind: "DEFAULT", expression: "(user_id * 2) + 1" } },
        { name: "attrs", type: "Map(String, UInt64)" },
      ],
      engine: { family: "MergeTree" },
      partitionBy: "toYYYYMM(timestamp)",
      orderBy: ["user_id", "intHash32(user_id)", "timestamp"],
      primaryKey: ["user_id", "intHash32(user_id)"],
      sampleBy: "intHash32(user_id)",
      ttl: "timestamp + toIntervalDay(30)",
      settings: { index_granularity: 4096, merge_with_ttl_timeout: 3600, storage_policy: "default" },
    }),
    table({
      database,
      name: "daily",
      replicated: false,
      columns: [
        { name: "day", type: "Date" },
        { name: "user_id", type: "UInt64" },
        { name: "hits", type: "AggregateFunction(count)" },
        { name: "urls", type: "AggregateFunction(uniq, String)" },
        { name: "durations", type: "AggregateFunction(quantiles(0.5, 0.9), UInt32)" },
        { name: "total", type: "SimpleAggregateFunction(sum, UInt64)" },
      ],
      engine: { family: "AggregatingMergeTree" },
      partitionBy: "toYYYYMM(day)",
      orderBy: ["day", "user_id"],
    }),
    table({
      database,
      name: "sessions",
      columns: [
        { name: "user_id", type: "UInt64" },
        { name: "session_id", type: "UUID" },
        { name: "sign", type: "Int8", comment: "+1 opens, -1 cancels" },
        { name: "start", type: "DateTime" },
        { name: "pages", type: "UInt32", default: { kind: "DEFAULT", expression: "1" } },
      ],
      engine: { family: "CollapsingMergeTree", sign: "sign" },
      orderBy: ["user_id", "session_id"],
      ttl: "start + toIntervalMonth(1)",
      settings: { index_granularity: 4096 },
    }),
    table({
      database,
      name: "latest",
      columns: [
        { name: "id", type: "UInt64" },
        { name: "version", type: "UInt64", codec: ["DoubleDelta", "LZ4"] },
        { name: "payload", type: "String", codec: ["LZ4HC(9)"] },
      ],
      engine: { family: "ReplacingMergeTree", version: "version" },
      zookeeperPath: `/clickhouse/tables/noshard/${database}.latest`,
      orderBy: ["id"],
    }),
    distributed({ database, name: "hits_all", local: "hits", shardingKey: "cityHash64(user_id)" }),
    distributed({ database, name: "sessions_all", local: "sessions", shardingKey: "rand()" }),
  ];
}

const richSchema = (db: string) => defineSchema({ tables: richTables(db) });
const richCreated = (db: string) => defineSchema({ tables: richTables(db).map(unreplicated) });

// ---------------------------------------------------------------------------------------------------------

describe("the PostHog declaration on current ClickHouse", () => {
  const decl = posthogSchema("posthog");
  const created = defineSchema({ tables: posthogTables("posthog").map(unreplicated) });
  let first: Plan;
  let row: IntrospectionRow;
  let state: HostState;

  before(() => {
    first = create(decl, created);
    row = introspectRow();
    state = parseIntrospection(row);
  });

  test("from nothing the plan is the database and every CREATE, and they all run", () => {
    assert.deepEqual(first.tasks.map((t) => [t.phase, t.kind, t.table]), [
      [2, "create-database", "posthog"],
      ...created.tables.map((t) => [t.kind === "table" ? 4 : 5, "create-table", fullName(t)]),
    ]);
    assert.deepEqual(created.tables.map((t) => t.kind), ["table", "table", "table", "distributed", "distributed"]);
    assert.equal(first.tasks[0]!.sql, ddl.createDatabase("posthog"));
    assert.deepEqual([...state.tables.keys()].filter((k) => k.startsWith("posthog.")).sort(), decl.tables.map(fullName).sort());
  });

  test("the introspection reads current ClickHouse", () => {
    const v = parseVersion(state.version);
    assert.ok(v.major >= 24, `chdb embeds a current ClickHouse, got ${state.version}`);
    assert.ok(supports(v, "codec") && supports(v, "ttl") && supports(v, "replicatedComment"));
    assert.ok(state.databases.has("posthog"));
    // Read back as declared (the keys as the declaration writes them, joined as system.tables prints them).
    const declared = decl.tables.find((t) => t.name === "sharded_events") as LocalTable;
    const events = state.tables.get("posthog.sharded_events");
    assert.deepEqual(
      [events?.engine, events?.engineArgs, events?.partitionKey, events?.sortingKey, events?.primaryKey, events?.samplingKey, events?.ttl, events?.settings],
      ["ReplacingMergeTree", ["_timestamp"], declared.partitionBy, declared.orderBy.join(", "), declared.orderBy.join(", "), declared.sampleBy, "", { index_granularity: "8192" }],
    );
    // Current ClickHouse quotes the cluster, database and table of a Distributed engine; unquote() takes both.
    assert.deepEqual(state.tables.get("posthog.events")?.engineArgs, ["'posthog'", "'posthog'", "'sharded_events'", "sipHash64(distinct_id)"]);
    assert.deepEqual(columnsOf(state.tables.get("posthog.person")).find((c) => c[0] === "is_deleted"), ["is_deleted", "UInt8", "DEFAULT", "0", "", ""]);
  });

  test("the plan for what was created is empty", () => {
    assert.deepEqual(summary(planOn(created, state)), EMPTY);
    assert.deepEqual(columnDiffs(created, state), noColumnDiffs(created));
  });

  test("read as replicated tables, the plan for the real declaration is empty", () => {
    const replicatedState = parseIntrospection(readAsReplicated(row, decl));
    assert.deepEqual(replicatedState.tables.get("posthog.person")?.engineArgs, ["'/clickhouse/tables/noshard/posthog.person'", "'{replica}'", "version"]);
    assert.deepEqual(summary(planOn(decl, replicatedState)), EMPTY);
  });

  test("every CREATE again (IF NOT EXISTS) changes nothing", () => {
    for (const t of first.tasks) run(t.sql);
    assert.deepEqual(introspectRow(), row);
  });
});

describe("a richer declaration on current ClickHouse", () => {
  const decl = richSchema("rich");
  const created = richCreated("rich");
  let row: IntrospectionRow;
  let state: HostState;

  before(() => {
    create(decl, created);
    row = introspectRow();
    state = parseIntrospection(row);
  });

  test("every table exists with the engine it was created with", () => {
    assert.deepEqual(decl.tables.map((t) => [fullName(t), state.tables.get(fullName(t))?.engine]), [
      ["rich.hits", "MergeTree"],
      ["rich.daily", "AggregatingMergeTree"],
      ["rich.sessions", "CollapsingMergeTree"],
      ["rich.latest", "ReplacingMergeTree"],
      ["rich.hits_all", "Distributed"],
      ["rich.sessions_all", "Distributed"],
    ]);
  });

  test("what current ClickHouse prints back, as the reader reads it", () => {
    const hits = state.tables.get("rich.hits");
    assert.deepEqual(
      { partition: hits?.partitionKey, sorting: hits?.sortingKey, primary: hits?.primaryKey, sampling: hits?.samplingKey, ttl: hits?.ttl, settings: hits?.settings },
      {
        partition: "toYYYYMM(timestamp)", sorting: "user_id, intHash32(user_id), timestamp", primary: "user_id, intHash32(user_id)", sampling: "intHash32(user_id)",
        ttl: "timestamp + toIntervalDay(30)", settings: { index_granularity: "4096", merge_with_ttl_timeout: "3600", storage_policy: "default" },
      },
    );
    assert.deepEqual(columnsOf(hits), [
      ["timestamp", "DateTime", "", "", "event time", "Delta(4), ZSTD(1)"],
      ["user_id", "UInt64", "", "", "the user's id", ""],
      ["url", "String", "", "", "page url", "ZSTD(3)"],
      ["date", "Date", "MATERIALIZED", "toDate(timestamp)", "", ""],
      ["domain", "String", "ALIAS", "domain(url)", "host of the url", ""],
      ["duration_ms", "UInt32", "DEFAULT", "0", "", ""],
      ["ingested", "DateTime", "DEFAULT", "now()", "", ""],
      ["label", "LowCardinality(String)", "", "", "", ""],
      ["value", "Nullable(Float64)", "", "", "", "Gorilla(8), LZ4"],
      ["tags", "Array(String)", "", "", "", ""],
      ["ts64", "DateTime64(3, 'UTC')", "DEFAULT", "now64(3)", "", ""],
      ["amount", "Decimal(18, 4)", "", "", "", "T64, ZSTD(1)"],
      ["kind", "Enum8('a' = 1, 'b' = 2)", "DEFAULT", "'a'", "", ""],
      ["score", "UInt64", "DEFAULT", "(user_id * 2) + 1", "", ""],
      ["attrs", "Map(String, UInt64)", "", "", "", ""],
    ]);
    assert.deepEqual(columnsOf(state.tables.get("rich.daily")).map((c) => c[1]), [
      "Date", "UInt64", "AggregateFunction(count)", "AggregateFunction(uniq, String)", "AggregateFunction(quantiles(0.5, 0.9), UInt32)", "SimpleAggregateFunction(sum, UInt64)",
    ]);
    const sessions = state.tables.get("rich.sessions");
    assert.deepEqual([sessions?.engineArgs, sessions?.ttl, sessions?.settings], [["sign"], "start + toIntervalMonth(1)", { index_granularity: "4096" }]);
    assert.deepEqual(columnsOf(state.tables.get("rich.latest")).map((c) => c[5]), ["", "DoubleDelta, LZ4", "LZ4HC(9)"]);
    assert.deepEqual(state.tables.get("rich.hits_all")?.engineArgs, ["'posthog'", "'rich'", "'hits'", "cityHash64(user_id)"]);
    assert.deepEqual(columnsOf(state.tables.get("rich.hits_all")), columnsOf(hits), "a Distributed table carries the local table's columns");
  });

  test("the plan for what was created is empty, and no column differs", () => {
    assert.deepEqual(summary(planOn(created, state)), EMPTY);
    assert.deepEqual(columnDiffs(created, state), noColumnDiffs(created));
  });

  test("read as replicated tables, the plan for the real declaration is empty", () => {
    assert.deepEqual(summary(planOn(decl, parseIntrospection(readAsReplicated(row, decl)))), EMPTY);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Spellings: one table per case, declared with one spelling. The first test records what current ClickHouse
// prints back (exact strings); the second requires the planner to take that for the declaration (both plans
// empty, no column differs), or, for a structural rewrite, to name both spellings in the planned MODIFY.

interface Spelling {
  readonly what: string;
  readonly declared: string;
  readonly printed: string;
  readonly column?: ColumnInput;
  readonly table?: Partial<LocalTableInput>;
  readonly read: (t: ActualTable) => string;
  /** A structural rewrite (operator parentheses, `?:`, `||`, CAST AS, BETWEEN, exponents) the planner does not
   * guess: it plans a MODIFY naming both spellings, and apply reports it as the host's spelling. */
  readonly respelled?: true;
}

const colV = (t: ActualTable) => t.columns.find((c) => c.name === "v");

const spellings: Spelling[] = [
  // Codecs: a bare codec is printed with its default argument, which depends on the column's type for Delta and
  // Gorilla (the byte width). diffColumns compares "Delta, ZSTD(1)" with "Delta(4), ZSTD(1)".
  { what: "codec", declared: "Delta, ZSTD(1)", printed: "Delta(4), ZSTD(1)", column: { name: "v", type: "DateTime", codec: ["Delta", "ZSTD(1)"] }, read: (t) => colV(t)!.codec },
  { what: "codec", declared: "ZSTD", printed: "ZSTD(1)", column: { name: "v", type: "String", codec: ["ZSTD"] }, read: (t) => colV(t)!.codec },
  { what: "codec", declared: "Gorilla", printed: "Gorilla(8)", column: { name: "v", type: "Float64", codec: ["Gorilla"] }, read: (t) => colV(t)!.codec },
  { what: "codec", declared: "LZ4HC", printed: "LZ4HC(0)", column: { name: "v", type: "String", codec: ["LZ4HC"] }, read: (t) => colV(t)!.codec },
  { what: "codec", declared: "DoubleDelta,LZ4", printed: "DoubleDelta, LZ4", column: { name: "v", type: "UInt64", codec: ["DoubleDelta", "LZ4"] }, read: (t) => colV(t)!.codec },
  // Types: spacing is normalised; aliases are not.
  { what: "type", declared: "Decimal(18,4)", printed: "Decimal(18, 4)", column: { name: "v", type: "Decimal(18,4)" }, read: (t) => colV(t)!.type },
  { what: "type", declared: "Enum8('a'=1,'b'=2)", printed: "Enum8('a' = 1, 'b' = 2)", column: { name: "v", type: "Enum8('a'=1,'b'=2)" }, read: (t) => colV(t)!.type },
  { what: "type", declared: "Decimal64(4)", printed: "Decimal(18, 4)", column: { name: "v", type: "Decimal64(4)" }, read: (t) => colV(t)!.type },
  { what: "type", declared: "BIGINT", printed: "Int64", column: { name: "v", type: "BIGINT" }, read: (t) => colV(t)!.type },
  // Default expressions: whitespace and backquotes are normalised; current ClickHouse's rewrites are not.
  { what: "default", declared: "`a` + 1", printed: "a + 1", column: { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "`a` + 1" } }, read: (t) => colV(t)!.defaultExpression },
  { what: "default", declared: "(a * 2) + 1", printed: "(a * 2) + 1", column: { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "(a * 2) + 1" } }, read: (t) => colV(t)!.defaultExpression },
  { what: "default", declared: "a * 2 + 1", printed: "(a * 2) + 1", column: { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "a * 2 + 1" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "a + 1 + 2", printed: "(a + 1) + 2", column: { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "a + 1 + 2" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "\"a\"", printed: "a", column: { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "\"a\"" } }, read: (t) => colV(t)!.defaultExpression },
  { what: "default", declared: "a > 1 ? 1 : 0", printed: "if(a > 1, 1, 0)", column: { name: "v", type: "UInt8", default: { kind: "DEFAULT", expression: "a > 1 ? 1 : 0" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "CAST(a AS String)", printed: "CAST(a, 'String')", column: { name: "v", type: "String", default: { kind: "DEFAULT", expression: "CAST(a AS String)" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "'x' || 'y'", printed: "concat('x', 'y')", column: { name: "v", type: "String", default: { kind: "DEFAULT", expression: "'x' || 'y'" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "ts - INTERVAL 1 DAY", printed: "ts - toIntervalDay(1)", column: { name: "v", type: "DateTime", default: { kind: "DEFAULT", expression: "ts - INTERVAL 1 DAY" } }, read: (t) => colV(t)!.defaultExpression },
  { what: "default", declared: "a BETWEEN 1 AND 2", printed: "(a >= 1) AND (a <= 2)", column: { name: "v", type: "UInt8", default: { kind: "DEFAULT", expression: "a BETWEEN 1 AND 2" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "1e3", printed: "1000.", column: { name: "v", type: "Float64", default: { kind: "DEFAULT", expression: "1e3" } }, read: (t) => colV(t)!.defaultExpression, respelled: true },
  { what: "default", declared: "'it''s'", printed: "'it\\'s'", column: { name: "v", type: "String", default: { kind: "DEFAULT", expression: "'it''s'" } }, read: (t) => colV(t)!.defaultExpression },
  // Table TTL and keys.
  { what: "TTL", declared: "ts + INTERVAL 30 DAY", printed: "ts + toIntervalDay(30)", table: { ttl: "ts + INTERVAL 30 DAY" }, read: (t) => t.ttl },
  { what: "ORDER BY", declared: "tuple()", printed: "", table: { orderBy: ["tuple()"] }, read: (t) => t.sortingKey },
  { what: "ORDER BY", declared: "a, toDate(ts)", printed: "a, toDate(ts)", table: { orderBy: ["a", "toDate(ts)"], primaryKey: ["a"] }, read: (t) => t.sortingKey },
];

describe("declared spellings, and what current ClickHouse prints back", () => {
  const cases = spellings.map((s, i) => {
    const database = `spelling_${i}`;
    const input: LocalTableInput = table({
      database,
      name: "t",
      columns: [{ name: "a", type: "UInt64" }, { name: "ts", type: "DateTime" }, ...(s.column ? [s.column] : [])],
      engine: { family: "MergeTree" },
      orderBy: ["a"],
      ...s.table,
    });
    return { ...s, decl: defineSchema({ tables: [input] }), created: defineSchema({ tables: [unreplicated(input)] }) };
  });
  let row: IntrospectionRow;

  before(() => {
    for (const c of cases) create(c.decl, c.created);
    row = introspectRow();
  });

  for (const c of cases) {
    describe(`${c.what} declared as ${c.declared}`, () => {
      test(`current ClickHouse prints ${JSON.stringify(c.printed)}`, () => {
        const t = parseIntrospection(row).tables.get(fullName(c.decl.tables[0]!));
        assert.ok(t);
        assert.equal(c.read(t), c.printed);
      });
      if (c.respelled) {
        test("the planner names the host's spelling against the declared one", () => {
          const p = planOn(c.created, parseIntrospection(row));
          assert.deepEqual(p.tasks.map((x) => [x.kind, x.column, x.detail]), [["modify-column", "v", `default: host has DEFAULT ${c.printed}, declared DEFAULT ${c.declared}`]]);
        });
      } else {
        test("the planner takes it for the declaration", () => {
          const state = parseIntrospection(row);
          assert.deepEqual(columnDiffs(c.created, state), noColumnDiffs(c.created));
          assert.deepEqual(summary(planOn(c.created, state)), EMPTY);
          assert.deepEqual(summary(planOn(c.decl, parseIntrospection(readAsReplicated(row, c.decl)))), EMPTY);
        });
      }
    });
  }
});

describe("CODEC( inside a comment or a string default", () => {
  const input = table({
    database: "codec_text",
    name: "t",
    columns: [
      { name: "a", type: "UInt64" },
      { name: "m1", type: "String", comment: "compressed with CODEC(ZSTD(1)) upstream" },
      { name: "m2", type: "String", default: { kind: "DEFAULT", expression: "' CODEC(x)'" } },
    ],
    engine: { family: "MergeTree" },
    orderBy: ["a"],
  });
  const decl = defineSchema({ tables: [input] });
  const created = defineSchema({ tables: [unreplicated(input)] });
  before(() => void create(decl, created));

  test("current ClickHouse: neither column has a codec", () => {
    const out = ch().query("SELECT name, compression_codec FROM system.columns WHERE database = 'codec_text' AND table = 't' ORDER BY position FORMAT JSONCompactEachRow", "JSONCompactEachRow");
    assert.deepEqual(out.trim().split("\n").map((l) => JSON.parse(l) as unknown), [["a", ""], ["m1", ""], ["m2", ""]]);
  });

  test("the reader reads no codec for either", () => {
    const row = introspectRow();
    assert.deepEqual(columnsOf(parseIntrospection(row).tables.get("codec_text.t")).map((c) => [c[0], c[5]]), [["a", ""], ["m1", ""], ["m2", ""]]);
    assert.deepEqual(summary(planOn(decl, parseIntrospection(readAsReplicated(row, decl)))), EMPTY);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("every statement the renderer emits parses on current ClickHouse", () => {
  const hits = richSchema("rich").tables[0] as LocalTable;
  const col = (name: string) => hits.columns.find((c) => c.name === name)!;
  const statements: [string, RegExp][] = [
    [ddl.createDatabase("rich"), /^CREATE DATABASE IF NOT EXISTS rich$/],
    [ddl.createLocalTable(hits), /^CREATE TABLE IF NOT EXISTS rich\.hits\n\(\n {4}`timestamp` DateTime COMMENT 'event time' CODEC\(Delta\(4\), ZSTD\(1\)\),\n[^]*\nENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/rich\.hits', '\{replica\}'\)\nPARTITION BY toYYYYMM\(timestamp\)\nPRIMARY KEY \(user_id, intHash32\(user_id\)\)\nORDER BY \(user_id, intHash32\(user_id\), timestamp\)\nSAMPLE BY intHash32\(user_id\)\nTTL timestamp \+ toIntervalDay\(30\)\nSETTINGS index_granularity = 4096, merge_with_ttl_timeout = 3600, storage_policy = 'default'$/],
    [ddl.addColumn("rich.hits", { name: "extra", type: "String", default: { kind: "DEFAULT", expression: "'x'" }, comment: "it's new", codec: ["ZSTD(1)"] }, "user_id"),
      /^ALTER TABLE rich\.hits\n {4}\(ADD COLUMN `extra` String DEFAULT 'x' COMMENT 'it\\'s new' CODEC\(ZSTD\(1\)\) AFTER user_id\)$/],
    [ddl.addColumn("rich.hits", col("timestamp"), undefined), /^ALTER TABLE rich\.hits\n {4}\(ADD COLUMN `timestamp` DateTime COMMENT 'event time' CODEC\(Delta\(4\), ZSTD\(1\)\)\)$/],
    [ddl.addColumnsAndOrderBy("rich.hits", [{ column: { name: "k", type: "UInt8" }, after: "user_id" }], [...hits.orderBy, "k"]),
      /^ALTER TABLE rich\.hits\n {4}\(ADD COLUMN `k` UInt8 AFTER user_id\),\n {4}\(MODIFY ORDER BY \(user_id, intHash32\(user_id\), timestamp, k\)\)$/],
    [ddl.modifyColumn("rich.hits", col("url")), /^ALTER TABLE rich\.hits\n {4}\(MODIFY COLUMN `url` String CODEC\(ZSTD\(3\)\)\)$/],
    [ddl.modifyColumn("rich.hits", col("domain")), /^ALTER TABLE rich\.hits\n {4}\(MODIFY COLUMN `domain` String ALIAS domain\(url\)\)$/],
    [ddl.commentColumn("rich.hits", col("user_id")), /^ALTER TABLE rich\.hits\n {4}\(COMMENT COLUMN user_id 'the user\\'s id'\)$/],
    [ddl.dropColumn("rich.hits", "extra"), /^ALTER TABLE rich\.hits\n {4}\(DROP COLUMN extra\)$/],
    [ddl.modifyTtl("rich.hits", "timestamp + toIntervalDay(7)"), /^ALTER TABLE rich\.hits\n {4}\(MODIFY TTL timestamp \+ toIntervalDay\(7\)\)$/],
    [ddl.dropTable("rich.hits_all"), /^DROP TABLE rich\.hits_all$/],
    // SYSTEM SYNC REPLICA needs a replicated table: parsed only.
    [ddl.syncReplica("rich.hits"), /^SYSTEM SYNC REPLICA rich\.hits$/],
  ];
  for (const [sql, formatted] of statements) {
    test(sql.split("\n")[0]!, () => assert.match(formatQuery(sql), formatted));
  }
});

describe("ALTERs for real: after a change behind the planner's back, the plan names exactly that change", () => {
  const decl = richSchema("alt");
  const created = richCreated("alt");
  const hits = created.tables.find((t) => t.name === "hits") as LocalTable;
  const col = (name: string) => hits.columns.find((c) => c.name === name)!;
  const HITS = "alt.hits";

  before(() => {
    create(decl, created);
    assertConverged(decl, created);
  });

  /** Both plans (as created, and the real declaration read as replicated) after a change. */
  function plans(allow: readonly AllowKind[] = []) {
    const row = introspectRow();
    return { plain: planOn(created, parseIntrospection(row), allow), replicated: planOn(decl, parseIntrospection(readAsReplicated(row, decl)), allow) };
  }

  test("ADD COLUMN ... AFTER: an undeclared-column drift for exactly that column; --allow drop-column drops it", () => {
    const extra: Column = { name: "extra", type: "String", default: { kind: "DEFAULT", expression: "'x'" }, comment: "it's new", codec: ["ZSTD(1)"] };
    run(ddl.addColumn(HITS, extra, "user_id"));
    const added = introspect().tables.get(HITS)!.columns;
    assert.deepEqual(added.map((c) => c.name).slice(0, 3), ["timestamp", "user_id", "extra"]);
    assert.deepEqual(columnsOf({ ...introspect().tables.get(HITS)!, columns: added.filter((c) => c.name === "extra") }), [["extra", "String", "DEFAULT", "'x'", "it's new", "ZSTD(1)"]]);

    const { plain, replicated } = plans();
    const drift = [{ kind: "undeclared-column", hosts: [HOST], table: HITS, column: "extra", reason: "column extra String is not declared", allowedBy: undefined, resolved: false }];
    assert.deepEqual(summary(plain), { tasks: [], drift, unreachable: [], blocked: true });
    assert.deepEqual(summary(replicated), { tasks: [], drift, unreachable: [], blocked: true });

    const allowed = plans(["drop-column"]);
    assert.deepEqual(allowed.plain.tasks, [{ phase: 4, host: HOST, kind: "drop-column", table: HITS, column: "extra", sql: "ALTER TABLE alt.hits DROP COLUMN extra" }]);
    assert.deepEqual(allowed.replicated.tasks, [{ phase: 3, host: HOST, kind: "drop-column", table: HITS, column: "extra", sql: "ALTER TABLE alt.hits DROP COLUMN extra", group: [HOST] }]);
    assert.deepEqual(allowed.plain.drift.map((d) => [d.kind, d.column, d.allowedBy, d.resolved]), [["undeclared-column", "extra", "drop-column", true]]);
    for (const sql of sqlOf(allowed.plain)) run(sql);
    assertConverged(decl, created);
  });

  test("DROP COLUMN of a declared column: ADD COLUMN ... AFTER its predecessor puts it back in place", () => {
    const before = introspect().tables.get(HITS)!.columns.map((c) => c.name);
    run(ddl.dropColumn(HITS, "tags"));
    const { plain, replicated } = plans();
    const sql = "ALTER TABLE alt.hits ADD COLUMN tags Array(String) AFTER value";
    assert.equal(ddl.addColumn(HITS, col("tags"), "value"), sql);
    assert.deepEqual(summary(plain), { tasks: [{ phase: 4, host: HOST, kind: "add-column", table: HITS, column: "tags", sql }], drift: [], unreachable: [], blocked: false });
    assert.deepEqual(sqlOf(replicated), [sql]);
    for (const s of sqlOf(plain)) run(s);
    assert.deepEqual(introspect().tables.get(HITS)!.columns.map((c) => c.name), before);
    assertConverged(decl, created);
  });

  test("MODIFY COLUMN of a default: a modify-column task back to the declared default", () => {
    run(ddl.modifyColumn(HITS, { ...col("duration_ms"), default: { kind: "DEFAULT", expression: "5" } }));
    const { plain, replicated } = plans();
    const sql = "ALTER TABLE alt.hits MODIFY COLUMN duration_ms UInt32 DEFAULT 0";
    assert.deepEqual(summary(plain), { tasks: [{ phase: 4, host: HOST, kind: "modify-column", table: HITS, column: "duration_ms", sql }], drift: [], unreachable: [], blocked: false });
    assert.deepEqual(sqlOf(replicated), [sql]);
    for (const s of sqlOf(plain)) run(s);
    assertConverged(decl, created);
  });

  test("MODIFY COLUMN of a default kind: MATERIALIZED -> DEFAULT is planned back", () => {
    run(ddl.modifyColumn(HITS, { ...col("date"), default: { kind: "DEFAULT", expression: "toDate(timestamp)" } }));
    const { plain } = plans();
    assert.deepEqual(sqlOf(plain), ["ALTER TABLE alt.hits MODIFY COLUMN date Date MATERIALIZED toDate(timestamp)"]);
    for (const s of sqlOf(plain)) run(s);
    assertConverged(decl, created);
  });

  test("MODIFY COLUMN of a codec: the column diff reports it and a comment survives the MODIFY", () => {
    run(ddl.modifyColumn(HITS, { ...col("url"), codec: ["ZSTD(5)"] }));
    const url = introspect().tables.get(HITS)!.columns.find((c) => c.name === "url")!;
    assert.deepEqual([url.codec, url.comment], ["ZSTD(5)", "page url"]);
    const d = diffColumns(hits, introspect().tables.get(HITS)!);
    assert.deepEqual(d.codecChanged.map((x) => [x.column.name, x.actual.codec]), [["url", "ZSTD(5)"]]);
    const { replicated } = plans();
    assert.deepEqual(sqlOf(replicated), ["ALTER TABLE alt.hits MODIFY COLUMN url String CODEC(ZSTD(3))"]);
  });

  test("... and a non-replicated table's codec change is planned back too", () => {
    const { plain } = plans();
    assert.deepEqual(sqlOf(plain), ["ALTER TABLE alt.hits MODIFY COLUMN url String CODEC(ZSTD(3))"]);
  });

  test("(the codec restored by hand)", () => {
    run(ddl.modifyColumn(HITS, col("url")));
    assertConverged(decl, created);
  });

  test("COMMENT COLUMN: a comment-column task back to the declared comment (quote and all)", () => {
    run(ddl.commentColumn(HITS, { ...col("user_id"), comment: "changed" }));
    const { plain, replicated } = plans();
    const sql = "ALTER TABLE alt.hits COMMENT COLUMN user_id 'the user\\'s id'";
    assert.deepEqual(summary(plain), { tasks: [{ phase: 4, host: HOST, kind: "comment-column", table: HITS, column: "user_id", sql }], drift: [], unreachable: [], blocked: false });
    assert.deepEqual(sqlOf(replicated), [sql]);
    for (const s of sqlOf(plain)) run(s);
    assert.equal(introspect().tables.get(HITS)!.columns.find((c) => c.name === "user_id")!.comment, "the user's id");
    assertConverged(decl, created);
  });

  test("MODIFY TTL: a modify-ttl task back to the declared TTL", () => {
    run(ddl.modifyTtl(HITS, "timestamp + toIntervalDay(7)"));
    assert.equal(introspect().tables.get(HITS)!.ttl, "timestamp + toIntervalDay(7)");
    const { plain, replicated } = plans();
    const sql = "ALTER TABLE alt.hits MODIFY TTL timestamp + toIntervalDay(30)";
    assert.deepEqual(summary(plain), { tasks: [{ phase: 4, host: HOST, kind: "modify-ttl", table: HITS, column: undefined, sql }], drift: [], unreachable: [], blocked: false });
    assert.deepEqual(sqlOf(replicated), [sql]);
    for (const s of sqlOf(plain)) run(s);
    assertConverged(decl, created);
  });

  test("a type changed: an unresolved type-change drift; --allow modify-type changes it back", () => {
    run(ddl.modifyColumn(HITS, { ...col("duration_ms"), type: "UInt64" }));
    const { plain, replicated } = plans();
    const drift = [{ kind: "type-change", hosts: [HOST], table: HITS, column: "duration_ms", reason: "column duration_ms is UInt64, declared UInt32", allowedBy: undefined, resolved: false }];
    assert.deepEqual(summary(plain), { tasks: [], drift, unreachable: [], blocked: true });
    assert.deepEqual(summary(replicated), { tasks: [], drift, unreachable: [], blocked: true });
    const allowed = plans(["modify-type"]);
    const sql = "ALTER TABLE alt.hits MODIFY COLUMN duration_ms UInt32 DEFAULT 0";
    assert.deepEqual(allowed.plain.tasks, [{ phase: 4, host: HOST, kind: "modify-type", table: HITS, column: "duration_ms", sql }]);
    assert.deepEqual(sqlOf(allowed.replicated), [sql]);
    for (const s of sqlOf(allowed.plain)) run(s);
    assertConverged(decl, created);
  });

  test("DROP TABLE of a declared table: created again", () => {
    run(ddl.dropTable("alt.daily"));
    const { plain, replicated } = plans();
    const daily = created.tables.find((t) => t.name === "daily") as LocalTable;
    assert.deepEqual(summary(plain), { tasks: [{ phase: 4, host: HOST, kind: "create-table", table: "alt.daily", sql: ddl.createLocalTable(daily) }], drift: [], unreachable: [], blocked: false });
    assert.deepEqual(sqlOf(replicated), sqlOf(plain));
    for (const s of sqlOf(plain)) run(s);
    assertConverged(decl, created);
  });

  test("undeclared tables: drift, Distributed first; --allow drop-table drops them", () => {
    run("CREATE TABLE alt.scratch (a UInt8) ENGINE = MergeTree ORDER BY a");
    run(`CREATE TABLE alt.scratch_all (a UInt8) ENGINE = Distributed(${topology.cluster}, alt, scratch, rand())`);
    const { plain } = plans();
    assert.deepEqual(plain.drift.map((d) => [d.kind, d.table, d.reason, d.resolved]), [
      ["undeclared-table", "alt.scratch_all", `alt.scratch_all (Distributed) exists on ${HOST} but is not declared`, false],
      ["undeclared-table", "alt.scratch", `alt.scratch (MergeTree) exists on ${HOST} but is not declared`, false],
    ]);
    assert.deepEqual(plain.tasks, []);
    const allowed = plans(["drop-table"]);
    assert.deepEqual(allowed.plain.tasks.map((t) => [t.phase, t.kind, t.sql]), [[1, "drop-table", "DROP TABLE alt.scratch_all"], [1, "drop-table", "DROP TABLE alt.scratch"]]);
    for (const s of sqlOf(allowed.plain)) run(s);
    assertConverged(decl, created);
  });

  test("a replicated column whose type and codec both changed: only the type-change drift, no task without --allow modify-type", () => {
    run(ddl.modifyColumn(HITS, { ...col("amount"), type: "Decimal(18, 2)", codec: ["ZSTD(1)"] }));
    try {
      const { replicated } = plans();
      assert.deepEqual(replicated.drift.map((d) => [d.kind, d.column, d.reason, d.resolved]), [["type-change", "amount", "column amount is Decimal(18, 2), declared Decimal(18, 4)", false]]);
      assert.deepEqual(replicated.tasks, []);
    } finally {
      run(ddl.modifyColumn(HITS, col("amount")));
      assertConverged(decl, created);
    }
  });
});

describe("apply() through a chdb connection", () => {
  const decl = richCreated("applied");
  const conn: HostConnection = {
    host: HOST,
    query: async <T>(sql: string) => ch().query(sql, "JSONEachRow").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T),
    command: async (sql) => run(sql),
    insert: async (name, rows) => {
      await ch().insert({ table: name, values: rows });
    },
    close: async () => undefined,
  };

  test("creates the declaration from nothing, converges, and a second apply has nothing to do", async () => {
    const lines: string[] = [];
    const result = await apply(decl, topology, new Map([[HOST, conn]]), { log: (l) => lines.push(l) });
    assert.equal(result.converged, true, lines.join("\n"));
    assert.deepEqual(result.plan.tasks.map((t) => t.kind), ["create-database", "create-table", "create-table", "create-table", "create-table", "create-table", "create-table"]);
    assert.deepEqual(summary(result.after), EMPTY);
    assert.deepEqual(result.outcomes.map((o) => [o.host, o.applied.length, o.failed, o.undone.length]), [[HOST, 7, undefined, 0]]);
    const ledger = await conn.query<{ step: string; result: string }>("SELECT step, result FROM chstack.schema_ledger ORDER BY applied_at, step");
    assert.equal(ledger.filter((l) => l.result === "ok").length, 8, "seven statements and the apply itself");
    assert.deepEqual(ledger.filter((l) => l.step === "begin").map((l) => l.result), ["begin"], "and its begin row");
    const last = await lastApply(conn);
    assert.deepEqual([last.result, last.declarationHash, last.statements], ["ok", result.plan.declarationHash, 7]);
    const again = await apply(decl, topology, new Map([[HOST, conn]]));
    assert.deepEqual([again.plan.tasks.length, again.converged], [0, true]);
  });

  test("lastApply on current ClickHouse: a begin with no outcome reads interrupted; a later outcome wins, even within the second", async () => {
    await record(conn, { applyId: "zzzzzzzzz-interrupted", hash: "h1", result: "begin", planned: 3 });
    const cut = await lastApply(conn);
    assert.deepEqual([cut.result, cut.declarationHash, cut.planned], ["interrupted", "h1", "3 statement(s) planned"]);
    await record(conn, [{ applyId: "zzzzzzzzzz-rerun", hash: "h1", result: "begin", planned: 1 }, { applyId: "zzzzzzzzzz-rerun", hash: "h1", result: "ok" }]);
    assert.equal((await lastApply(conn)).result, "ok");
  });

  test("a default the host re-spells: the MODIFY runs once, apply says so instead of claiming convergence", async () => {
    const respelled = defineSchema({ tables: [table({
      database: "respelled", name: "t", engine: { family: "MergeTree" }, orderBy: ["a"], replicated: false,
      columns: [{ name: "a", type: "UInt64" }, { name: "v", type: "UInt64", default: { kind: "DEFAULT", expression: "a * 2 + 1" } }],
    })] });
    const created = await apply(respelled, topology, new Map([[HOST, conn]]), { confirmTimeoutMs: 0 });
    assert.equal(created.converged, false);
    assert.deepEqual(created.respelled.map((x) => [x.kind, x.column, x.detail]), [["modify-column", "v", "default: host has DEFAULT (a * 2) + 1, declared DEFAULT a * 2 + 1"]]);
    assert.match(formatApply(created), /print the declaration in their own spelling[\s\S]*v: default: host has DEFAULT \(a \* 2\) \+ 1, declared DEFAULT a \* 2 \+ 1/);
    const again = await apply(respelled, topology, new Map([[HOST, conn]]), { confirmTimeoutMs: 0 });
    assert.deepEqual(again.outcomes[0]!.applied.map((x) => x.sql), ["ALTER TABLE respelled.t MODIFY COLUMN v UInt64 DEFAULT a * 2 + 1"], "a re-run tries the MODIFY once more");
    assert.equal(again.respelled.length, 1, "and says the same");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Column names as PostHog writes them, and hostile ones: backquoted in every statement, read back as they are.

describe("quoted column names, and a Distributed table of the writable columns", () => {
  const names = ["$group_0", "$window_id", "mat_$browser", "we`ird", "it's", 'dq"', "back\\slash", "имя", "select", "order", "with space", "a.b"];
  const columns = (extra: readonly ColumnInput[] = []): ColumnInput[] => [
    { name: "id", type: "UInt64" },
    ...names.filter((n) => n !== "mat_$browser").map((name) => ({ name, type: "String" })),
    { name: "mat_$browser", type: "String", default: { kind: "MATERIALIZED" as const, expression: "concat(`$group_0`, 'x')" } },
    { name: "$ver", type: "UInt64" },
    ...extra,
  ];
  const decl = (extra: readonly ColumnInput[] = []) => defineSchema({ tables: [
    table({ database: "qn", name: "events", replicated: false, engine: { family: "ReplacingMergeTree", version: "$ver" }, columns: columns(extra), orderBy: ["id", "`order`"] }),
    distributed({ database: "qn", name: "writable_events", local: "events", shardingKey: "sipHash64(`$window_id`)", columns: "writable" }),
    distributed({ database: "qn", name: "all_events", local: "events", shardingKey: "sipHash64(`$window_id`)" }),
  ] });

  test("created, read back with every name as declared, planned empty; a new hostile column is added and settles", () => {
    const d = decl();
    create(d, d);
    const state = introspect();
    assert.deepEqual(state.tables.get("qn.events")!.columns.map((c) => c.name).sort(), ["id", ...names, "$ver"].sort());
    assert.ok(!state.tables.get("qn.writable_events")!.columns.some((c) => c.name === "mat_$browser"), "the writable table has no MATERIALIZED column");
    assert.ok(state.tables.get("qn.all_events")!.columns.some((c) => c.name === "mat_$browser"));
    assert.deepEqual(summary(planOn(d, state)), EMPTY);

    const grown = decl([{ name: "new `col`; --", type: "String", default: { kind: "DEFAULT", expression: "'v'" } }]);
    const p = planOn(grown, introspect());
    assert.ok(sqlOf(p).includes("ALTER TABLE qn.events ADD COLUMN `new \\`col\\`; --` String DEFAULT 'v' AFTER `$ver`"), sqlOf(p).join("\n"));
    for (const sql of sqlOf(p)) run(sql);
    assert.deepEqual(summary(planOn(grown, introspect())), EMPTY);
  });

  test("inserts through the writable Distributed table name no MATERIALIZED column", () => {
    const sql = ddl.createDistributedTable(decl().tables.find((t) => t.name === "writable_events") as Parameters<typeof ddl.createDistributedTable>[0], topology.cluster);
    assert.doesNotMatch(sql, /mat_\$browser/);
    assert.match(sql, /`\$group_0` String/);
  });
});

describe("PostHog's own tables (schema/posthog-full.ts) on current ClickHouse", () => {
  test("every CREATE runs, is read back, and both plans are empty", () => {
    const decl = posthogFullSchema("phfull");
    const created = defineSchema({ tables: posthogFullTables("phfull").map(unreplicated) });
    create(decl, created);
    assertConverged(decl, created);
  });
});

describe("ReplacingMergeTree's is_deleted and a Distributed table with no sharding key, on current ClickHouse", () => {
  test("created, read back, planned empty", () => {
    const decl = defineSchema({ tables: [
      table({ database: "isdel", name: "persons", replicated: false, columns: [{ name: "id", type: "UInt64" }, { name: "version", type: "UInt64" }, { name: "is_deleted", type: "UInt8" }], engine: { family: "ReplacingMergeTree", version: "version", isDeleted: "is_deleted" }, orderBy: ["id"] }),
      distributed({ database: "isdel", name: "persons_read", local: "persons" }),
    ] });
    create(decl, decl);
    const state = introspect();
    assert.deepEqual(state.tables.get("isdel.persons")!.engineArgs, ["version", "is_deleted"]);
    assert.equal(state.tables.get("isdel.persons_read")!.engineArgs.length, 3, "cluster, database, table: no key");
    assert.deepEqual(summary(planOn(decl, state)), EMPTY);
  });
});

describe("data-skipping indexes on current ClickHouse", () => {
  const decl = (extra: LocalTableInput["indexes"] = []) => defineSchema({ tables: [
    table({
      database: "idx", name: "events", replicated: false,
      columns: [{ name: "id", type: "UInt64" }, { name: "$group_0", type: "String" }, { name: "ts", type: "DateTime" }],
      engine: { family: "MergeTree" }, orderBy: ["id"],
      indexes: [{ name: "minmax_$group_0", expression: "`$group_0`", type: "minmax", granularity: 1 }, { name: "bf", expression: "lower(`$group_0`)", type: "bloom_filter(0.01)", granularity: 4 }, ...extra],
    }),
  ] });

  test("created with their indexes, read back from the CREATE statement, planned empty; a new index is added and settles", () => {
    const d = decl();
    create(d, d);
    const state = introspect();
    assert.deepEqual(state.tables.get("idx.events")!.indexes.map((x) => [x.name, x.type, x.granularity]), [["minmax_$group_0", "minmax", 1], ["bf", "bloom_filter(0.01)", 4]]);
    assert.deepEqual(summary(planOn(d, state)), EMPTY);
    const grown = decl([{ name: "set_ts", expression: "toDate(ts)", type: "set(100)", granularity: 2 }]);
    const p = planOn(grown, introspect());
    assert.deepEqual(sqlOf(p), ["ALTER TABLE idx.events ADD INDEX set_ts toDate(ts) TYPE set(100) GRANULARITY 2"]);
    for (const sql of sqlOf(p)) run(sql);
    assert.deepEqual(summary(planOn(grown, introspect())), EMPTY);
  });
});

describe("projections on current ClickHouse", () => {
  const decl = (projections: LocalTableInput["projections"]) => defineSchema({ tables: [
    table({
      database: "proj", name: "events", replicated: false,
      columns: [{ name: "team_id", type: "Int64" }, { name: "event", type: "String" }, { name: "$browser", type: "String" }, { name: "ts", type: "DateTime" }],
      engine: { family: "MergeTree" }, orderBy: ["team_id", "ts"], projections,
    }),
  ] });
  const byEvent = { name: "by_event", query: "SELECT team_id, event, count() GROUP BY team_id, event" };

  test("created with a projection, read back from the CREATE statement, planned empty; a new one is added and settles; a changed one is a migration", () => {
    const d = decl([byEvent]);
    create(d, d);
    const state = introspect();
    assert.deepEqual(state.tables.get("proj.events")!.projections.map((x) => x.name), ["by_event"]);
    assert.deepEqual(summary(planOn(d, state)), EMPTY);
    const grown = decl([byEvent, { name: "by_$browser", query: "SELECT * ORDER BY `$browser`" }]);
    const p = planOn(grown, introspect());
    assert.deepEqual(sqlOf(p), ["ALTER TABLE proj.events ADD PROJECTION `by_$browser` (SELECT * ORDER BY `$browser`)"]);
    for (const sql of sqlOf(p)) run(sql);
    run("INSERT INTO proj.events VALUES (1, 'a', 'Chrome', now()), (1, 'b', 'Firefox', now())");
    assert.deepEqual(summary(planOn(grown, introspect())), EMPTY);
    const changed = planOn(decl([{ ...byEvent, query: "SELECT team_id, count() GROUP BY team_id" }]), introspect(), ["drop-projection"]);
    assert.match(changed.drift.find((x) => x.kind === "needs-migration")!.reason, /^projection by_event is \(SELECT .*\), declared \(SELECT team_id, count\(\) GROUP BY team_id\)$/);
    assert.deepEqual(changed.tasks.map((x) => x.sql), ["ALTER TABLE proj.events DROP PROJECTION `by_$browser`"], "the undeclared one is dropped only because it is allowed");
  });
});

