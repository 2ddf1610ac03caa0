// The stack config: what a `Pulumi.<stack>.yaml` may hold under `chstack:`, how every refusal reads
// (`<field.path>: <rule>, got <value>`, all problems at once, secrets never echoed), the defaults, and
// redaction. Each bad config is a whole stack-file text, parsed the way the CLI parses it.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseStackConfig, parseStackFile } from "../../infra/config/load.ts";
import { ConfigError } from "../../infra/config/errors.ts";
import { redactSecrets } from "../../infra/config/redact.ts";
import type { StackConfig } from "../../infra/config/schema.ts";

const SOURCE = "Pulumi.test.yaml";
const SECRET = "hunter2-very-secret";

// ---- helpers ---------------------------------------------------------------------------------------

/** A stack file with one `chstack:<key>` entry, its value written as YAML (usually a flow map). */
const chstack = (key: string, value: string) => `config:\n  chstack:${key}: ${value}\n`;

/** A stack file with several `chstack:<key>` entries. */
const stackFile = (entries: Record<string, string>) =>
  `config:\n${Object.entries(entries).map(([k, v]) => `  chstack:${k}: ${v}\n`).join("")}`;

/** The ConfigError a stack-file text must be refused with (any other outcome fails the test). */
function refusal(yaml: string): ConfigError {
  let error: unknown;
  try {
    parseStackFile(yaml, SOURCE);
  } catch (e) {
    error = e;
  }
  if (error === undefined) assert.fail(`expected a ConfigError, but the config was accepted:\n${yaml}`);
  if (!(error instanceof ConfigError)) {
    assert.fail(`expected a ConfigError, got ${String(error)}\n${(error as Error | undefined)?.stack ?? ""}`);
  }
  assert.equal(error.source, SOURCE);
  assert.ok(error.problems.length > 0, "a ConfigError must carry at least one problem");
  return error;
}

const problemsOf = (yaml: string): readonly string[] => refusal(yaml).problems;

/** Asserts one problem line starts with `<path>: ` and contains every fragment. Returns that line. */
function expectProblemIn(problems: readonly string[], path: string, fragments: readonly string[]): string {
  const show = `\nproblems:\n  ${problems.join("\n  ")}`;
  const atPath = problems.filter((p) => p.startsWith(`${path}: `));
  assert.ok(atPath.length > 0, `no problem at "${path}"${show}`);
  const line = atPath.find((p) => fragments.every((f) => p.includes(f)));
  assert.ok(line, `no problem at "${path}" contains all of ${JSON.stringify(fragments)}${show}`);
  return line;
}

const expectProblem = (yaml: string, path: string, ...fragments: string[]) =>
  expectProblemIn(problemsOf(yaml), path, fragments);

const parse = (yaml: string) => parseStackFile(yaml, SOURCE);

// The rules, worded as fields.ts/schema.ts word them (the contract of the messages).
const CLUSTER_RULE = "must be an identifier: a lowercase letter, then lowercase letters, digits or _ (not ending in _)";
const ODD_ENSEMBLE = "must be 1, 3 or 5 (an odd ensemble keeps a quorum)";
const PORT_RULE = "must be an integer from 1 to 65535";
const PLAINTEXT = "must be a Pulumi secret";
const APP = "image: 'ghcr.io/acme/app:1.2'";

// ---- 1. bad configs, one problem each ------------------------------------------------------------

interface BadCase {
  readonly name: string;
  readonly yaml: string;
  /** The field path the problem must start with (followed by `: `). */
  readonly path: string;
  /** Fragments the problem line must contain: the rule and, for type/range rules, `got <value>`. */
  readonly expect: readonly string[];
}

// A cluster name of 44 characters: `chi-<name>-0-0` is 52 (the StatefulSet limit); `chi-<name>-99-2` is 53.
const CLUSTER_44 = "analytics_cluster_for_the_data_platform_team";

