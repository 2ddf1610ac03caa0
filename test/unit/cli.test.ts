// The chstack command as a user runs it: a real process, its output and its exit code.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fixturePath, goldenDir } from "../support/goldens.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "cli/bin.mjs");
const scratch = mkdtempSync(join(tmpdir(), "chstack-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function chstack(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("chstack validate", () => {
  test("the dev stack: valid, with its hosts and ports", () => {
    const r = chstack(["validate", "--stack", "dev"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Pulumi\.dev\.yaml: valid \(stack dev\)/);
    assert.match(r.stdout, /cluster posthog: 2 shards x 2 replicas = 4 ClickHouse hosts/);
    for (const h of ["chi-posthog-0-0", "chi-posthog-0-1", "chi-posthog-1-0", "chi-posthog-1-1", "zk-posthog-0"]) assert.match(r.stdout, new RegExp(h));
  });

  test("--json is the resolved topology, secrets redacted", () => {
    const file = join(scratch, "secret.yaml");
    writeFileSync(file, "config:\n  chstack:postgres:\n    password:\n      secure: v1:c2VjcmV0\n");
    const r = chstack(["validate", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.valid, true);
    assert.equal(out.stack, "secret");
    assert.equal(out.hosts.length, 1);
    assert.deepEqual(out.hosts[0].loopback, { host: "127.0.0.1", ports: { tcp: 19020, http: 19021, interserver: 19022 } });
    assert.equal(out.config.postgres.password, "[secret]");
    assert.ok(!r.stdout.includes("v1:c2VjcmV0"), "the ciphertext is not printed either");
  });

  test("an invalid config: every problem with its field, exit 1", () => {
    const file = join(scratch, "bad.yaml");
    writeFileSync(file, "config:\n  chstack:clickhouse:\n    shards: 0\n    replica: 2\n  chstack:coordination:\n    size: 2\n");
    const r = chstack(["validate", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /clickhouse\.shards: must be an integer from 1 to 256, got 0/);
    assert.match(r.stderr, /clickhouse\.replica: unknown key \(did you mean "replicas"\?\)/);
    assert.match(r.stderr, /coordination\.size: must be 1, 3 or 5 .*got 2/);
    const json = chstack(["validate", "--config", file, "--json"]);
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout);
    assert.equal(out.valid, false);
    assert.equal(out.problems.length, 3);
  });

  test("a missing stack file names the file", () => {
    const r = chstack(["validate", "--stack", "nosuch"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Pulumi\.nosuch\.yaml: .*cannot read the stack config: no such file/s);
  });

  test("a bad stack name is refused before any file is read", () => {
    const r = chstack(["validate", "--stack", "../etc"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stack name must be letters, digits/);
  });

  test("command-line errors exit 64; --help exits 0 on every command", () => {
    assert.equal(chstack(["validate", "--bogus"]).code, 64);
    assert.equal(chstack(["frobnicate"]).code, 64);
    assert.equal(chstack(["render", "loopback"]).code, 64, "--out is required");
    assert.equal(chstack(["schema", "apply", "--allow", "drop-everything"]).code, 64, "--allow takes known kinds only");
    for (const cmd of [[], ["validate"], ["render"], ["render", "loopback"], ["up"], ["status"], ["down"], ["schema"], ["schema", "plan"], ["schema", "apply"], ["schema", "status"], ["render", "k8s"], ["kind"], ["kind", "up"], ["kind", "down"], ["kind", "config"]]) {
      const r = chstack([...cmd, "--help"]);
      assert.equal(r.code, 0, cmd.join(" "));
      assert.match(r.stdout, /Usage: chstack/);
    }
  });
});

describe("chstack render loopback", () => {
  function filesUnder(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name !== ".chstack-render")
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .sort();
  }

  test("with the stack's credentials it writes exactly the golden files", () => {
    const cwd = join(scratch, "project");
    mkdirSync(join(cwd, ".chstack", "golden-2x2"), { recursive: true });
    copyFileSync(fixturePath("golden-2x2.yaml"), join(cwd, "Pulumi.golden-2x2.yaml"));
    copyFileSync(fixturePath("golden-secrets.json"), join(cwd, ".chstack", "golden-2x2", "secrets.json"));
    const r = chstack(["render", "loopback", "--stack", "golden-2x2", "--out", "out", "--json"], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).credentials, "stack");
    const out = join(cwd, "out");
    const golden = goldenDir("2x2");
    assert.deepEqual(filesUnder(out), filesUnder(golden));
    for (const f of filesUnder(golden)) assert.equal(readFileSync(join(out, f), "utf8"), readFileSync(join(golden, f), "utf8"), f);

    // A second render replaces its own earlier output.
    assert.equal(chstack(["render", "loopback", "--stack", "golden-2x2", "--out", "out"], cwd).code, 0);
  });

  test("without credentials it renders throwaway hashes and says so", () => {
    const r = chstack(["render", "loopback", "--config", fixturePath("golden-1x1.yaml"), "--out", join(scratch, "throwaway")], scratch);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no credentials yet; users\.d carries throwaway password hashes/);
  });

  test("a directory it did not write is never touched", () => {
    const dir = join(scratch, "mine");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep.txt"), "mine");
    const r = chstack(["render", "loopback", "--out", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not empty and was not written by chstack render/);
    assert.equal(readFileSync(join(dir, "keep.txt"), "utf8"), "mine");
  });

  test("Keeper on the loopback target is refused with the field named", () => {
    const file = join(scratch, "keeper.yaml");
    writeFileSync(file, "config:\n  chstack:coordination:\n    kind: keeper\n");
    const r = chstack(["render", "loopback", "--config", file, "--out", join(scratch, "keeper-out")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /coordination\.kind: the loopback target runs ZooKeeper only/);
  });
});

describe("chstack render k8s", () => {
  test("writes every object as YAML; a Pulumi secret of the file shows as a placeholder inside its Secret only", async () => {
    const { parseAllDocuments } = await import("yaml");
    const file = join(scratch, "k8s.yaml");
    writeFileSync(file, "config:\n  chstack:clickhouse:\n    shards: 2\n    replicas: 2\n    users:\n      admin:\n        password:\n          secure: v1:abcdef\n");
    const out = join(scratch, "k8s-out");
    const r = chstack(["render", "k8s", "--config", file, "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const written = JSON.parse(r.stdout);
    assert.equal(written.files.length, 35);
    const holders: string[] = [];
    for (const f of written.files as string[]) {
      const text = readFileSync(join(out, f), "utf8");
      const [doc] = parseAllDocuments(text);
      const o = doc!.toJS() as { kind: string; metadata: { name: string } };
      assert.ok(o.kind && o.metadata.name, f);
      if (text.includes("<pulumi secret clickhouse.users.admin.password>")) holders.push(`${o.kind}/${o.metadata.name}`);
      assert.ok(!text.includes("v1:abcdef"), `${f} holds no ciphertext`);
    }
    assert.deepEqual(holders, ["Secret/chi-posthog-users-credentials"]);
  });
});
