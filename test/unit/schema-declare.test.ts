// The table declaration API refuses hostile or malformed declarations as a whole (every problem named
// `<db>.<table>: <field>: <rule>`), accepts real ones, and renders them to exact DDL.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { addColumn, columnDefinition, commentColumn, createDistributedTable, createLocalTable, engineClause, modifyColumn } from "../../schema/ddl.ts";
import {
  DeclarationError, defineSchema, distributed, table,
  type Column, type Declaration, type DistributedTable, type LocalTable, type LocalTableInput,
} from "../../schema/declare.ts";
import { expressionProblem, identifierProblem, normalizeExpression, normalizeType, quoteName, stringLiteral } from "../../schema/expressions.ts";
import { posthogSchema, posthogTables } from "../../schema/posthog.ts";

/** defineSchema must throw a DeclarationError; its problem lines. */
function problemsOf(tables: readonly unknown[]): readonly string[] {
  let caught: unknown;
  try {
    defineSchema({ tables });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DeclarationError, `expected a DeclarationError, got ${caught === undefined ? "no error" : String(caught)}`);
  assert.equal(caught.code, "DECLARATION_INVALID");
  assert.ok(caught.problems.length > 0);
  for (const p of caught.problems) assert.ok(caught.message.includes(`\n  ${p}`), `the message lists ${JSON.stringify(p)}`);
  assert.match(caught.message, /nothing was applied/);
  return caught.problems;
}

type Raw = Record<string, unknown>;

/** A valid local table; `over` replaces whole fields (a field set to undefined is removed). */
function local(over: Raw = {}): Raw {
  const t: Raw = {
    kind: "table",
    database: "db",
    name: "t",
    columns: [
      { name: "id", type: "UInt64" },
      { name: "ts", type: "DateTime" },
      { name: "v", type: "UInt32" },
    ],
    engine: { family: "MergeTree" },
    orderBy: ["id", "ts"],
    ...over,
  };
  for (const [k, v] of Object.entries(t)) if (v === undefined) delete t[k];
  return t;
}
/** A valid local table whose column `id` has `column` merged in. */
const withColumn = (column: Raw, over: Raw = {}): Raw =>
  local({ columns: [{ name: "id", type: "UInt64", ...column }, { name: "ts", type: "DateTime" }, { name: "v", type: "UInt32" }], ...over });
const dist = (over: Raw = {}): Raw => ({ kind: "distributed", database: "db", name: "d", local: "t", shardingKey: "rand()", ...over });
const withDefault = (expression: string, kind = "DEFAULT") => withColumn({ default: { kind, expression } });

interface Case {
  readonly what: string;
  readonly tables: readonly unknown[];
  /** `<db>.<table>` or `tables.<i>`. */
  readonly label: string;
  /** The field path, exactly as reported (`(table)` for the object itself). */
  readonly path: string;
  /** A fragment of the rule. */
  readonly rule: string;
  /** How many problems in all (default 1: each case has exactly one defect). */
  readonly count?: number;
}

const IDENT_RULE = "must be an identifier: letters, digits and _";