const badCases: readonly BadCase[] = [
  // numbers
  { name: "fractional shard count", yaml: chstack("clickhouse", "{ shards: 2.5 }"), path: "clickhouse.shards", expect: ["must be an integer from 1 to 256", "got 2.5"] },
  { name: "replicas as a word", yaml: chstack("clickhouse", "{ replicas: two }"), path: "clickhouse.replicas", expect: ["must be an integer from 1 to 16", 'got "two"'] },
  { name: "shards as a quoted number (no coercion)", yaml: chstack("clickhouse", "{ shards: '2' }"), path: "clickhouse.shards", expect: ["must be an integer from 1 to 256", 'got "2"'] },
  { name: "zero shards", yaml: chstack("clickhouse", "{ shards: 0 }"), path: "clickhouse.shards", expect: ["must be an integer from 1 to 256", "got 0"] },
  { name: "257 shards", yaml: chstack("clickhouse", "{ shards: 257 }"), path: "clickhouse.shards", expect: ["must be an integer from 1 to 256", "got 257"] },
  { name: "zero replicas", yaml: chstack("clickhouse", "{ replicas: 0 }"), path: "clickhouse.replicas", expect: ["must be an integer from 1 to 16", "got 0"] },
  { name: "17 replicas", yaml: chstack("clickhouse", "{ replicas: 17 }"), path: "clickhouse.replicas", expect: ["must be an integer from 1 to 16", "got 17"] },
  { name: "ZooKeeper heap below 64 MiB", yaml: chstack("coordination", "{ heapMb: 10 }"), path: "coordination.heapMb", expect: ["must be an integer from 64 to 65536", "got 10"] },
  { name: "app replicas over 100", yaml: chstack("app", `{ ${APP}, replicas: 101 }`), path: "app.replicas", expect: ["must be an integer from 1 to 100", "got 101"] },
  { name: "schema.declaration as an absolute path", yaml: chstack("schema", "{ declaration: /etc/passwd.ts }"), path: "schema.declaration", expect: ["must be a relative path to a .ts, .mts, .js or .mjs module"] },
  { name: "schema.declaration not a module", yaml: chstack("schema", "{ declaration: schema/tables.txt }"), path: "schema.declaration", expect: ["must be a relative path"] },
  { name: "app replicas 0", yaml: chstack("app", `{ ${APP}, replicas: 0 }`), path: "app.replicas", expect: ["must be an integer from 1 to 100", "got 0"] },

  // coordination
  { name: "ZooKeeper ensemble of 2", yaml: chstack("coordination", "{ size: 2 }"), path: "coordination.size", expect: [ODD_ENSEMBLE, "got 2"] },
  { name: "ZooKeeper ensemble of 4", yaml: chstack("coordination", "{ kind: zookeeper, size: 4 }"), path: "coordination.size", expect: [ODD_ENSEMBLE, "got 4"] },
  { name: "Keeper ensemble of 2", yaml: chstack("coordination", "{ kind: keeper, size: 2 }"), path: "coordination.size", expect: [ODD_ENSEMBLE, "got 2"] },
  { name: "unknown coordination kind", yaml: chstack("coordination", "{ kind: etcd }"), path: "coordination.kind", expect: ['must have kind "zookeeper" or "keeper"', 'got "etcd"'] },
  { name: "coordination as a list", yaml: chstack("coordination", "[zookeeper]"), path: "coordination", expect: ['must have kind "zookeeper" or "keeper"', "got a list"] },

  // cluster names
  { name: "cluster name in uppercase", yaml: chstack("clickhouse", "{ cluster: Posthog }"), path: "clickhouse.cluster", expect: [CLUSTER_RULE, 'got "Posthog"'] },
  { name: "cluster name with a leading digit", yaml: chstack("clickhouse", "{ cluster: 1posthog }"), path: "clickhouse.cluster", expect: [CLUSTER_RULE, 'got "1posthog"'] },
  { name: "cluster name with a dash", yaml: chstack("clickhouse", "{ cluster: post-hog }"), path: "clickhouse.cluster", expect: [CLUSTER_RULE, 'got "post-hog"'] },
  { name: "cluster name with a trailing underscore", yaml: chstack("clickhouse", "{ cluster: posthog_ }"), path: "clickhouse.cluster", expect: [CLUSTER_RULE, 'got "posthog_"'] },
  { name: "empty cluster name", yaml: chstack("clickhouse", "{ cluster: '' }"), path: "clickhouse.cluster", expect: [CLUSTER_RULE, 'got ""'] },
  { name: "cluster name of 64 characters", yaml: chstack("clickhouse", `{ cluster: ${"a".repeat(64)} }`), path: "clickhouse.cluster", expect: ["at most 63 characters"] },
  { name: "cluster name as a number", yaml: chstack("clickhouse", "{ cluster: 5 }"), path: "clickhouse.cluster", expect: ["must be an identifier", "got 5"] },

  // unknown keys, at several depths
  { name: "misspelt top-level key", yaml: chstack("clickhuose", "{ shards: 2 }"), path: "clickhuose", expect: ["unknown key", 'did you mean "clickhouse"?'] },
  { name: "misspelt key in clickhouse", yaml: chstack("clickhouse", "{ shard: 2 }"), path: "clickhouse.shard", expect: ["unknown key", 'did you mean "shards"?'] },
  { name: "misspelt key in coordination", yaml: chstack("coordination", "{ sise: 3 }"), path: "coordination.sise", expect: ["unknown key", 'did you mean "size"?'] },
  { name: "ZooKeeper-only port on Keeper", yaml: chstack("coordination", "{ kind: keeper, ports: { election: 9235 } }"), path: "coordination.ports.election", expect: ["unknown key", "expected one of: client, peer"] },
  { name: "ZooKeeper-only heapMb on Keeper", yaml: chstack("coordination", "{ kind: keeper, heapMb: 512 }"), path: "coordination.heapMb", expect: ["unknown key"] },
  { name: "misspelt key in postgres", yaml: chstack("postgres", "{ databse: posthog }"), path: "postgres.databse", expect: ["unknown key", 'did you mean "database"?'] },
  { name: "in-stack key on external postgres", yaml: chstack("postgres", "{ mode: external, url: { secure: 'v1:x' }, image: 'postgres:16' }"), path: "postgres.image", expect: ["unknown key", "expected one of: mode, url"] },
  { name: "misspelt key in kubernetes", yaml: chstack("kubernetes", "{ namespce: analytics }"), path: "kubernetes.namespce", expect: ["unknown key", 'did you mean "namespace"?'] },
  { name: "unknown key in a user", yaml: chstack("clickhouse", "{ users: { admin: { nam: boss } } }"), path: "clickhouse.users.admin.nam", expect: ["unknown key", 'did you mean "name"?'] },

  // settings
  { name: "misspelt server setting", yaml: chstack("clickhouse", "{ settings: { max_concurent_queries: 50 } }"), path: "clickhouse.settings.max_concurent_queries", expect: ["unknown key", 'did you mean "max_concurrent_queries"?'] },
  { name: "server setting far from any known one", yaml: chstack("clickhouse", "{ settings: { background_pool_size: 4 } }"), path: "clickhouse.settings.background_pool_size", expect: ["unknown key", "expected one of:", "max_concurrent_queries", "timezone"] },
  { name: "misspelt profile setting", yaml: chstack("clickhouse", "{ profiles: { writer: { max_thread: 4 } } }"), path: "clickhouse.profiles.writer.max_thread", expect: ["unknown key", 'did you mean "max_threads"?'] },
  { name: "managed server setting tcp_port", yaml: chstack("clickhouse", "{ settings: { tcp_port: 9000 } }"), path: "clickhouse.settings.tcp_port", expect: ["is rendered by chstack from the topology and target; remove it"] },
  { name: "managed profile setting allow_ddl", yaml: chstack("clickhouse", "{ profiles: { writer: { allow_ddl: 1 } } }"), path: "clickhouse.profiles.writer.allow_ddl", expect: ["is set by chstack for each user's privileges; remove it"] },
  { name: "managed profile setting readonly", yaml: chstack("clickhouse", "{ profiles: { readonly: { readonly: 0 } } }"), path: "clickhouse.profiles.readonly.readonly", expect: ["is set by chstack for each user's privileges"] },
  { name: "server setting of the wrong type", yaml: chstack("clickhouse", "{ settings: { max_connections: lots } }"), path: "clickhouse.settings.max_connections", expect: ["must be an integer from 0 to", 'got "lots"'] },
  { name: "boolean profile setting of 2", yaml: chstack("clickhouse", "{ profiles: { default: { log_queries: 2 } } }"), path: "clickhouse.profiles.default.log_queries", expect: ["must be true, false, 0 or 1", "got 2"] },
  { name: "boolean profile setting as yes (YAML 1.2: a string)", yaml: chstack("clickhouse", "{ profiles: { default: { log_queries: yes } } }"), path: "clickhouse.profiles.default.log_queries", expect: ["must be true, false, 0 or 1", 'got "yes"'] },
  { name: "unknown load_balancing", yaml: chstack("clickhouse", "{ profiles: { default: { load_balancing: round_robin } } }"), path: "clickhouse.profiles.default.load_balancing", expect: ['must be one of "random", "nearest_hostname", "in_order"', 'got "round_robin"'] },
  { name: "timezone with a control character", yaml: chstack("clickhouse", '{ settings: { timezone: "UTC\\u0007" } }'), path: "clickhouse.settings.timezone", expect: ["must not contain control characters"] },

  // ports
  { name: "ClickHouse tcp and http on one port", yaml: chstack("clickhouse", "{ ports: { tcp: 9000, http: 9000 } }"), path: "clickhouse.ports.http", expect: ["must differ from tcp (both are 9000)"] },
  { name: "ClickHouse http on the default tcp port", yaml: chstack("clickhouse", "{ ports: { http: 9000 } }"), path: "clickhouse.ports.http", expect: ["must differ from tcp (both are 9000)"] },
  { name: "ZooKeeper peer and election on one port", yaml: chstack("coordination", "{ ports: { peer: 2888, election: 2888 } }"), path: "coordination.ports.election", expect: ["must differ from peer (both are 2888)"] },
  { name: "Keeper client and peer on one port", yaml: chstack("coordination", "{ kind: keeper, ports: { client: 9234 } }"), path: "coordination.ports.peer", expect: ["must differ from client (both are 9234)"] },
  { name: "port 0", yaml: chstack("clickhouse", "{ ports: { tcp: 0 } }"), path: "clickhouse.ports.tcp", expect: [PORT_RULE, "got 0"] },
  { name: "port 70000", yaml: chstack("postgres", "{ port: 70000 }"), path: "postgres.port", expect: [PORT_RULE, "got 70000"] },
  { name: "app port 70000", yaml: chstack("app", `{ ${APP}, port: 70000 }`), path: "app.port", expect: [PORT_RULE, "got 70000"] },
  { name: "loopback.portBase below 1024", yaml: chstack("loopback", "{ portBase: 80 }"), path: "loopback.portBase", expect: ["must be an integer from 1024 to 65535", "got 80"] },
  {
    // 4 x 2 = 8 hosts: the last host's interserver port is 65500 + 20 + 3 * 7 + 2 (infra/model/ports.ts).
    name: "loopback.portBase too high for the topology",
    yaml: stackFile({ clickhouse: "{ shards: 4, replicas: 2 }", loopback: "{ portBase: 65500 }" }),
    path: "loopback.portBase",
    expect: ["must leave room for 4 shards x 2 replicas", "from 65500 to 65543", "past 65535"],
  },

  // Kubernetes names and values
  {
    name: "cluster name too long for the StatefulSet names of 100 x 3",
    yaml: chstack("clickhouse", `{ cluster: ${CLUSTER_44}, shards: 100, replicas: 3 }`),
    path: "clickhouse.cluster",
    expect: [
      `makes the Kubernetes StatefulSet name "chi-${CLUSTER_44.replaceAll("_", "-")}-99-2" 53 characters long`,
      "over the limit of 52",
      "choose a shorter cluster name",
    ],
  },
  { name: "namespace with uppercase and _", yaml: chstack("kubernetes", "{ namespace: Bad_NS }"), path: "kubernetes.namespace", expect: ["must be a DNS-1123 label", 'got "Bad_NS"'] },
  { name: "namespace ending in a dash", yaml: chstack("kubernetes", "{ namespace: chstack- }"), path: "kubernetes.namespace", expect: ["must be a DNS-1123 label", 'got "chstack-"'] },
  { name: "an image pull policy Kubernetes has not", yaml: chstack("kubernetes", "{ imagePullPolicy: never }"), path: "kubernetes.imagePullPolicy", expect: ['must be "Always", "IfNotPresent" or "Never"'] },
  { name: "a schema job image with a space", yaml: chstack("schema", "{ jobImage: 'node 24' }"), path: "schema.jobImage", expect: ["must be"] },
  {
    name: "label key with a space and !",
    yaml: chstack("kubernetes", "{ labels: { 'bad key!': x } }"),
    path: "kubernetes.labels.bad key!",
    expect: ["must be a Kubernetes label key", 'got "bad key!"'],
  },
  { name: "label value with a space", yaml: chstack("kubernetes", "{ labels: { team: 'data platform' } }"), path: "kubernetes.labels.team", expect: ["must be a Kubernetes label value", 'got "data platform"'] },
  { name: "label value of 64 characters", yaml: chstack("kubernetes", `{ labels: { team: ${"a".repeat(64)} } }`), path: "kubernetes.labels.team", expect: ["at most 63 characters"] },
  { name: "image reference with uppercase", yaml: chstack("clickhouse", "{ image: 'ClickHouse/Server:latest' }"), path: "clickhouse.image", expect: ["must be a container image reference", 'got "ClickHouse/Server:latest"'] },
  { name: "image reference with a space", yaml: chstack("postgres", "{ image: 'postgres 15' }"), path: "postgres.image", expect: ["must be a container image reference", 'got "postgres 15"'] },
  { name: "app with an empty image", yaml: chstack("app", "{ image: '', replicas: 2 }"), path: "app.image", expect: ["must be a container image reference"] },
  { name: "memory quantity in GB", yaml: chstack("clickhouse", "{ resources: { requests: { memory: 1GB } } }"), path: "clickhouse.resources.requests.memory", expect: ["must be a positive Kubernetes quantity"] },
  {
    name: "memory quantity in GB shows the value",
    yaml: chstack("clickhouse", "{ resources: { requests: { memory: 1GB } } }"),
    path: "clickhouse.resources.requests.memory",
    expect: ["must be a positive Kubernetes quantity", 'got "1GB"'],
  },
  { name: "zero storage size", yaml: chstack("coordination", "{ storage: { size: 0 } }"), path: "coordination.storage.size", expect: ["must be a positive Kubernetes quantity"] },
  { name: "storage class with uppercase", yaml: chstack("clickhouse", "{ storage: { className: Fast_SSD } }"), path: "clickhouse.storage.className", expect: ["must be a DNS-1123 subdomain", 'got "Fast_SSD"'] },
  { name: "memory request above the default limit", yaml: chstack("clickhouse", "{ resources: { requests: { memory: 8Gi } } }"), path: "clickhouse.resources.requests.memory", expect: ["must not exceed limits.memory (4Gi), got 8Gi"] },
  { name: "cpu request above the cpu limit", yaml: chstack("postgres", "{ resources: { requests: { cpu: 2 }, limits: { cpu: 1500m } } }"), path: "postgres.resources.requests.cpu", expect: ["must not exceed limits.cpu (1500m), got 2"] },

  { name: "one-shard cluster named like the cluster", yaml: chstack("clickhouse", "{ cluster: events, singleShardCluster: events }"), path: "clickhouse.singleShardCluster", expect: ['must differ from clickhouse.cluster, got "events" for both'] },
  { name: "one-shard cluster with a dash", yaml: chstack("clickhouse", "{ singleShardCluster: one-shard }"), path: "clickhouse.singleShardCluster", expect: ["must be an identifier"] },

  // users
  { name: "two roles with one user name", yaml: chstack("clickhouse", "{ users: { writer: { name: app }, readonly: { name: app } } }"), path: "clickhouse.users.readonly.name", expect: ['must differ from clickhouse.users.writer.name, got "app" for both'] },
  { name: "a role named like another role's default", yaml: chstack("clickhouse", "{ users: { admin: { name: chstack_app } } }"), path: "clickhouse.users.writer.name", expect: ['must differ from clickhouse.users.admin.name, got "chstack_app" for both'] },
  { name: 'user named "default"', yaml: chstack("clickhouse", "{ users: { admin: { name: default } } }"), path: "clickhouse.users.admin.name", expect: ['must not be "default"'] },
  { name: "user name with a dash", yaml: chstack("clickhouse", "{ users: { writer: { name: app-writer } } }"), path: "clickhouse.users.writer.name", expect: ["must be a name of letters, digits and _", 'got "app-writer"'] },
  { name: "database name with a leading digit", yaml: chstack("clickhouse", "{ database: 1events }"), path: "clickhouse.database", expect: ["not starting with a digit", 'got "1events"'] },
  { name: "empty network list", yaml: chstack("clickhouse", "{ users: { admin: { networks: [] } } }"), path: "clickhouse.users.admin.networks", expect: ["must list at least one network"] },
  { name: "a declaration module outside the project", yaml: chstack("schema", "{ declaration: ../outside.ts }"), path: "schema.declaration", expect: ["must stay inside the project (no .. segment)"] },
  { name: "a CIDR prefix past 32 bits", yaml: chstack("clickhouse", "{ users: { admin: { networks: ['10.0.0.0/33'] } } }"), path: "clickhouse.users.admin.networks.0", expect: ["must be an IP address or CIDR", 'got "10.0.0.0/33"'] },
  { name: "an IPv4 address with an octet past 255", yaml: chstack("clickhouse", "{ users: { admin: { networks: ['999.1.1.1'] } } }"), path: "clickhouse.users.admin.networks.0", expect: ["must be an IP address or CIDR"] },
  { name: "network as a host name", yaml: chstack("clickhouse", "{ users: { admin: { networks: [localhost] } } }"), path: "clickhouse.users.admin.networks.0", expect: ["must be an IP address or CIDR", 'got "localhost"'] },

  // the app
  { name: "app env var from the contract", yaml: chstack("app", `{ ${APP}, env: { CLICKHOUSE_URL: 'http://x' } }`), path: "app.env.CLICKHOUSE_URL", expect: ["is set by chstack (the app contract); remove it"] },
  { name: "app secretEnv var from the contract", yaml: chstack("app", `{ ${APP}, secretEnv: { DATABASE_URL: { secure: 'v1:x' } } }`), path: "app.secretEnv.DATABASE_URL", expect: ["is set by chstack (the app contract)"] },
  { name: "app var in both env and secretEnv", yaml: chstack("app", `{ ${APP}, env: { API_KEY: x }, secretEnv: { API_KEY: { secure: 'v1:x' } } }`), path: "app.secretEnv.API_KEY", expect: ["is also in app.env"] },
  { name: "app env value as a number", yaml: chstack("app", `{ ${APP}, env: { WORKERS: 4 } }`), path: "app.env.WORKERS", expect: ["must be a string (quote numbers and booleans)", "got 4"] },

  // plaintext secrets
  { name: "plaintext postgres.password", yaml: chstack("postgres", `{ password: ${SECRET} }`), path: "postgres.password", expect: [PLAINTEXT, "Pulumi secret", "pulumi config set --secret --path 'chstack:postgres.password'"] },
  { name: "plaintext postgres.url (external)", yaml: chstack("postgres", `{ mode: external, url: 'postgres://u:${SECRET}@db:5432/posthog' }`), path: "postgres.url", expect: [PLAINTEXT, "Pulumi secret"] },
  { name: "plaintext admin password", yaml: chstack("clickhouse", `{ users: { admin: { password: ${SECRET} } } }`), path: "clickhouse.users.admin.password", expect: [PLAINTEXT, "Pulumi secret"] },
  { name: "plaintext interserver password", yaml: chstack("clickhouse", `{ users: { interserver: { password: ${SECRET} } } }`), path: "clickhouse.users.interserver.password", expect: [PLAINTEXT, "Pulumi secret"] },
  { name: "plaintext app.secretEnv value", yaml: chstack("app", `{ ${APP}, secretEnv: { API_KEY: ${SECRET} } }`), path: "app.secretEnv.API_KEY", expect: [PLAINTEXT, "Pulumi secret"] },
  { name: "external postgres without a url", yaml: chstack("postgres", "{ mode: external }"), path: "postgres.url", expect: ["must be a Pulumi secret (secure: ...)", "got nothing"] },

  // the stack file itself
  { name: "unknown top-level stack-file key", yaml: "config: {}\nconfg: {}\n", path: "confg", expect: ["unknown top-level key", "config, secretsprovider, encryptedkey, encryptionsalt, environment"] },
  { name: "config key without a namespace", yaml: "config:\n  clickhouse: { shards: 2 }\n", path: "config.clickhouse", expect: ["must be written `chstack:clickhouse`"] },
  { name: "config as a list", yaml: "config:\n  - chstack:clickhouse\n", path: "config", expect: ["must be a map of `namespace:key` entries"] },
  { name: "YAML syntax error (unclosed flow map)", yaml: chstack("clickhouse", "{ shards: 2"), path: "YAML", expect: ["Flow map"] },
  { name: "YAML tab indentation", yaml: "config:\n\tchstack:clickhouse: {}\n", path: "YAML", expect: ["Tabs are not allowed"] },
  { name: "duplicate chstack entry", yaml: stackFile({ clickhouse: "{ shards: 2 }" }) + "  chstack:clickhouse: { shards: 3 }\n", path: "YAML", expect: ["Map keys must be unique"] },
  { name: "duplicate key inside a value", yaml: "config:\n  chstack:clickhouse:\n    shards: 2\n    shards: 3\n", path: "YAML", expect: ["Map keys must be unique"] },
  {
    name: "YAML error with its position",
    yaml: "config:\n  chstack:clickhouse: { shards: 2 }\n  chstack:clickhouse: { shards: 3 }\n",
    path: "YAML",
    expect: ["Map keys must be unique", "(line 3, column 3)"],
  },
  {
    name: "a chstack entry left empty (null)",
    yaml: "config:\n  chstack:clickhouse:\n",
    path: "clickhouse",
    expect: ["got null"],
  },
  {
    name: "a chstack entry that is a string",
    yaml: chstack("clickhouse", "big"),
    path: "clickhouse",
    expect: ['got "big"'],
  },
];

