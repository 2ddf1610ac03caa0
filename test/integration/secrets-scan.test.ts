// No configured or generated password in plain text anywhere a user or an operator reads: a real loopback
// stack (2 x 2, with the app) is brought up, its status read, its schema status read and 1000 events loaded;
// then every file under its state directory (logs, state.json, rendered configs, data) and every CLI
// output is scanned for every password of secrets.json. The credential stores themselves (secrets.json,
// clickhouse-client.xml, pgpass) are the only holders, and are 0600. On Kubernetes (mocked engine), a
// generated password is in no ConfigMap, no other non-Secret object and no stack output.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { byKind, runK8s } from "../support/k8s.ts";
import { testStack } from "../support/stack.ts";

const stack = testStack("2x2", "it-secrets", 30100);
// The golden 2x2 has no app: this stack runs the reference app too (so `load` has somewhere to send).
appendFileSync(join(stack.cwd, `Pulumi.${stack.name}.yaml`), "  chstack:app: {}\n");

/** The credential stores: the only files allowed to hold a password, each readable by its owner only. */
const STORES = new Set(["secrets.json", "clickhouse-client.xml", "pgpass"]);

/** Every password of the stack's secrets.json, with what it is. */
function passwordsOf(dir: string): Map<string, string> {
  const s = JSON.parse(readFileSync(join(dir, "secrets.json"), "utf8")) as {
    clickhouse: Record<string, { user: string; password: string }>;
    postgres: { password: string; superuserPassword: string };
    app?: { apiKey: string };
  };
  const out = new Map<string, string>();
  for (const [role, u] of Object.entries(s.clickhouse)) out.set(u.password, `clickhouse.${role}.password`);
  out.set(s.postgres.password, "postgres.password");
  out.set(s.postgres.superuserPassword, "postgres.superuserPassword");
  if (s.app) out.set(s.app.apiKey, "app.apiKey");
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.isFile() ? [p] : [];
  });
}

/** Where a text (or a file's bytes) holds one of the passwords: "<what> in <where>". */
function leaks(where: string, data: Buffer | string, passwords: Map<string, string>): string[] {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  return [...passwords].filter(([pw]) => buf.includes(pw)).map(([, what]) => `${what} in ${where}`);
}

const outputs: { what: string; text: string }[] = [];
async function cli(...args: string[]) {
  const r = await stack.chstack(...args);
  outputs.push({ what: `chstack ${args.join(" ")}`, text: `${r.stdout}\n${r.stderr}` });
  return r;
}

describe("secrets scan: a loopback stack with the app", { timeout: 15 * 60_000 }, () => {
  before(async () => {
    const up = await cli("up");
    assert.equal(up.code, 0, `up failed:\n${up.stdout}\n${up.stderr}`);
  });
  after(() => stack.destroy());

  test("status --json, schema status --json, load and validate --json: exit 0", async () => {
    const status = await cli("status", "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.ok(JSON.parse(status.stdout), "status --json is JSON");
    const schema = await cli("schema", "status", "--json");
    assert.equal(schema.code, 0, schema.stderr);
    JSON.parse(schema.stdout);
    const load = await cli("load", "--events", "1000");
    assert.equal(load.code, 0, `${load.stdout}\n${load.stderr}`);
    const validate = await cli("validate", "--json");
    assert.equal(validate.code, 0, validate.stderr);
  });

  test("the credential stores are 0600, and hold the app's API key after up", () => {
    const stores = walk(stack.dir).filter((f) => STORES.has(basename(f)));
    assert.deepEqual([...new Set(stores.map((f) => basename(f)))].sort(), [...STORES].sort(), "every store exists");
    for (const f of stores) assert.equal(statSync(f).mode & 0o777, 0o600, `${relative(stack.dir, f)} is 0600`);
    const passwords = passwordsOf(stack.dir);
    assert.ok([...passwords.values()].includes("app.apiKey"), "up added the app's key to secrets.json");
    assert.equal(passwords.size, 7, "4 ClickHouse users, the Postgres user and superuser, the app key: all distinct");
  });

  test("no password in any generated file, log, data file or state.json under the state directory", () => {
    const passwords = passwordsOf(stack.dir);
    const files = walk(stack.dir).filter((f) => !STORES.has(basename(f)));
    assert.ok(files.some((f) => basename(f) === "state.json"), "state.json is scanned");
    assert.ok(files.some((f) => /\.log$|log\//.test(relative(stack.dir, f))), "logs are scanned");
    const found = files.flatMap((f) => {
      const size = statSync(f).size;
      if (size > 256 * 1024 * 1024) return [];
      const where = relative(stack.dir, f);
      // ClickHouse's own dump of its merged config (data/preprocessed_configs/config.xml) holds the
      // inter-server password that config.d passes by `from_env`: it must sit in the host's own 0700 directory.
      const preprocessed = /^clickhouse\/([^/]+)\/data\/preprocessed_configs\/config\.xml$/.exec(where);
      if (preprocessed) assert.equal(statSync(join(stack.dir, "clickhouse", preprocessed[1]!)).mode & 0o777, 0o700, `clickhouse/${preprocessed[1]} is 0700`);
      const scanned = preprocessed ? new Map([...passwords].filter(([, what]) => what !== "clickhouse.interserver.password")) : passwords;
      return leaks(where, readFileSync(f), scanned);
    });
    assert.deepEqual(found, []);
  });

  test("no password in any CLI output (up, status --json, schema status --json, load, validate --json)", () => {
    const passwords = passwordsOf(stack.dir);
    assert.ok(outputs.length >= 5);
    assert.deepEqual(outputs.flatMap((o) => leaks(o.what, o.text, passwords)), []);
  });

  test("render k8s of this stack: no loopback password in any rendered object", async () => {
    const out = mkdtempSync(join(tmpdir(), "chstack-secrets-k8s-"));
    try {
      rmSync(out, { recursive: true });
      const r = await cli("render", "k8s", "--out", out);
      assert.equal(r.code, 0, r.stderr);
      const passwords = passwordsOf(stack.dir);
      const files = walk(out);
      assert.ok(files.length > 10, `${files.length} files rendered`);
      assert.deepEqual(files.flatMap((f) => leaks(relative(out, f), readFileSync(f), passwords)), []);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("secrets scan: Kubernetes under mocks", () => {
  const SENTINEL = "SENTINEL-scan-5e1d0b";
  const run = runK8s(
    {
      clickhouse: { cluster: "events", shards: 2, replicas: 2 },
      coordination: { size: 3 },
      app: {},
    },
    { sentinel: SENTINEL },
  );

  test("the generated passwords are in Secrets only: no ConfigMap, no other object, no stack output", () => {
    assert.ok(run.ok, run.error);
    const configMaps = byKind(run, "ConfigMap");
    assert.ok(configMaps.length > 0);
    for (const cm of configMaps) assert.ok(!JSON.stringify(cm).includes(SENTINEL), `ConfigMap/${cm.metadata.name} holds a generated password`);
    const holders = run.objects.filter((o) => JSON.stringify(o).includes(SENTINEL));
    assert.ok(holders.length > 0, "the sentinel reaches the Secrets (the scan can see it)");
    for (const o of holders) assert.equal(o.kind, "Secret", `${o.kind}/${o.metadata.name} holds a generated password`);
    assert.ok(!JSON.stringify(run.outputs).includes(SENTINEL), "not in stack outputs");
  });
});