const CASES: readonly Case[] = [
  // SQL injection in names: never quoted, so refused.
  { what: "table name with ;", tables: [local({ name: "t; DROP TABLE x" })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name with backticks", tables: [local({ name: "`t`" })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name with a single quote", tables: [local({ name: "t'x" })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name with a double quote", tables: [local({ name: 't"x' })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name with a space", tables: [local({ name: "my table" })], label: "tables.0", path: "name", rule: "no quotes, backticks, dots or spaces" },
  { what: "table name with a dot", tables: [local({ name: "other.t" })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name with --", tables: [local({ name: "t--x" })], label: "tables.0", path: "name", rule: IDENT_RULE },
  { what: "table name starting with a digit", tables: [local({ name: "1t" })], label: "tables.0", path: "name", rule: "not starting with a digit" },
  { what: "empty table name", tables: [local({ name: "" })], label: "tables.0", path: "name", rule: "must be 1 to 127 characters" },
  { what: "table name of 128 characters", tables: [local({ name: "x".repeat(128) })], label: "tables.0", path: "name", rule: "must be 1 to 127 characters" },
  { what: "no table name at all", tables: [local({ name: undefined })], label: "tables.0", path: "name", rule: "expected string" },
  { what: "a table name that is not a string", tables: [local({ name: 42 })], label: "tables.0", path: "name", rule: "expected string" },
  { what: "column name with a newline", tables: [withColumn({ name: "id\nString" })], label: "db.t", path: "columns.0.name", rule: "must not contain control characters" },
  { what: "column name with a NUL", tables: [withColumn({ name: "id\u0000" })], label: "db.t", path: "columns.0.name", rule: "must not contain control characters" },
  { what: "blank column name", tables: [withColumn({ name: "  " })], label: "db.t", path: "columns.0.name", rule: "must not be blank" },
  { what: "column name of 128 characters", tables: [withColumn({ name: "é".repeat(128) })], label: "db.t", path: "columns.0.name", rule: "must be 1 to 127 characters" },
  { what: "database name with ;", tables: [local({ database: "db; DROP DATABASE x" })], label: "tables.0", path: "database", rule: IDENT_RULE },
  { what: "database name with a quote (Distributed)", tables: [local(), dist({ database: "d'b" })], label: "tables.1", path: "database", rule: IDENT_RULE },
  { what: "Distributed table name with a backtick", tables: [local(), dist({ name: "d`" })], label: "tables.1", path: "name", rule: IDENT_RULE },

  // Injection in expressions.
  { what: "DEFAULT with ; DROP TABLE", tables: [withDefault("0; DROP TABLE x")], label: "db.t", path: "columns.0.default.expression", rule: "`;` is not allowed" },
  { what: "DEFAULT with a -- comment", tables: [withDefault("0 -- x")], label: "db.t", path: "columns.0.default.expression", rule: "must not contain a comment" },
  { what: "DEFAULT with a /* */ comment", tables: [withDefault("0 /* x */")], label: "db.t", path: "columns.0.default.expression", rule: "must not contain a comment" },
  { what: "DEFAULT with a # comment", tables: [withDefault("0 # x")], label: "db.t", path: "columns.0.default.expression", rule: "must not contain a comment" },
  { what: "DEFAULT with a second clause (COMMENT)", tables: [withDefault("1 COMMENT 'x'")], label: "db.t", path: "columns.0.default.expression", rule: "`COMMENT` would start another clause" },
  { what: "DEFAULT closing the column list", tables: [withDefault("now()) ENGINE = Memory AS SELECT (1")], label: "db.t", path: "columns.0.default.expression", rule: "has an unbalanced )" },
  { what: "DEFAULT with a lowercase clause word", tables: [withDefault("1 codec(ZSTD)")], label: "db.t", path: "columns.0.default.expression", rule: "`CODEC` would start another clause" },
  { what: "DEFAULT with a top-level comma", tables: [withDefault("1, evil String")], label: "db.t", path: "columns.0.default.expression", rule: "a top-level comma would start another one" },
  { what: "MATERIALIZED with a backslash outside a string", tables: [withDefault("1 \\ 2", "MATERIALIZED")], label: "db.t", path: "columns.0.default.expression", rule: "backslash outside a string" },
  { what: "ALIAS with a control character", tables: [withDefault("1\u0000", "ALIAS")], label: "db.t", path: "columns.0.default.expression", rule: "control characters" },
  { what: "empty DEFAULT expression", tables: [withDefault("   ")], label: "db.t", path: "columns.0.default.expression", rule: "must not be empty" },
  { what: "unknown default kind", tables: [withDefault("1", "EPHEMERAL")], label: "db.t", path: "columns.0.default.kind", rule: "DEFAULT" },
  { what: "sharding key with ;", tables: [local(), dist({ shardingKey: "rand(); DROP TABLE x" })], label: "db.d", path: "shardingKey", rule: "`;` is not allowed" },
  { what: "sharding key closing Distributed(...)", tables: [local(), dist({ shardingKey: "rand()) SETTINGS x = (1" })], label: "db.d", path: "shardingKey", rule: "has an unbalanced )" },
  { what: "ORDER BY element with a comment", tables: [local({ orderBy: ["id", "ts /* x */"] })], label: "db.t", path: "orderBy.1", rule: "must not contain a comment" },
  { what: "PARTITION BY with an unbalanced parenthesis", tables: [local({ partitionBy: "toYYYYMM(ts" })], label: "db.t", path: "partitionBy", rule: "has an unclosed (" },
  { what: "PARTITION BY with an unbalanced bracket", tables: [local({ partitionBy: "[ts)" })], label: "db.t", path: "partitionBy", rule: "has an unbalanced )" },
  { what: "PARTITION BY that starts ORDER BY", tables: [local({ partitionBy: "toYYYYMM(ts) ORDER BY id" })], label: "db.t", path: "partitionBy", rule: "`ORDER` would start another clause" },
  { what: "an unterminated string", tables: [withDefault("'abc")], label: "db.t", path: "columns.0.default.expression", rule: "has an unterminated string" },
  { what: "a string whose closing quote is escaped", tables: [withDefault("'abc\\'")], label: "db.t", path: "columns.0.default.expression", rule: "has an unterminated string" },
  { what: "an unterminated quoted name", tables: [withDefault("`abc")], label: "db.t", path: "columns.0.default.expression", rule: "has an unterminated quoted name" },
  { what: "TTL with DELETE", tables: [local({ ttl: "ts + INTERVAL 1 DAY DELETE" })], label: "db.t", path: "ttl", rule: "`DELETE` would start another clause" },
  { what: "TTL with ;", tables: [local({ ttl: "ts + INTERVAL 1 DAY; DROP TABLE x" })], label: "db.t", path: "ttl", rule: "`;` is not allowed" },
  { what: "sampleBy with SETTINGS", tables: [local({ sampleBy: "id SETTINGS index_granularity = 1" })], label: "db.t", path: "sampleBy", rule: "`SETTINGS` would start another clause" },

  // Engines, columns, keys.
  { what: "unknown engine family", tables: [local({ engine: { family: "Log" } })], label: "db.t", path: "engine.family", rule: "must have family MergeTree, ReplacingMergeTree" },
  { what: "engine family with injection", tables: [local({ engine: { family: "MergeTree() SETTINGS x = 1" } })], label: "db.t", path: "engine.family", rule: "must have family MergeTree" },
  { what: "empty orderBy", tables: [local({ orderBy: [] })], label: "db.t", path: "orderBy", rule: "must list at least one expression" },
  { what: "no columns", tables: [local({ columns: [] })], label: "db.t", path: "columns", rule: "must declare at least one column" },
  {
    what: "duplicate column names",
    tables: [local({ columns: [{ name: "id", type: "UInt64" }, { name: "ts", type: "DateTime" }, { name: "id", type: "String" }] })],
    label: "db.t", path: "columns.2.name", rule: "duplicates columns.0.name (id)",
  },
  { what: "ReplacingMergeTree version not declared", tables: [local({ engine: { family: "ReplacingMergeTree", version: "ver" } })], label: "db.t", path: "engine.version", rule: "ver is not a declared column" },
  { what: "ReplacingMergeTree version with injection", tables: [local({ engine: { family: "ReplacingMergeTree", version: "v) SETTINGS x = (1" } })], label: "db.t", path: "engine.version", rule: "v) SETTINGS x = (1 is not a declared column" },
  { what: "CollapsingMergeTree sign not Int8", tables: [local({ engine: { family: "CollapsingMergeTree", sign: "v" } })], label: "db.t", path: "engine.sign", rule: "the sign column must be Int8, got UInt32" },
  { what: "CollapsingMergeTree sign not declared", tables: [local({ engine: { family: "CollapsingMergeTree", sign: "sign" } })], label: "db.t", path: "engine.sign", rule: "sign is not a declared column" },
  { what: "CollapsingMergeTree without a sign", tables: [local({ engine: { family: "CollapsingMergeTree" } })], label: "db.t", path: "engine.sign", rule: "expected string" },
  { what: "primaryKey not a prefix of orderBy", tables: [local({ primaryKey: ["ts"] })], label: "db.t", path: "primaryKey", rule: "must be a prefix of orderBy" },
  { what: "primaryKey longer than orderBy", tables: [local({ primaryKey: ["id", "ts", "v"] })], label: "db.t", path: "primaryKey", rule: "must be a prefix of orderBy" },
  { what: "sampleBy not in the primary key", tables: [local({ primaryKey: ["id"], sampleBy: "ts" })], label: "db.t", path: "sampleBy", rule: "must be one of the primary key expressions" },
  { what: "sampleBy not in orderBy (no primaryKey)", tables: [local({ sampleBy: "cityHash64(id)" })], label: "db.t", path: "sampleBy", rule: "must be one of the primary key expressions" },
  { what: "Distributed over an undeclared table", tables: [local(), dist({ local: "nope" })], label: "db.d", path: "local", rule: "db.nope is not a declared local table" },
  { what: "Distributed over a table of another database", tables: [local(), dist({ local: "other.t" })], label: "db.d", path: "local", rule: "other.t is not a declared local table" },
  { what: "Distributed over a Distributed table", tables: [local(), dist(), dist({ name: "d2", local: "d" })], label: "db.d2", path: "local", rule: "db.d is not a declared local table" },
  { what: "Distributed local with injection", tables: [local(), dist({ local: "t; DROP TABLE x" })], label: "db.d", path: "local", rule: "must be a table name or database.table" },
  { what: "the same table declared twice", tables: [local(), local()], label: "db.t", path: "name", rule: "declared twice" },
  { what: "a Distributed table named like a local one", tables: [local(), dist({ name: "t" })], label: "db.t", path: "name", rule: "declared twice" },

  // Column types, codecs, comments.
  { what: "column type with DEFAULT", tables: [withColumn({ type: "String DEFAULT 1" })], label: "db.t", path: "columns.0.type", rule: "`DEFAULT` would start another clause" },
  { what: "column type with a second column", tables: [withColumn({ type: "UInt8, x String" })], label: "db.t", path: "columns.0.type", rule: "a top-level comma" },
  { what: "column type that is not a type", tables: [withColumn({ type: "String NULL" })], label: "db.t", path: "columns.0.type", rule: "must be a ClickHouse type" },
  { what: "column type closing the column list", tables: [withColumn({ type: "String) ENGINE = Memory AS SELECT (1" })], label: "db.t", path: "columns.0.type", rule: "has an unbalanced )" },
  { what: "codec that is not a codec", tables: [withColumn({ codec: ["ZSTD(1) x"] })], label: "db.t", path: "columns.0.codec.0", rule: "must be a codec such as ZSTD(1) or Delta" },
  { what: "codec with ;", tables: [withColumn({ codec: ["Delta", "ZSTD(1); DROP TABLE x"] })], label: "db.t", path: "columns.0.codec.1", rule: "`;` is not allowed", count: 2 },
  { what: "empty codec list", tables: [withColumn({ codec: [] })], label: "db.t", path: "columns.0.codec", rule: "expected array to have >=1" },
  { what: "comment with a newline", tables: [withColumn({ comment: "a\nb" })], label: "db.t", path: "columns.0.comment", rule: "must not contain control characters" },
  { what: "comment over 1024 characters", tables: [withColumn({ comment: "x".repeat(1025) })], label: "db.t", path: "columns.0.comment", rule: "1024" },

  // ZooKeeper paths, replica names, settings.
  { what: "zookeeperPath with a quote", tables: [local({ zookeeperPath: "/clickhouse/tables/x', 'r') SETTINGS a = ('1" })], label: "db.t", path: "zookeeperPath", rule: "must be an absolute ZooKeeper path" },
  { what: "relative zookeeperPath", tables: [local({ zookeeperPath: "clickhouse/tables/{shard}/t" })], label: "db.t", path: "zookeeperPath", rule: "must be an absolute ZooKeeper path" },
  { what: "non-replicated table with a zookeeperPath", tables: [local({ replicated: false, zookeeperPath: "/clickhouse/tables/t" })], label: "db.t", path: "zookeeperPath", rule: "only a replicated table has one" },
  { what: "replicaName with a quote", tables: [local({ replicaName: "{replica}'" })], label: "db.t", path: "replicaName", rule: "must be letters, digits, _ . - and {macros}" },
  { what: "setting name with injection", tables: [local({ settings: { "x = 1; DROP TABLE y": 1 } })], label: "db.t", path: "settings.x = 1; DROP TABLE y", rule: "Invalid key in record" },
  { what: "setting value with a quote", tables: [local({ settings: { storage_policy: "a'b" } })], label: "db.t", path: "settings.storage_policy", rule: "must match pattern" },
  { what: "negative setting value", tables: [local({ settings: { index_granularity: -1 } })], label: "db.t", path: "settings.index_granularity", rule: ">=0" },

  // Strict objects and shapes.
  { what: "unknown key in a table", tables: [local({ ifNotExists: false })], label: "db.t", path: "(table)", rule: 'Unrecognized key: "ifNotExists"' },
  { what: "unknown key in a column", tables: [withColumn({ nullable: true })], label: "db.t", path: "columns.0", rule: 'Unrecognized key: "nullable"' },
  { what: "unknown key in an engine", tables: [local({ engine: { family: "MergeTree", args: "x" } })], label: "db.t", path: "engine", rule: 'Unrecognized key: "args"' },
  { what: "a projection's query with a FROM", tables: [local({ projections: [{ name: "p", query: "SELECT a FROM other" }] })], label: "db.t", path: "projections.0.query", rule: "`FROM` would start another clause" },
  { what: "a projection's query that is not a SELECT", tables: [local({ projections: [{ name: "p", query: "a GROUP BY a" }] })], label: "db.t", path: "projections.0.query", rule: "must be a SELECT" },
  { what: "a projection's query that closes its bracket", tables: [local({ projections: [{ name: "p", query: "SELECT a) ENGINE = Memory (" }] })], label: "db.t", path: "projections.0.query", rule: "has an unbalanced )" },
  { what: "two projections of one name", tables: [local({ projections: [{ name: "p", query: "SELECT a ORDER BY a" }, { name: "p", query: "SELECT * ORDER BY a" }] })], label: "db.t", path: "projections.1.name", rule: "duplicates projections.0.name (p)" },
  { what: "unknown key in a Distributed table", tables: [local(), dist({ remote: "other" })], label: "db.d", path: "(table)", rule: 'Unrecognized key: "remote"' },
  { what: "a Distributed table's cluster that is not an identifier", tables: [local(), dist({ cluster: "one;DROP" })], label: "db.d", path: "cluster", rule: "must be" },
  { what: "unknown kind", tables: [local({ kind: "view" })], label: "db.t", path: "kind", rule: 'must have kind "table" or "distributed"' },
  { what: "a table that is null", tables: [local(), null], label: "tables.1", path: "(table)", rule: 'must have kind "table" or "distributed"' },
  { what: "a table that is a string", tables: ["CREATE TABLE x"], label: "tables.0", path: "(table)", rule: 'must have kind "table" or "distributed"' },
];

describe("hostile or malformed declarations are refused", () => {
  test("there are at least 25 cases", () => assert.ok(CASES.length >= 25, `${CASES.length} cases`));

  for (const c of CASES) {
    test(c.what, () => {
      const problems = problemsOf(c.tables);
      const prefix = `${c.label}: ${c.path}: `;
      const hit = problems.find((p) => p.startsWith(prefix) && p.slice(prefix.length).includes(c.rule));
      assert.ok(hit, `expected a problem starting ${JSON.stringify(prefix)} containing ${JSON.stringify(c.rule)}; got ${JSON.stringify(problems)}`);
      assert.equal(problems.length, c.count ?? 1, `exactly the expected problems: ${JSON.stringify(problems)}`);
    });
  }

  test("the fixed cases are valid once their defect is removed", () => {
    // So every case above fails for its defect, not for the scaffolding around it.
    const decl = defineSchema({ tables: [local(), dist()] });
    assert.deepEqual(decl.tables.map((t) => `${t.kind}:${t.database}.${t.name}`), ["table:db.t", "distributed:db.d"]);
  });

  test("every problem of a declaration is reported at once", () => {
    const problems = problemsOf([
      local({ name: "bad name", orderBy: [], engine: { family: "Log" } }),
      local({
        name: "t2",
        columns: [
          { name: "id", type: "UInt64", default: { kind: "DEFAULT", expression: "0; DROP TABLE x" } },
          { name: "id", type: "String" },
          { name: "ts", type: "DateTime" },
        ],
      }),
      local({
        name: "t3",
        engine: { family: "CollapsingMergeTree", sign: "v" },
        primaryKey: ["ts"],
        sampleBy: "v",
        replicated: false,
        zookeeperPath: "/clickhouse/tables/t3",
      }),
      local({ name: "t3" }),
      dist({ local: "missing" }),
      dist({ name: "d2", shardingKey: "rand() -- x" }),
      null,
    ]);
    assert.deepEqual(problems, [
      // The table with a bad name is labelled by its position: its name never reaches an error line.
      `tables.0: name: ${identifierProblem("bad name")}`,
      "tables.0: engine.family: must have family MergeTree, ReplacingMergeTree, AggregatingMergeTree or CollapsingMergeTree",
      'tables.0: orderBy: must list at least one expression (use ["tuple()"] for none)',
      "db.t2: columns.0.default.expression: must be a single expression: `;` is not allowed",
      "db.d2: shardingKey: must not contain a comment",
      'tables.6: (table): must have kind "table" or "distributed"',
      "db.t3: engine.sign: the sign column must be Int8, got UInt32",
      "db.t3: primaryKey: must be a prefix of orderBy",
      "db.t3: sampleBy: must be one of the primary key expressions",
      "db.t3: zookeeperPath: only a replicated table has one",
      "db.t3: name: declared twice",
      "db.d: local: db.missing is not a declared local table",
    ]);
  });

  test("a table that fails its schema still has its semantic problems found once it parses", () => {
    // Semantic checks run on every table that parsed, whatever happened to the others.
    const problems = problemsOf([
      local({ name: "a", columns: [{ name: "x", type: "UInt8" }, { name: "x", type: "UInt8" }], orderBy: ["x"] }),
      local({ name: "b", columns: [{ name: "y", type: "UInt8" }, { name: "y", type: "UInt8" }], orderBy: ["y"] }),
    ]);
    assert.deepEqual(problems, ["db.a: columns.1.name: duplicates columns.0.name (x)", "db.b: columns.1.name: duplicates columns.0.name (y)"]);
  });
});

describe("valid declarations", () => {
  const decl = posthogSchema("posthog");
  const localNamed = (d: Declaration, name: string): LocalTable => {
    const t = d.tables.find((x): x is LocalTable => x.kind === "table" && x.name === name);
    assert.ok(t, `local table ${name}`);
    return t;
  };
  const distributedNamed = (d: Declaration, name: string): DistributedTable => {
    const t = d.tables.find((x): x is DistributedTable => x.kind === "distributed" && x.name === name);
    assert.ok(t, `distributed table ${name}`);
    return t;
  };

  test("posthogSchema validates, local tables first, then the Distributed tables", () => {
    assert.deepEqual(
      decl.tables.map((t) => `${t.kind} ${t.database}.${t.name}`),
      [
        "table posthog.sharded_events",
        "table posthog.person",
        "table posthog.person_distinct_id",
        "distributed posthog.writable_events",
        "distributed posthog.events",
      ],
    );
    const firstDistributed = decl.tables.findIndex((t) => t.kind === "distributed");
    assert.ok(decl.tables.slice(firstDistributed).every((t) => t.kind === "distributed"));
  });

  test("posthogSchema is defineSchema over posthogTables", () => {
    assert.deepEqual(defineSchema({ tables: posthogTables("posthog") }), decl);
    assert.equal(posthogTables("posthog").length, 5);
  });

  test("defaults are filled in", () => {
    const events = localNamed(decl, "sharded_events");
    assert.equal(events.replicated, true);
    assert.equal(events.replicaName, "{replica}");
    assert.deepEqual(events.settings, {});
    assert.equal(events.zookeeperPath, undefined);
    assert.equal(localNamed(decl, "person").zookeeperPath, "/clickhouse/tables/noshard/posthog.person");
  });

  test("a Distributed table carries its target", () => {
    const events = distributedNamed(decl, "events");
    const writable = distributedNamed(decl, "writable_events");
    const sharded = localNamed(decl, "sharded_events");
    assert.equal(events.target, sharded, "the target is the declared local table itself");
    assert.equal(writable.target, sharded);
    assert.equal(events.local, "sharded_events");
    assert.equal(events.shardingKey, "sipHash64(distinct_id)");
  });

  test("the database is part of every name", () => {
    const other = posthogSchema("analytics_2");
    assert.ok(other.tables.every((t) => t.database === "analytics_2"));
    assert.equal(distributedNamed(other, "events").target.database, "analytics_2");
    assert.equal(localNamed(other, "person_distinct_id").zookeeperPath, "/clickhouse/tables/noshard/analytics_2.person_distinct_id");
    assert.throws(() => posthogSchema("posthog; DROP DATABASE x"), (e: unknown) => {
      assert.ok(e instanceof DeclarationError);
      // Every table of the declaration names the database; the Distributed tables fail on it too.
      assert.equal(e.problems.filter((p) => p.includes(": database: must be an identifier")).length, 5);
      return true;
    });
  });

  test("a Distributed table declared before its local table, in another database", () => {
    const d = defineSchema({
      tables: [
        distributed({ database: "front", name: "events", local: "back.events_local", shardingKey: "cityHash64(id)" }),
        table({ database: "back", name: "events_local", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }),
      ],
    });
    assert.deepEqual(d.tables.map((t) => `${t.database}.${t.name}`), ["back.events_local", "front.events"]);
    const front = distributedNamed(d, "events");
    assert.equal(front.target.database, "back");
    assert.equal(front.target, d.tables[0]);
  });

  test("keys compare whitespace- and backquote-insensitively", () => {
    const d = defineSchema({
      tables: [
        table({
          database: "db",
          name: "t",
          columns: [{ name: "team_id", type: "Int64" }, { name: "distinct_id", type: "String" }],
          engine: { family: "MergeTree" },
          orderBy: ["`team_id`", "cityHash64( distinct_id )"],
          primaryKey: ["team_id", "cityHash64(`distinct_id`)"],
          sampleBy: "cityHash64(distinct_id)",
        }),
      ],
    });
    assert.equal(d.tables.length, 1);
  });

  const PASSING: readonly string[] = [
    "toStartOfDay(toDateTime(intDiv(ts, 1000), 'UTC'))",
    "(team_id, toDate(ts))",
    "tuple()",
    "((a, b), (c, (d, e)))",
    "'a;b'",
    "'-- not a comment'",
    "'/* nor this */'",
    "'a, b'",
    "'a''b'",
    "'it\\'s'",
    "'a\\\\'",
    "concat('x; DROP TABLE y', ', ', '--')",
    "\"quoted name\" + `back; quoted`",
    "`order` + `from`",
    "id IN (SELECT id FROM db.other WHERE x = 1)",
    "id NOT IN (1, 2, 3)",
    "CASE WHEN v > 1 THEN 'big' WHEN v = 1 THEN 'one' ELSE 'small' END",
    "ts + INTERVAL 1 DAY",
    "toDateTime(ts) - INTERVAL 3 MONTH + INTERVAL 1 HOUR",
    "arr[1] + [1, 2, 3][2]",
    "if(x = 'a', 1, 0)",
    "a\n  + b\t- c",
    "-1",
    "x != 0 AND y <> 1 OR NOT z",
    "toDate(ts) >= today() - 7",
    "JSONExtractString(properties, '$current_url')",
  ];

  for (const e of PASSING) {
    test(`expression passes: ${JSON.stringify(e)}`, () => {
      assert.equal(expressionProblem(e), undefined);
      // And the declaration keeps it verbatim wherever an expression goes.
      const d = defineSchema({
        tables: [
          table({
            database: "db",
            name: "t",
            columns: [{ name: "id", type: "UInt64", default: { kind: "DEFAULT", expression: e } }],
            engine: { family: "MergeTree" },
            orderBy: [e],
            partitionBy: e,
            ttl: e,
          }),
          distributed({ database: "db", name: "d", local: "t", shardingKey: e }),
        ],
      });
      const t = localNamed(d, "t");
      assert.equal(t.columns[0]?.default?.expression, e);
      assert.deepEqual(t.orderBy, [e]);
      assert.equal(t.ttl, e);
      assert.equal(distributedNamed(d, "d").shardingKey, e);
    });
  }

  test("identifierProblem accepts identifiers and refuses the rest", () => {
    for (const ok of ["a", "_x", "team_id", "T1", "x".repeat(127)]) assert.equal(identifierProblem(ok), undefined, ok);
    assert.equal(identifierProblem(1), "must be a string");
    assert.equal(identifierProblem(undefined), "must be a string");
    assert.equal(identifierProblem(""), "must be 1 to 127 characters");
    for (const bad of ["1a", "a-b", "a b", "a.b", "`a`", "a'", 'a"', "a;", "é", "a\n"]) assert.match(identifierProblem(bad) ?? "", /must be an identifier/, bad);
  });

  test("every clause word is refused at the top level, in any case, and allowed inside brackets or quotes", () => {
    const words = [
      "ALIAS", "ALTER", "ATTACH", "CODEC", "COMMENT", "CREATE", "DEFAULT", "DELETE", "DETACH", "DROP", "ENGINE",
      "FORMAT", "FROM", "GRANT", "INSERT", "INTO", "KILL", "MATERIALIZED", "OPTIMIZE", "ORDER", "PARTITION",
      "PRIMARY", "RENAME", "REVOKE", "SAMPLE", "SELECT", "SETTINGS", "SYSTEM", "TRUNCATE", "TTL", "UNION", "UPDATE",
      "USE", "WITH",
    ];
    for (const w of words) {
      const rule = `must be a single expression: \`${w}\` would start another clause`;
      assert.equal(expressionProblem(`x ${w} y`), rule, w);
      assert.equal(expressionProblem(`f(x) ${w.toLowerCase()}`), rule, w.toLowerCase());
      assert.equal(expressionProblem(`'x'${w}`), rule, `${w} right after a string`);
      assert.equal(expressionProblem(`f(x ${w} y)`), undefined, `${w} inside parentheses`);
      assert.equal(expressionProblem(`[x ${w} y]`), undefined, `${w} inside brackets`);
      assert.equal(expressionProblem(`'${w}' || \`${w}\``), undefined, `${w} quoted`);
      assert.equal(expressionProblem(`${w}_x + x_${w}`), undefined, `${w} as part of a name`);
    }
  });

  test("expressionProblem on non-strings and long text", () => {
    assert.equal(expressionProblem(1), "must be a string");
    assert.equal(expressionProblem(""), "must not be empty");
    assert.equal(expressionProblem("1".repeat(4096)), undefined);
    assert.equal(expressionProblem("1".repeat(4097)), "must be at most 4096 characters");
  });
});

describe("DDL of the PostHog declaration", () => {
  const decl = posthogSchema("posthog");
  const localNamed = (d: Declaration, name: string): LocalTable => {
    const t = d.tables.find((x): x is LocalTable => x.kind === "table" && x.name === name);
    assert.ok(t, `local table ${name}`);
    return t;
  };
  const distributedNamed = (d: Declaration, name: string): DistributedTable => {
    const t = d.tables.find((x): x is DistributedTable => x.kind === "distributed" && x.name === name);
    assert.ok(t, `distributed table ${name}`);
    return t;
  };
  const EVENTS_COLUMNS = [
    "    uuid UUID,",
    "    event String,",
    "    properties String,",
    "    timestamp DateTime,",
    "    team_id Int64,",
    "    distinct_id String,",
    "    elements_chain String,",
    "    created_at DateTime,",
    "    _timestamp DateTime,",
    "    _offset UInt64",
  ];

  test("CREATE of sharded_events", () => {
    assert.equal(
      createLocalTable(localNamed(decl, "sharded_events")),
      [
        "CREATE TABLE IF NOT EXISTS posthog.sharded_events",
        "(",
        ...EVENTS_COLUMNS,
        ")",
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/posthog.sharded_events', '{replica}', _timestamp)",
        "PARTITION BY toYYYYMM(timestamp)",
        "ORDER BY (team_id, toDate(timestamp), event, cityHash64(distinct_id), cityHash64(toString(uuid)))",
        "SAMPLE BY cityHash64(distinct_id)",
      ].join("\n"),
    );
  });

  test("CREATE of person (DEFAULT, noshard path, one-table replica set)", () => {
    assert.equal(
      createLocalTable(localNamed(decl, "person")),
      [
        "CREATE TABLE IF NOT EXISTS posthog.person",
        "(",
        "    id UUID,",
        "    created_at DateTime,",
        "    team_id Int64,",
        "    properties String,",
        "    is_identified UInt8,",
        "    is_deleted UInt8 DEFAULT 0,",
        "    version UInt64,",
        "    _timestamp DateTime,",
        "    _offset UInt64",
        ")",
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/noshard/posthog.person', '{replica}', version)",
        "ORDER BY (team_id, id)",
      ].join("\n"),
    );
  });

  test("engine of person_distinct_id (CollapsingMergeTree sign)", () => {
    assert.equal(
      engineClause(localNamed(decl, "person_distinct_id")),
      "ReplicatedCollapsingMergeTree('/clickhouse/tables/noshard/posthog.person_distinct_id', '{replica}', _sign)",
    );
  });

  test("Distributed CREATE names the literal database and copies the columns", () => {
    const other = posthogSchema("ph_prod");
    assert.equal(
      createDistributedTable(distributedNamed(other, "events"), "posthog"),
      [
        "CREATE TABLE IF NOT EXISTS ph_prod.events",
        "(",
        ...EVENTS_COLUMNS,
        ")",
        "ENGINE = Distributed(posthog, ph_prod, sharded_events, sipHash64(distinct_id))",
      ].join("\n"),
    );
    assert.doesNotMatch(createDistributedTable(distributedNamed(other, "writable_events"), "c1"), /currentDatabase/);
    assert.match(createDistributedTable(distributedNamed(other, "writable_events"), "c1"), /^CREATE TABLE IF NOT EXISTS ph_prod\.writable_events\n[^]*\nENGINE = Distributed\(c1, ph_prod, sharded_events, sipHash64\(distinct_id\)\)$/);
  });

  test("a non-replicated table with every clause", () => {
    const d = defineSchema({
      tables: [
        table({
          database: "db",
          name: "t",
          columns: [
            { name: "id", type: "UInt64", codec: ["Delta", "ZSTD(1)"] },
            { name: "ts", type: "DateTime", default: { kind: "MATERIALIZED", expression: "now()" } },
            { name: "tag", type: "LowCardinality(String)", comment: "the tag" },
          ],
          engine: { family: "AggregatingMergeTree" },
          replicated: false,
          partitionBy: "toYYYYMM(ts)",
          orderBy: ["id"],
          primaryKey: ["id"],
          sampleBy: "id",
          ttl: "ts + INTERVAL 30 DAY",
          settings: { index_granularity: 8192, storage_policy: "hot_cold" },
        }),
      ],
    });
    assert.equal(
      createLocalTable(localNamed(d, "t")),
      [
        "CREATE TABLE IF NOT EXISTS db.t",
        "(",
        "    id UInt64 CODEC(Delta, ZSTD(1)),",
        "    ts DateTime MATERIALIZED now(),",
        "    tag LowCardinality(String) COMMENT 'the tag'",
        ")",
        "ENGINE = AggregatingMergeTree",
        "PARTITION BY toYYYYMM(ts)",
        "ORDER BY id",
        "PRIMARY KEY id",
        "SAMPLE BY id",
        "TTL ts + INTERVAL 30 DAY",
        "SETTINGS index_granularity = 8192, storage_policy = 'hot_cold'",
      ].join("\n"),
    );
  });

  // A column added to the declaration's raw inputs, as a migration would.
  function addedColumn(column: LocalTableInput["columns"][number]): Column {
    const tables = posthogTables("posthog").map((t) => (t.kind === "table" && t.name === "sharded_events" ? { ...t, columns: [...t.columns, column] } : t));
    const c = localNamed(defineSchema({ tables }), "sharded_events").columns.at(-1);
    assert.ok(c);
    assert.equal(c.name, column.name);
    return c;
  }

  test("ADD COLUMN with AFTER", () => {
    const c = addedColumn({ name: "session_id", type: "String", default: { kind: "DEFAULT", expression: "''" } });
    assert.equal(addColumn("posthog.sharded_events", c, "_offset"), "ALTER TABLE posthog.sharded_events ADD COLUMN session_id String DEFAULT '' AFTER _offset");
    assert.equal(addColumn("posthog.sharded_events", c, undefined), "ALTER TABLE posthog.sharded_events ADD COLUMN session_id String DEFAULT ''");
  });

  test("a comment with ' and \\ goes through stringLiteral", () => {
    const comment = "it's C:\\path\\ and 'quoted' \\' done";
    const c = addedColumn({ name: "note", type: "Nullable(String)", comment, codec: ["ZSTD(3)"] });
    const literal = "'it\\'s C:\\\\path\\\\ and \\'quoted\\' \\\\\\' done'";
    assert.equal(stringLiteral(comment), literal);
    assert.equal(columnDefinition(c), `note Nullable(String) COMMENT ${literal} CODEC(ZSTD(3))`);
    assert.equal(addColumn("posthog.sharded_events", c, "_offset"), `ALTER TABLE posthog.sharded_events ADD COLUMN note Nullable(String) COMMENT ${literal} CODEC(ZSTD(3)) AFTER _offset`);
    assert.equal(commentColumn("posthog.sharded_events", c), `ALTER TABLE posthog.sharded_events COMMENT COLUMN note ${literal}`);
    assert.equal(modifyColumn("posthog.sharded_events", c), "ALTER TABLE posthog.sharded_events MODIFY COLUMN note Nullable(String) CODEC(ZSTD(3))");
    // The literal is one string token: nothing escapes it.
    assert.equal(expressionProblem(literal), undefined);
    assert.equal(normalizeExpression(literal), literal);
  });

  test("stringLiteral escapes quotes and backslashes only", () => {
    assert.equal(stringLiteral(""), "''");
    assert.equal(stringLiteral("plain text"), "'plain text'");
    assert.equal(stringLiteral("'"), "'\\''");
    assert.equal(stringLiteral("\\"), "'\\\\'");
    assert.equal(stringLiteral("\\'"), "'\\\\\\''");
    assert.equal(stringLiteral("x'); DROP TABLE y; --"), "'x\\'); DROP TABLE y; --'");
    for (const s of ["\\", "'", "a\\'b", "';--", "\\\\'"]) assert.equal(expressionProblem(stringLiteral(s)), undefined, s);
  });

  test("quoteName on hostile names", () => {
    assert.equal(quoteName("events"), "events");
    assert.equal(quoteName("_x1"), "_x1");
    assert.equal(quoteName("my table"), "`my table`");
    assert.equal(quoteName("1st"), "`1st`");
    assert.equal(quoteName("a`b"), "`a\\`b`");
    assert.equal(quoteName("a\\b"), "`a\\\\b`");
    assert.equal(quoteName("a\\"), "`a\\\\`", "a trailing backslash cannot escape the closing backtick");
    assert.equal(quoteName("\\`"), "`\\\\\\``");
    assert.equal(quoteName("x`; DROP TABLE y; --"), "`x\\`; DROP TABLE y; --`");
    assert.equal(quoteName("db.t"), "`db.t`");
    for (const n of ["a`b", "a\\", "\\`", "x`; DROP TABLE y; --", "`", "``"]) {
      assert.equal(expressionProblem(quoteName(n)), undefined, `${n} quotes to a single token`);
    }
  });
});

describe("normalizeExpression", () => {
  test("whitespace-insensitive outside strings", () => {
    assert.equal(normalizeExpression("cityHash64( distinct_id )"), "cityHash64(distinct_id)");
    assert.equal(normalizeExpression(" toDate(\ttimestamp)\n"), "toDate(timestamp)");
    assert.equal(normalizeExpression("(a,  b)"), normalizeExpression("(a,b)"));
    assert.equal(normalizeExpression("ts + INTERVAL 1 DAY"), "ts+toIntervalDay(1)", "as current ClickHouse prints it");
    assert.equal(normalizeExpression("ts + INTERVAL 30 days"), normalizeExpression("ts + toIntervalDay(30)"));
    assert.notEqual(normalizeExpression("a + b"), normalizeExpression("a - b"));
  });

  test("preserves whitespace inside strings", () => {
    assert.equal(normalizeExpression("x = 'a  b'"), "x='a  b'");
    assert.notEqual(normalizeExpression("'a b'"), normalizeExpression("'ab'"));
    assert.equal(normalizeExpression("concat( 'it\\'s  ', ' x ' )"), "concat('it\\'s  ',' x ')");
    assert.equal(normalizeExpression("'a'' b' || ' c'"), "'a\\' b'||' c'", "one escape style for a quote");
    assert.equal(normalizeExpression("'a'' b'"), normalizeExpression("'a\\' b'"));
    assert.equal(normalizeExpression('"a  b" + 1'), "a  b+1", "double quotes quote a name in ClickHouse");
  });

  test("treats `name` and name alike", () => {
    assert.equal(normalizeExpression("`team_id`"), "team_id");
    assert.equal(normalizeExpression("cityHash64(`distinct_id`)"), normalizeExpression("cityHash64(distinct_id)"));
    assert.equal(normalizeExpression("(`team_id`, `id`)"), normalizeExpression("(team_id, id)"));
    assert.equal(normalizeExpression("`my  col` + 1"), "my  col+1", "a quoted name keeps its own spaces");
  });

  test("an unterminated string or name is kept to the end", () => {
    assert.equal(normalizeExpression("x = 'a  b"), "x='a  b'");
    assert.equal(normalizeExpression("x + `a  b"), "x+a  b");
  });
});

describe("fixes found by review", () => {
  const refused = (input: object) => assert.throws(() => defineSchema({ tables: [input] }), DeclarationError);
  const base = { kind: "table", database: "db", name: "t", engine: { family: "MergeTree" }, orderBy: ["id"] } as const;
  test("a type is one name and one bracket group: a trailing modifier is refused", () => {
    refused({ ...base, columns: [{ name: "id", type: "Nullable(UInt64) EPHEMERAL (0)" }] });
    refused({ ...base, columns: [{ name: "id", type: "String NOT NULL" }] });
    for (const type of ["Decimal(18, 4)", "Array(Tuple(a String, b UInt8))", "Enum8('a' = 1, 'b)' = 2)", "DateTime('UTC')"]) {
      assert.doesNotThrow(() => defineSchema({ tables: [{ ...base, columns: [{ name: "id", type }] }] }), type);
    }
  });
  test("TTL rule words (TO VOLUME, WHERE, GROUP BY ... SET) are refused", () => {
    for (const ttl of ["d + INTERVAL 1 DAY TO VOLUME 'cold'", "d + INTERVAL 1 DAY WHERE a = 1", "d + INTERVAL 1 DAY GROUP BY a SET b = max(b)"]) {
      refused({ ...base, columns: [{ name: "id", type: "UInt8" }, { name: "d", type: "Date" }], ttl });
    }
  });
  test("ZooKeeper paths with empty, . or .. segments are refused", () => {
    for (const zookeeperPath of ["/clickhouse/../x", "/a/./b", "/a//b", "/a/"]) refused({ ...base, replicated: true, columns: [{ name: "id", type: "UInt8" }], zookeeperPath });
  });
  test("a hostile table name cannot forge a problem line", () => {
    try {
      defineSchema({ tables: [{ ...base, name: "x\ndb.y: name: fine", columns: [{ name: "id", type: "UInt8" }] }] });
      assert.fail("refused");
    } catch (e) {
      assert.ok(e instanceof DeclarationError);
      assert.ok(e.problems.every((p) => !p.includes("\n") && p.startsWith("tables.0: ")), e.problems.join(" | "));
    }
  });
  test("a name with digits next to a clause word is not a clause word", () => {
    assert.equal(expressionProblem("v2from + 1"), undefined);
    assert.match(expressionProblem("x from y") ?? "", /FROM/);
  });
});

test("type aliases are resolved wherever they stand, never inside quotes", () => {
  assert.equal(normalizeType("Nullable(VARCHAR)"), normalizeType("Nullable(String)"));
  assert.equal(normalizeType("AggregateFunction(argMin, Nullable(VARCHAR), DateTime('UTC'))"), normalizeType("AggregateFunction(argMin, Nullable(String), DateTime('UTC'))"));
  assert.equal(normalizeType("Array(Decimal32(2))"), normalizeType("Array(Decimal(9, 2))"));
  assert.notEqual(normalizeType("Enum8('INT' = 1)"), normalizeType("Enum8('Int32' = 1)"), "an enum's names are values, not types");
});

test("an index type is a name and its arguments, nothing more", () => {
  const decl = (type: string, name = "i") => () => defineSchema({ tables: [{ kind: "table", database: "d", name: "t", columns: [{ name: "a", type: "UInt8" }], engine: { family: "MergeTree" }, orderBy: ["a"], indexes: [{ name, expression: "a", type }] }] });
  for (const ok of ["minmax", "set(100)", "bloom_filter(0.01)", "tokenbf_v1(256, 2, 0)"]) assert.doesNotThrow(decl(ok), ok);
  assert.throws(decl("minmax GRANULARITY 3"), /d\.t: indexes\.0\.type: must be an index type/);
  assert.throws(decl("set(1); DROP TABLE x"), /indexes\.0\.type: must be an index type/);
  assert.throws(decl("set(1) -- x"), /indexes\.0\.type: must be an index type/);
  assert.throws(decl("bloom_filter(0.01))"), /indexes\.0\.type/);
  assert.throws(() => defineSchema({ tables: [{ kind: "table", database: "d", name: "t", columns: [{ name: "a", type: "UInt8" }], engine: { family: "MergeTree" }, orderBy: ["a"], indexes: [{ name: "i", expression: "a", type: "minmax" }, { name: "i", expression: "a", type: "set(1)" }] }] }), /indexes\.1\.name: duplicates indexes\.0\.name/);
});