describe("bad configs: one problem line at the field path, with the rule", () => {
  test("the table has at least 35 distinct cases", () => {
    assert.ok(badCases.length >= 35, `only ${badCases.length} cases`);
    assert.equal(new Set(badCases.map((c) => c.name)).size, badCases.length, "case names must be distinct");
  });
  for (const c of badCases) {
    test(c.name, () => {
      expectProblem(c.yaml, c.path, ...c.expect);
    });
  }

  test("a file that is not a map is refused", () => {
    for (const yaml of ["- config\n- chstack:clickhouse\n", "just a string\n", "42\n"]) {
      assert.deepEqual(problemsOf(yaml), ["the file must be a map with a `config:` key, as Pulumi stack files are"], yaml);
    }
  });

  test("the topology check is per topology: the 44-character name fits 10 x 3, not 100 x 3", () => {
    const ok = parse(chstack("clickhouse", `{ cluster: ${CLUSTER_44}, shards: 10, replicas: 3 }`));
    assert.equal(ok.clickhouse.cluster, CLUSTER_44);
    expectProblem(chstack("clickhouse", `{ cluster: ${CLUSTER_44}, shards: 100, replicas: 3 }`), "clickhouse.cluster", "StatefulSet");
  });

  test("loopback.portBase: the range may end at 65535, not one port later", () => {
    // The last port of 1 x 1 is 65500 + 20 + 2 = 65522.
    assert.equal(parse(chstack("loopback", "{ portBase: 65500 }")).loopback.portBase, 65500);
    // 65513 + 22 = 65535 is the very last port; 65514 passes it.
    assert.equal(parse(chstack("loopback", "{ portBase: 65513 }")).loopback.portBase, 65513);
    expectProblem(chstack("loopback", "{ portBase: 65514 }"), "loopback.portBase", "from 65514 to 65536");
  });

  test("YAML errors do not go on to validate the config", () => {
    const problems = problemsOf(chstack("clickhouse", "{ shards: 0") + "  chstack:clickhouse: {}\n");
    assert.ok(problems.every((p) => p.startsWith("YAML: ")), problems.join("\n"));
  });
});

