// Malformed configs and hostile inputs across the four surfaces a user can reach: the stack config (through
// the real CLI: validate, up and render), the CLI's flags, the schema declaration (defineSchema, and
// `schema plan --declaration` against a stack that is not running) and the app (its capture payloads, read
// queries and environment). One table: each row is the input, its surface, the field its refusal must name,
// and, after the refusal, a check that nothing was started, written or applied.
//
// These rows are new: the bad configs of config.test.ts, the declarations of schema-declare.test.ts and
// the API inputs of the app-*.test.ts files are not repeated here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HttpError } from "../../app/errors.ts";
import { parseEnv } from "../../app/env.ts";
import { parsePayload, validateEvents } from "../../app/capture/payload.ts";
import { parseBreakdown, parseTrends } from "../../app/queries.ts";
import { DeclarationError, defineSchema } from "../../schema/declare.ts";
import { fixturePath } from "../support/goldens.ts";
import { processesIn } from "../support/stack.ts";

const bin = fileURLToPath(new URL("../../cli/bin.mjs", import.meta.url));
const declareModule = fileURLToPath(new URL("../../schema/declare.ts", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "chstack-bad-input-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const STACK = "bi";
/** The port range of the rows' stacks: nothing may start listening in it. */
const PORT_BASE = 30200;
const PORT_RANGE: readonly [number, number] = [PORT_BASE, PORT_BASE + 200];

// ---- the after-checks ------------------------------------------------------------------------------

/** Ports in LISTEN state (IPv4 and IPv6), from /proc/net. */
function listeningPorts(): Set<number> {
  const out = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A") out.add(parseInt(cols[1]!.split(":").pop()!, 16));
    }
  }
  return out;
}
const listeningInRange = () => [...listeningPorts()].filter((p) => p >= PORT_RANGE[0] && p < PORT_RANGE[1]).sort();

/** Every file under `dir`, relative. */
function filesUnder(dir: string, rel = ""): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(rel, e.name)) : [join(rel, e.name)],
  );
}

interface Project {
  readonly cwd: string;
  /** Files present before the command ran (the stack file, a declaration module, seeded credentials). */
  readonly before: readonly string[];
  readonly ports: readonly number[];
}

/** A fresh project directory holding `Pulumi.bi.yaml` and any extra files. */
function project(yaml: string, extra: Record<string, string> = {}, credentials = false): Project {
  const cwd = mkdtempSync(join(scratch, "p-"));
  writeFileSync(join(cwd, `Pulumi.${STACK}.yaml`), yaml);
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(join(cwd, name, ".."), { recursive: true });
    writeFileSync(join(cwd, name), text);
  }
  if (credentials) {
    // A stack that was set up once and is not running: its credentials exist, no server does.
    mkdirSync(join(cwd, ".chstack", STACK), { recursive: true });
    copyFileSync(fixturePath("golden-secrets.json"), join(cwd, ".chstack", STACK, "secrets.json"));
    chmodSync(join(cwd, ".chstack", STACK, "secrets.json"), 0o600);
  }
  return { cwd, before: filesUnder(cwd).sort(), ports: listeningInRange() };
}