// ---- 2. every problem at once ------------------------------------------------------------------------

describe("all problems are reported in one ConfigError", () => {
  test("field errors at several depths and sections, and a plaintext secret", () => {
    const error = refusal(
      stackFile({
        clickhouse: "{ cluster: Bad, shards: 0, replicas: 17, ports: { tcp: 1, http: 1 }, settings: { tcp_port: 1 } }",
        coordination: "{ size: 2 }",
        kubernetes: "{ namespace: Bad_NS }",
        postgres: `{ password: ${SECRET} }`,
        clickhuose: "{}",
      }),
    );
    const expected = [
      "clickhouse.cluster",
      "clickhouse.shards",
      "clickhouse.replicas",
      "clickhouse.ports.http",
      "clickhouse.settings.tcp_port",
      "coordination.size",
      "kubernetes.namespace",
      "postgres.password",
      "clickhuose",
    ];
    for (const path of expected) expectProblemIn(error.problems, path, []);
    assert.equal(error.problems.length, expected.length, error.problems.join("\n"));
    assert.equal(new Set(error.problems).size, error.problems.length, "no duplicate lines");
    assert.ok(error.message.startsWith(`${SOURCE}: ${expected.length} problems:\n`), error.message);
    for (const p of error.problems) assert.ok(error.message.includes(`\n  ${p}`), `message lacks ${p}`);
  });

  test("cross-field checks run beside field errors that don't concern them", () => {
    const problems = problemsOf(
      stackFile({
        clickhouse: `{ cluster: ${CLUSTER_44}, shards: 100, replicas: 3, database: 1x, shard: 1 }`,
        loopback: "{ portBase: 65000 }",
        kubernetes: "{ namespace: X }",
      }),
    );
    expectProblemIn(problems, "clickhouse.database", ['got "1x"']);
    expectProblemIn(problems, "clickhouse.shard", ['did you mean "shards"?']);
    expectProblemIn(problems, "kubernetes.namespace", ['got "X"']);
    expectProblemIn(problems, "clickhouse.cluster", ["StatefulSet"]);
    // 300 hosts: 65000 + 20 + 3 * 299 + 2.
    expectProblemIn(problems, "loopback.portBase", ["100 shards x 3 replicas", "from 65000 to 65919"]);
    assert.equal(problems.length, 5, problems.join("\n"));
  });

  test("cross-field checks are skipped when a field they read is itself wrong", () => {
    // shards 0 is the problem; the port-range and name checks must not add noise computed from it.
    const problems = problemsOf(stackFile({ clickhouse: "{ shards: 0 }", loopback: "{ portBase: 65530 }" }));
    assert.deepEqual(problems, ["clickhouse.shards: must be an integer from 1 to 256, got 0"]);
  });
});

// ---- 3. secrets are never echoed ---------------------------------------------------------------------

describe("secret values never appear in problems", () => {
  const assertNotEchoed = (error: ConfigError, secret: string) => {
    for (const p of error.problems) assert.ok(!p.includes(secret), `problem echoes the secret: ${p}`);
    assert.ok(!error.message.includes(secret), "the error message echoes the secret");
  };

  const cases: readonly { name: string; yaml: string; path: string; secret: string; expect: string }[] = [
    { name: "plaintext postgres.password", yaml: chstack("postgres", `{ password: ${SECRET} }`), path: "postgres.password", secret: SECRET, expect: "Pulumi secret" },
    { name: "plaintext postgres.url", yaml: chstack("postgres", `{ mode: external, url: 'postgres://app:${SECRET}@db/posthog' }`), path: "postgres.url", secret: SECRET, expect: "Pulumi secret" },
    { name: "plaintext user password", yaml: chstack("clickhouse", `{ users: { writer: { password: ${SECRET} } } }`), path: "clickhouse.users.writer.password", secret: SECRET, expect: "Pulumi secret" },
    { name: "plaintext app.secretEnv", yaml: chstack("app", `{ ${APP}, secretEnv: { API_KEY: ${SECRET} } }`), path: "app.secretEnv.API_KEY", secret: SECRET, expect: "Pulumi secret" },
    { name: "password as a number", yaml: chstack("postgres", "{ password: 987654321 }"), path: "postgres.password", secret: "987654321", expect: "must be a Pulumi secret (secure: ...)" },
    { name: "password as a list", yaml: chstack("postgres", `{ password: [${SECRET}] }`), path: "postgres.password", secret: SECRET, expect: "must be a Pulumi secret" },
    { name: "user password as a number", yaml: chstack("clickhouse", "{ users: { admin: { password: 31415926535 } } }"), path: "clickhouse.users.admin.password", secret: "31415926535", expect: "must be a Pulumi secret" },
    { name: "postgres.url as a number", yaml: chstack("postgres", "{ mode: external, url: 271828182845 }"), path: "postgres.url", secret: "271828182845", expect: "must be a Pulumi secret" },
    { name: "app.secretEnv value as a number", yaml: chstack("app", `{ ${APP}, secretEnv: { API_KEY: 1618033988 } }`), path: "app.secretEnv.API_KEY", secret: "1618033988", expect: "must be a Pulumi secret" },
    { name: "secure map with an extra key", yaml: chstack("postgres", `{ password: { secure: 'v1:abc', plain: ${SECRET} } }`), path: "postgres.password.plain", secret: SECRET, expect: "unknown key" },
    { name: "app.secretEnv with a bad name", yaml: chstack("app", `{ ${APP}, secretEnv: { 'BAD-NAME': ${SECRET} } }`), path: "app.secretEnv.BAD-NAME", secret: SECRET, expect: "Pulumi secret" },
    { name: "postgres.url on in-stack postgres", yaml: chstack("postgres", `{ url: 'postgres://app:${SECRET}@db/posthog' }`), path: "postgres.url", secret: SECRET, expect: "unknown key" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const error = refusal(c.yaml);
      expectProblemIn(error.problems, c.path, [c.expect]);
      assertNotEchoed(error, c.secret);
    });
  }

  test("YAML errors do not quote the source line holding a secret", () => {
    const error = refusal(chstack("postgres", `{ password: ${SECRET}`));
    expectProblemIn(error.problems, "YAML", []);
    assertNotEchoed(error, SECRET);
  });

  test("a secret among many other problems is still hidden", () => {
    const error = refusal(
      stackFile({ clickhouse: `{ shards: 0, users: { admin: { password: ${SECRET} } } }`, postgres: `{ password: ${SECRET}, port: 0 }` }),
    );
    assert.ok(error.problems.length >= 4, error.problems.join("\n"));
    assertNotEchoed(error, SECRET);
  });
});