function chstack(cwd: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Nothing started, written or applied: no state, no new file anywhere in the project, no process, no port. */
function nothingHappened(p: Project): void {
  assert.ok(!existsSync(join(p.cwd, ".chstack", STACK, "state.json")), "no state.json was written");
  assert.deepEqual(filesUnder(p.cwd).sort(), p.before, "no file was written in the project (nor in --out)");
  assert.deepEqual(processesIn(p.cwd), [], "no process runs in the project directory");
  const now = listeningInRange();
  const fresh = now.filter((port) => !p.ports.includes(port));
  assert.deepEqual(fresh, [], `no new listening port in ${PORT_RANGE[0]}..${PORT_RANGE[1] - 1}`);
}

// ---- the rows --------------------------------------------------------------------------------------

type Surface = "stack config" | "CLI flags" | "schema declaration" | "app API";

interface Row {
  readonly surface: Surface;
  readonly what: string;
  /** The field the refusal must name (a config path, a flag, `<db>.<table>: <field>`, a query or env field). */
  readonly field: string;
  /** Runs the input; returns the refusal's text. Its own assertions check the exit code / error type. */
  readonly run: () => { message: string; after: () => void };
  /** Further fragments the message must hold. */
  readonly expect?: readonly string[];
}

/** The stack file with the row's `chstack:` entries, in the rows' port range unless the row sets loopback. */
function stackFile(entries: string): string {
  const loopback = entries.includes("chstack:loopback") ? "" : `  chstack:loopback: { portBase: ${PORT_BASE} }\n`;
  return `config:\n${loopback}${entries.split("\n").filter(Boolean).map((l) => `  ${l}`).join("\n")}\n`;
}

/** A bad stack config through the real CLI: exit 1, refused before anything started. */
function configRow(what: string, command: "validate" | "up" | "render", entries: string, field: string, expect: string[] = []): Row {
  return {
    surface: "stack config",
    what: `${what} (${command})`,
    field,
    expect,
    run: () => {
      const p = project(stackFile(entries));
      const args =
        command === "render" ? ["render", "loopback", "--out", join(p.cwd, "out"), "--stack", STACK]
        : command === "up" ? ["up", "--stack", STACK]
        : ["validate", "--stack", STACK];
      const r = chstack(p.cwd, args);
      assert.equal(r.code, 1, `exit 1 for a bad config\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`Pulumi\\.${STACK}\\.yaml: \\d+ problems?:`));
      return { message: r.stderr, after: () => nothingHappened(p) };
    },
  };
}

/** A bad command line: exit 64 (or 1 for a bad stack name, which is checked as the config is read). */
function flagRow(what: string, args: string[], field: string, code = 64, expect: string[] = []): Row {
  return {
    surface: "CLI flags",
    what,
    field,
    expect,
    run: () => {
      const p = project(stackFile(""));
      const r = chstack(p.cwd, args.includes("--stack") ? args : [...args, "--stack", STACK]);
      assert.equal(r.code, code, `exit ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return { message: r.stderr, after: () => nothingHappened(p) };
    },
  };
}

/** A hostile table declaration given to defineSchema: a DeclarationError, nothing applied. */
function declarationRow(what: string, tables: unknown[], field: string, expect: string[] = []): Row {
  return {
    surface: "schema declaration",
    what,
    field,
    expect,
    run: () => {
      let caught: unknown;
      try {
        defineSchema({ tables } as never);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof DeclarationError, `expected a DeclarationError, got ${String(caught)}`);
      assert.equal(caught.code, "DECLARATION_INVALID");
      assert.match(caught.message, /nothing was applied/);
      return { message: caught.problems.join("\n"), after: () => {} };
    },
  };
}

/** A declaration module given to `schema plan` for a stack with credentials and no running server. */
function planRow(what: string, module: string | undefined, field: string, expect: string[] = [], entries = "", credentials = true): Row {
  return {
    surface: "schema declaration",
    what: `${what} (schema plan, stack ${credentials ? "not running" : "never run"})`,
    field,
    expect,
    run: () => {
      const extra: Record<string, string> = module === undefined ? {} : { "decl/bad.mts": module };
      const p = project(stackFile(entries), extra, credentials);
      const args = ["schema", "plan", "--stack", STACK, ...(entries.includes("declaration") ? [] : ["--declaration", "decl/bad.mts"])];
      const r = chstack(p.cwd, args);
      assert.equal(r.code, 1, `exit 1\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /ECONNREFUSED|cannot reach|not running/i, "refused before contacting a server");
      return { message: r.stderr, after: () => nothingHappened(p) };
    },
  };
}

/** A module declaring one table, with `over` merged into it. */
const module = (over: string) =>
  `import { defineSchema } from ${JSON.stringify(declareModule)};\n` +
  `export default (database: string) => defineSchema({ tables: [{ kind: "table", database, name: "t", ` +
  `columns: [{ name: "id", type: "UInt64" }, { name: "ts", type: "DateTime" }], engine: { family: "MergeTree" }, orderBy: ["id"], ${over} }] } as never);\n`;

/** An app refusal: an HttpError with `status`, and the input left as it was. */
function appRow(what: string, field: string, input: unknown, fn: (input: unknown) => unknown, status = 400, expect: string[] = []): Row {
  return {
    surface: "app API",
    what,
    field,
    expect,
    run: () => {
      const copy = structuredClone(input);
      let caught: unknown;
      try {
        fn(input);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof HttpError, `expected an HttpError, got ${String(caught)}`);
      assert.equal(caught.status, status);
      const message = [caught.message, ...(caught.issues ?? [])].join("\n");
      return { message, after: () => assert.deepEqual(input, copy, "the input was not changed") };
    },
  };
}

const capture = (json: string) => (_: unknown) => validateEvents(parsePayload(json));
const NOW = new Date("2026-01-01T00:00:00Z");
const trends = (q: unknown) => parseTrends(q, 1, NOW);
const breakdown = (q: unknown) => parseBreakdown(q, 1, NOW);

/** The app's environment with one hostile variable: refused, naming it, never echoing a secret. */
function envRow(what: string, vars: Record<string, string>, field: string, expect: string[] = [], secret?: string): Row {
  return {
    surface: "app API",
    what: `env: ${what}`,
    field,
    expect,
    run: () => {
      const source = { CLICKHOUSE_URL: "http://127.0.0.1:8123", DATABASE_URL: "postgres://app:pw@127.0.0.1:5432/posthog", ...vars };
      const r = parseEnv(source);
      assert.equal(r.ok, false, "refused");
      const message = r.ok ? "" : r.problems.join("\n");
      return { message, after: () => { if (secret) assert.ok(!message.includes(secret), "the secret is not echoed"); } };
    },
  };
}

const CLUSTER_RULE = "must be an identifier";
const NAME_RULE = "must be a name of letters, digits and _";

const rows: readonly Row[] = [
  // ---- stack config, through the CLI ----
  configRow("shards 100000", "validate", "chstack:clickhouse: { shards: 100000 }", "clickhouse.shards", ["got 100000"]),
  configRow("shards as fullwidth digit ２", "validate", "chstack:clickhouse: { shards: ２ }", "clickhouse.shards", ['got "２"']),
  configRow("shards true", "render", "chstack:clickhouse: { shards: true }", "clickhouse.shards", ["got true"]),
  configRow("a ClickHouse volume of 4Ei", "validate", "chstack:clickhouse: { storage: { size: 4Ei } }", "clickhouse.storage.size", ['must be at most 1Pi, got "4Ei"']),
  configRow("a ClickHouse memory limit of 100Pi", "up", "chstack:clickhouse: { resources: { limits: { memory: 100Pi } } }", "clickhouse.resources.limits.memory", ['must be at most 64Ti, got "100Pi"']),
  configRow("a ZooKeeper cpu request of 1000000", "validate", "chstack:coordination: { resources: { requests: { cpu: 1000000 } } }", "coordination.resources.requests.cpu", ['must be at most 1024, got "1000000"']),
  configRow("replicas null", "validate", "chstack:clickhouse: { replicas: ~ }", "clickhouse.replicas", ["got null"]),
  configRow("clickhouse as a list", "up", "chstack:clickhouse: [ shards, 2 ]", "clickhouse", ["must be a map, got a list"]),
  configRow("cluster name with a Cyrillic о", "up", "chstack:clickhouse: { cluster: posthоg }", "clickhouse.cluster", [CLUSTER_RULE, 'got "posthоg"']),
  configRow("cluster name with a backtick", "validate", "chstack:clickhouse: { cluster: 'post`hog' }", "clickhouse.cluster", [CLUSTER_RULE]),
  configRow("cluster name with a semicolon", "render", "chstack:clickhouse: { cluster: 'posthog;drop' }", "clickhouse.cluster", [CLUSTER_RULE]),
  configRow("cluster name with a quote", "validate", `chstack:clickhouse: { cluster: "a'b" }`, "clickhouse.cluster", [CLUSTER_RULE]),
  configRow("cluster name ../etc", "up", "chstack:clickhouse: { cluster: ../etc }", "clickhouse.cluster", [CLUSTER_RULE, 'got "../etc"']),
  configRow("cluster name with &", "render", "chstack:clickhouse: { cluster: 'pos&thog' }", "clickhouse.cluster", [CLUSTER_RULE]),
  configRow("one-shard cluster with a quote", "validate", `chstack:clickhouse: { singleShardCluster: "one'shard" }`, "clickhouse.singleShardCluster", [CLUSTER_RULE]),
  configRow("database with a semicolon", "up", "chstack:clickhouse: { database: 'db;DROP' }", "clickhouse.database", [NAME_RULE]),
  configRow("database as an XML tag", "render", "chstack:clickhouse: { database: '<db>' }", "clickhouse.database", [NAME_RULE, 'got "<db>"']),
  configRow("writer user name with &", "render", "chstack:clickhouse: { users: { writer: { name: 'app&co' } } }", "clickhouse.users.writer.name", [NAME_RULE]),
  configRow("readonly user name with ]]>", "validate", "chstack:clickhouse: { users: { readonly: { name: 'a]]>b' } } }", "clickhouse.users.readonly.name", [NAME_RULE]),
  configRow("ZooKeeper ensemble of 3.5", "validate", "chstack:coordination: { size: 3.5 }", "coordination.size", ["got 3.5"]),
  configRow("ZooKeeper ensemble of 2 on up", "up", "chstack:coordination: { size: 2 }", "coordination.size", ["got 2"]),
  configRow("Keeper ensemble of 4", "render", "chstack:coordination: { kind: keeper, size: 4 }", "coordination.size", ["got 4"]),
  configRow("ZooKeeper ensemble as a string", "validate", "chstack:coordination: { size: '3' }", "coordination.size", ['got "3"']),
  configRow("ZooKeeper heap of 99999999 MiB", "up", "chstack:coordination: { heapMb: 99999999 }", "coordination.heapMb", ["got 99999999"]),
  configRow("portBase 70000", "up", "chstack:loopback: { portBase: 70000 }", "loopback.portBase", ["got 70000"]),
  configRow("portBase as a string", "render", "chstack:loopback: { portBase: '33700' }", "loopback.portBase", ['got "33700"']),
  configRow("portBase -1", "validate", "chstack:loopback: { portBase: -1 }", "loopback.portBase", ["got -1"]),
  configRow("tcp and interserver on one port", "up", "chstack:clickhouse: { ports: { tcp: 9009, interserver: 9009 } }", "clickhouse.ports.interserver", ["must differ from tcp"]),
  configRow("ZooKeeper client on the peer port", "render", "chstack:coordination: { ports: { client: 2888 } }", "coordination.ports.peer", ["must differ from client"]),
  configRow("postgres port 5432.5", "validate", "chstack:postgres: { port: 5432.5 }", "postgres.port", ["got 5432.5"]),
  configRow("postgres database with a semicolon", "up", "chstack:postgres: { database: 'posthog;drop' }", "postgres.database", [NAME_RULE]),
  configRow("postgres user with a quote", "render", `chstack:postgres: { user: "o'brien" }`, "postgres.user", [NAME_RULE]),
  configRow("app replicas as a string", "validate", "chstack:app: { replicas: '3' }", "app.replicas", ['got "3"']),
  configRow("app replicas 1e6", "up", "chstack:app: { replicas: 1e6 }", "app.replicas", ["got 1000000"]),
  configRow("schema.declaration with a shell tail", "up", "chstack:schema: { declaration: 'schema/x.ts; rm -rf' }", "schema.declaration", ["must be a relative path"]),
  configRow("namespace with a Cyrillic а", "validate", "chstack:kubernetes: { namespace: 'аnalytics' }", "kubernetes.namespace", ["must be a DNS-1123 label"]),
  configRow("label value with &", "render", "chstack:kubernetes: { labels: { team: 'a&b' } }", "kubernetes.labels.team", ["must be a Kubernetes label value"]),

  // ---- CLI flags ----
  flagRow("load --events abc", ["load", "--events", "abc"], "--events", 64, ["must be an integer from 1 to 1000000000"]),
  flagRow("load --events -5", ["load", "--events", "-5"], "--events"),
  flagRow("load --events 1e99", ["load", "--events", "1e99"], "--events"),
  flagRow("load --events in fullwidth digits", ["load", "--events", "１０"], "--events"),
  flagRow("load --batch 100001", ["load", "--events", "10", "--batch", "100001"], "--batch", 64, ["must be an integer from 1 to 100000"]),
  flagRow("load --concurrency 0", ["load", "--events", "10", "--concurrency", "0"], "--concurrency"),
  flagRow("load --seed 2^32", ["load", "--events", "10", "--seed", "4294967296"], "--seed"),
  flagRow("load --rate -1", ["load", "--events", "10", "--rate", "-1"], "--rate"),
  flagRow("status --timeout -1", ["status", "--timeout", "-1"], "--timeout", 64, ["must be a positive number of seconds"]),
  flagRow("status --watch abc", ["status", "--watch", "abc"], "--watch"),
  flagRow("up --allow drop-everything", ["up", "--allow", "drop-everything"], "--allow", 64, ["drop-shard"]),
  flagRow("schema apply --allow ../x", ["schema", "apply", "--allow", "../x"], "--allow"),
  flagRow("compare --format CSV", ["compare", "--format", "CSV"], "--format"),
  flagRow("compare --browser sql", ["compare", "--browser", "sql"], "--browser"),
  flagRow("up --stack ../etc", ["up", "--stack", "../etc"], "--stack", 1, ["stack name must be letters"]),
  flagRow("status --stack with a Cyrillic о", ["status", "--stack", "pоsthog"], "--stack", 1, ['got "pоsthog"']),
  flagRow("render --stack with a semicolon", ["render", "loopback", "--out", "out", "--stack", "a;b"], "--stack", 1),

  // ---- schema declaration ----
  declarationRow("database with a semicolon", [{ kind: "table", database: "db;DROP", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "tables.0: database"),
  declarationRow("database with a Cyrillic Ь", [{ kind: "table", database: "dЬ", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "tables.0: database"),
  declarationRow("database ../etc", [{ kind: "table", database: "../etc", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "tables.0: database"),
  declarationRow("table name with a Cyrillic а", [{ kind: "table", database: "db", name: "tаble", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "tables.0: name"),
  declarationRow("column type with ; DROP", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64; DROP TABLE x" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "db.t: columns.0.type", ["`;` is not allowed"]),
  declarationRow("engine family with a quote", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree'" }, orderBy: ["id"] }], "db.t: engine.family"),
  declarationRow("partition key that closes its bracket", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"], partitionBy: "toYYYYMM(id)); DROP TABLE x; --" }], "db.t: partitionBy"),
  declarationRow("Distributed over ../t", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }, { kind: "distributed", database: "db", name: "d", local: "../t", shardingKey: "rand()" }], "db.d: local"),
  declarationRow("order key with an unterminated backtick", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id`"] }], "db.t: orderBy.0"),
  declarationRow("table setting with ; DROP", [{ kind: "table", database: "db", name: "t", columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"], settings: { index_granularity: "8192; DROP" } }], "db.t: settings.index_granularity"),
  declarationRow("table name of 100000 characters", [{ kind: "table", database: "db", name: "t".repeat(100_000), columns: [{ name: "id", type: "UInt64" }], engine: { family: "MergeTree" }, orderBy: ["id"] }], "tables.0: name", ["must be 1 to 127 characters"]),
  planRow("table name with ; DROP", module(`name: "t; DROP TABLE x"`), "tables.0: name"),
  planRow("table name with ; DROP", module(`name: "t; DROP TABLE x"`), "tables.0: name", [], "", false),
  planRow("column type with a backtick", module(`columns: [{ name: "id", type: "UInt64\`" }]`), "posthog.t: columns.0.type", ["unterminated quoted name"]),
  planRow("schema.declaration outside the project", undefined, "schema.declaration", ["must stay inside the project"], "chstack:schema: { declaration: ../nosuch.mts }"),

  // ---- app API ----
  appRow("batch as a string", "batch", {}, capture('{"batch":"x"}'), 400, ["expected an array, got string"]),
  appRow("api_key as a number", "api_key", {}, capture('{"batch":[],"api_key":5}')),
  appRow("distinct_id as an object", "distinct_id", {}, capture('{"event":"e","distinct_id":{"a":1}}')),
  appRow("uuid with '; DROP TABLE", "uuid", {}, capture(`{"event":"e","distinct_id":"d","uuid":"'; DROP TABLE events; --"}`), 400, ["must be a UUID"]),
  appRow("timestamp in fullwidth digits", "timestamp", {}, capture('{"event":"e","distinct_id":"d","timestamp":"２０２６-01-01"}')),
  appRow("timestamp in the year 9999", "timestamp", {}, capture('{"event":"e","distinct_id":"d","timestamp":"9999-01-01T00:00:00Z"}')),
  appRow("offset -1", "offset", {}, capture('{"event":"e","distinct_id":"d","offset":-1}')),
  appRow("$set as an XML string", "$set", {}, capture('{"event":"e","distinct_id":"d","$set":"<x>&"}')),
  appRow("an event name of 201 characters in a batch", "batch.0.event", {}, capture(`{"batch":[{"event":"${"x".repeat(201)}","distinct_id":"d"}]}`), 400, ["must be at most 200 characters"]),
  appRow("a batch event's token as a number", "batch.0.token", {}, capture('{"batch":[{"event":"e","distinct_id":"d","token":1}]}')),
  appRow("trends team_id in fullwidth digits", "team_id", { event: "e", team_id: "１" }, trends),
  appRow("trends team_id 1e3", "team_id", { event: "e", team_id: "1e3" }, trends),
  appRow("trends team_id past MAX_SAFE_INTEGER", "team_id", { event: "e", team_id: "99999999999999999" }, trends),
  appRow("trends interval week", "interval", { event: "e", interval: "week" }, trends),
  appRow("trends event given twice", "event", { event: ["a", "b"] }, trends, 400, ["given more than once"]),
  appRow("trends event with a lone surrogate", "event", { event: "\ud800" }, trends, 400, ["must be valid Unicode"]),
  appRow("trends from month 13", "from", { event: "e", from: "2026-13-01" }, trends),
  appRow("trends: hours since 1970 (absurd range)", "to", { event: "e", from: "1970-01-01", interval: "hour" }, trends, 400, ["more than 10000 buckets"]),
  appRow("breakdown limit 1001", "limit", { event: "e", property: "p", limit: "1001" }, breakdown),
  appRow("breakdown limit 0x10", "limit", { event: "e", property: "p", limit: "0x10" }, breakdown),
  appRow("breakdown empty property", "property", { event: "e", property: "" }, breakdown, 400, ["must not be empty"]),
  envRow("PORT in fullwidth digits", { PORT: "８０００" }, "PORT"),
  envRow("PORT 70000", { PORT: "70000" }, "PORT", ["must be an integer from 1 to 65535"]),
  envRow("database with ;DROP", { CLICKHOUSE_DATABASE: "posthog;DROP" }, "CLICKHOUSE_DATABASE", ["must be a plain identifier"]),
  envRow("database with a Cyrillic о", { CLICKHOUSE_DATABASE: "pоsthog" }, "CLICKHOUSE_DATABASE"),
  envRow("ClickHouse URL with credentials", { CLICKHOUSE_URL: "http://u:s3cr3t-pw@h:8123" }, "CLICKHOUSE_URL", ["must not hold credentials"], "s3cr3t-pw"),
  envRow("ClickHouse URL file:///etc/passwd", { CLICKHOUSE_URL: "file:///etc/passwd" }, "CLICKHOUSE_URL", ["is not an http(s) URL"]),
  envRow("ClickHouse URL with an XML query", { CLICKHOUSE_URL: "http://h:8123/?x=<a>" }, "CLICKHOUSE_URL", ["must have no query or fragment"]),
  envRow("DATABASE_URL of mysql", { DATABASE_URL: "mysql://u:s3cr3t-pw@h/db" }, "DATABASE_URL", ["postgres://"], "s3cr3t-pw"),
  envRow("APP_BATCH_MAX_EVENTS 1e6", { APP_BATCH_MAX_EVENTS: "1e6" }, "APP_BATCH_MAX_EVENTS"),
  envRow("a batch larger than the buffer", { APP_BATCH_MAX_EVENTS: "500000", APP_BUFFER_MAX_EVENTS: "1000" }, "APP_BATCH_MAX_EVENTS", ["must not exceed APP_BUFFER_MAX_EVENTS"]),
  envRow("a body limit of 99999999999999 bytes", { APP_BODY_LIMIT_BYTES: "99999999999999" }, "APP_BODY_LIMIT_BYTES"),
  envRow("a bootstrap token with spaces", { APP_BOOTSTRAP_TEAM_TOKEN: "has a space <&> in it" }, "APP_BOOTSTRAP_TEAM_TOKEN", ["no spaces"], "has a space <&> in it"),
  envRow("LOG_LEVEL verbose", { LOG_LEVEL: "verbose" }, "LOG_LEVEL"),
  envRow("APP_QUERY_BINDING sql;", { APP_QUERY_BINDING: "sql;" }, "APP_QUERY_BINDING"),
];

describe("bad input across the stack config, the CLI flags, the schema declaration and the app API", () => {
  test("the table has at least 50 rows, on every surface", () => {
    assert.ok(rows.length >= 50, `${rows.length} rows`);
    const surfaces = new Set(rows.map((r) => r.surface));
    assert.deepEqual([...surfaces].sort(), ["CLI flags", "app API", "schema declaration", "stack config"]);
    const names = rows.map((r) => `${r.surface}: ${r.what}`);
    assert.equal(new Set(names).size, names.length, "row names are unique");
  });

  for (const row of rows) {
    test(`${row.surface}: ${row.what} is refused, naming ${row.field}`, () => {
      const { message, after: check } = row.run();
      assert.ok(message.includes(row.field), `the message names ${row.field}:\n${message}`);
      for (const f of row.expect ?? []) assert.ok(message.includes(f), `the message holds ${JSON.stringify(f)}:\n${message}`);
      check();
    });
  }
});