// ---- 4. good configs ---------------------------------------------------------------------------------

describe("good configs", () => {
  const assertDefaults = (c: StackConfig) => {
    assert.equal(c.clickhouse.cluster, "posthog");
    assert.equal(c.clickhouse.shards, 1);
    assert.equal(c.clickhouse.replicas, 1);
    assert.equal(c.clickhouse.database, "posthog");
    assert.deepEqual(c.clickhouse.ports, { tcp: 9000, http: 8123, interserver: 9009 });
    assert.equal(c.coordination.kind, "zookeeper");
    assert.equal(c.coordination.size, 1);
    assert.deepEqual(c.coordination.ports, { client: 2181, peer: 2888, election: 3888 });
    assert.equal(c.postgres.mode, "in-stack");
    assert.equal(c.kubernetes.namespace, "chstack");
    assert.deepEqual(c.kubernetes.labels, {});
    assert.equal(c.loopback.portBase, 19000);
    assert.equal(c.app, undefined);
    assert.deepEqual(
      Object.fromEntries(Object.entries(c.clickhouse.users).map(([role, u]) => [role, u.name])),
      { admin: "chstack_admin", writer: "chstack_app", readonly: "chstack_reader", interserver: "chstack_interserver" },
    );
  };

  test("an empty file gives the documented defaults", () => {
    assertDefaults(parse(""));
  });

  test("`config: {}`, `config:` and a comment-only file give the same defaults", () => {
    const empty = parse("");
    for (const yaml of ["config: {}\n", "config:\n", "# nothing yet\n", chstack("clickhouse", "{}")]) {
      const c = parse(yaml);
      assertDefaults(c);
      assert.deepEqual(c, empty, yaml);
    }
  });

  test("the repo's Pulumi.dev.yaml is 2 shards x 2 replicas with the reference app", () => {
    const text = readFileSync(new URL("../../Pulumi.dev.yaml", import.meta.url), "utf8");
    const c = parse(text);
    assert.equal(c.clickhouse.shards, 2);
    assert.equal(c.clickhouse.replicas, 2);
    assert.equal(c.clickhouse.cluster, "posthog");
    assert.equal(c.app?.image, "chstack/app:0.1.0", "app: {} runs the reference app");
    assert.equal(c.app?.port, 8000);
  });

  test("secure values are accepted and kept as they are, never decrypted", () => {
    const c = parse(
      stackFile({
        postgres: '{ password: { secure: "v1:abc" } }',
        clickhouse: '{ users: { admin: { password: { secure: "v1:def" } } } }',
        app: `{ ${APP}, secretEnv: { API_KEY: { secure: "v1:ghi" } } }`,
      }),
    );
    assert.equal(c.postgres.mode, "in-stack");
    if (c.postgres.mode !== "in-stack") return;
    assert.deepEqual(c.postgres.password, { secure: "v1:abc" });
    assert.deepEqual(c.clickhouse.users.admin.password, { secure: "v1:def" });
    assert.deepEqual(c.app?.secretEnv, { API_KEY: { secure: "v1:ghi" } });
  });

  test("external postgres with a secure url", () => {
    const c = parse(chstack("postgres", '{ mode: external, url: { secure: "v1:xyz" } }'));
    assert.deepEqual(c.postgres, { mode: "external", url: { secure: "v1:xyz" } });
  });

  test("other namespaces and Pulumi's own stack-file keys are ignored", () => {
    const c = parse(
      "encryptionsalt: v1:salt\nsecretsprovider: passphrase\nconfig:\n  kubernetes:context: kind-kind\n  aws:region: eu-west-1\n  chstack:clickhouse: { shards: 3 }\n",
    );
    assert.equal(c.clickhouse.shards, 3);
    assert.deepEqual(Object.keys(c).sort(), ["clickhouse", "coordination", "kubernetes", "loopback", "postgres", "scaling", "schema"], "no key of another namespace");
    assert.equal(c.kubernetes.namespace, "chstack");
  });

  test("Keeper of 3 has Keeper's default ports and no ZooKeeper fields", () => {
    const c = parse(chstack("coordination", "{ kind: keeper, size: 3 }"));
    assert.equal(c.coordination.kind, "keeper");
    assert.equal(c.coordination.size, 3);
    assert.deepEqual(c.coordination.ports, { client: 9181, peer: 9234 });
    assert.equal(c.coordination.image, "clickhouse/clickhouse-keeper:25.8");
    assert.ok(!("heapMb" in c.coordination));
  });

  test("coordination without a kind is ZooKeeper", () => {
    const c = parse(chstack("coordination", "{ size: 5 }"));
    assert.equal(c.coordination.kind, "zookeeper");
    assert.equal(c.coordination.size, 5);
  });

  test("YAML booleans in settings become 0/1 and merge with the default profile", () => {
    const c = parse(
      chstack(
        "clickhouse",
        "{ profiles: { default: { log_queries: true, max_threads: 4 }, writer: { insert_deduplicate: false, prefer_localhost_replica: 1 } } }",
      ),
    );
    assert.equal(c.clickhouse.profiles.default.log_queries, 1);
    assert.equal(c.clickhouse.profiles.default.max_threads, 4);
    assert.equal(c.clickhouse.profiles.default.load_balancing, "random", "the other defaults stay");
    assert.deepEqual(c.clickhouse.profiles.writer, { insert_deduplicate: 0, prefer_localhost_replica: 1 });
  });

  test("server settings merge with the defaults", () => {
    const c = parse(chstack("clickhouse", "{ settings: { max_concurrent_queries: 50, timezone: Europe/Paris } }"));
    assert.equal(c.clickhouse.settings.max_concurrent_queries, 50);
    assert.equal(c.clickhouse.settings.timezone, "Europe/Paris");
    assert.equal(c.clickhouse.settings.mark_cache_size, 64 * 1024 * 1024);
  });

  test("the largest topology with a short name is valid", () => {
    const c = parse(chstack("clickhouse", "{ cluster: a_b, shards: 256, replicas: 16 }"));
    assert.equal(c.clickhouse.shards * c.clickhouse.replicas, 4096);
  });

  test("quantities may be YAML numbers and are kept as strings", () => {
    const c = parse(chstack("clickhouse", "{ resources: { requests: { cpu: 2 }, limits: { cpu: 4, memory: 8Gi } } }"));
    assert.equal(c.clickhouse.resources.requests.cpu, "2");
    assert.equal(c.clickhouse.resources.limits.cpu, "4");
    assert.equal(c.clickhouse.resources.limits.memory, "8Gi");
  });

  test("the engine path (decrypted values) accepts plaintext secrets; the file path refuses them", () => {
    const raw = { postgres: { password: SECRET } };
    const c = parseStackConfig(raw, "engine", { rejectPlaintextSecrets: false });
    assert.equal(c.postgres.mode === "in-stack" ? c.postgres.password : undefined, SECRET);
    assert.throws(
      () => parseStackConfig(raw, "engine", { rejectPlaintextSecrets: true }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith("postgres.password: ") && p.includes("Pulumi secret")),
    );
  });
});

// ---- 5. redaction ------------------------------------------------------------------------------------

describe("redactSecrets", () => {
  test("replaces secure values with [secret] and leaves every other field alone", () => {
    const config = parse(
      stackFile({
        postgres: '{ password: { secure: "v1:abc" }, user: app }',
        clickhouse: '{ shards: 2, users: { admin: { password: { secure: "v1:def" } } } }',
        app: `{ ${APP}, env: { LOG_LEVEL: debug }, secretEnv: { API_KEY: { secure: "v1:ghi" } } }`,
      }),
    );
    const before = structuredClone(config);
    const redacted = redactSecrets(config);

    const expected = structuredClone(config) as unknown as {
      postgres: Record<string, unknown>;
      clickhouse: { users: { admin: Record<string, unknown> } };
      app: { secretEnv: Record<string, unknown> };
    };
    expected.postgres.password = "[secret]";
    expected.clickhouse.users.admin.password = "[secret]";
    expected.app.secretEnv.API_KEY = "[secret]";
    assert.deepEqual(redacted, expected);
    assert.deepEqual(config, before, "the input is not modified");
    for (const cipher of ["v1:abc", "v1:def", "v1:ghi"]) assert.ok(!JSON.stringify(redacted).includes(cipher));
  });

  test("replaces plaintext secrets (engine path) with [secret]", () => {
    const config = parseStackConfig(
      {
        postgres: { mode: "external", url: `postgres://app:${SECRET}@db/posthog` },
        clickhouse: { users: { writer: { password: SECRET } } },
        app: { image: "ghcr.io/acme/app:1.2", env: { MODE: "prod" }, secretEnv: { API_KEY: SECRET } },
      },
      "engine",
      { rejectPlaintextSecrets: false },
    );
    const redacted = redactSecrets(config);
    assert.deepEqual(redacted.postgres, { mode: "external", url: "[secret]" });
    assert.equal(redacted.clickhouse.users.writer.password, "[secret]");
    assert.equal(redacted.clickhouse.users.writer.name, "chstack_app");
    assert.deepEqual(redacted.app?.secretEnv, { API_KEY: "[secret]" });
    assert.deepEqual(redacted.app?.env, { MODE: "prod" });
    assert.ok(!JSON.stringify(redacted).includes(SECRET));
  });

  test("a config without secrets comes back equal", () => {
    const config = parse(readFileSync(new URL("../../Pulumi.dev.yaml", import.meta.url), "utf8"));
    assert.deepEqual(redactSecrets(config), config);
  });
});
