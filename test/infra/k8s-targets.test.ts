// One renderer, two targets; and what a topology change touches.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { goldenDir } from "../support/goldens.ts";
import { byKind, object, resource, runK8s, type ProgramRun } from "../support/k8s.ts";

/** Per-target values (addresses, ports, paths) blanked: what must be left is the same file. */
const TARGET_ELEMENTS = ["host", "port", "listen_host", "tcp_port", "http_port", "interserver_http_port", "interserver_http_host", "path", "tmp_path", "user_files_path", "format_schema_path", "log", "errorlog"];
const withoutTarget = (xml: string) => xml.replace(new RegExp(`<(${TARGET_ELEMENTS.join("|")})>[^<]*</\\1>`, "g"), "<$1>(target)</$1>");

describe("one renderer, two targets", () => {
  // The golden 2x2 config: its loopback files are pinned in test/golden and booted as they are by the
  // loopback integration test, so they are what a loopback run writes.
  const golden = readFileSync(new URL("../fixtures/golden-2x2.yaml", import.meta.url), "utf8");
  assert.match(golden, /cluster: posthog/);
  const run = runK8s({ clickhouse: { cluster: "posthog", singleShardCluster: "posthog_single_shard", shards: 2, replicas: 2 } });
  const loopback = (host: string, file: string) => readFileSync(join(goldenDir("2x2"), `clickhouse/${host}/config/${file}`), "utf8");

  test("shared files: the same bytes, or the same but for addresses and paths", () => {
    assert.ok(run.ok, run.error);
    const common = object(run, "ConfigMap", "chi-posthog-common")!.data as Record<string, string>;
    for (const f of ["chstack-distributed-ddl.xml", "chstack-settings.xml"]) assert.equal(common[f], loopback("chi-posthog-0-0", `config.d/${f}`), f);
    for (const f of ["chstack-profiles.xml", "chstack-quotas.xml"]) assert.equal(common[f], loopback("chi-posthog-0-0", `users.d/${f}`), f);
    assert.notEqual(common["chstack-zookeeper.xml"], loopback("chi-posthog-0-0", "config.d/chstack-zookeeper.xml"));
    assert.equal(withoutTarget(common["chstack-zookeeper.xml"]!), withoutTarget(loopback("chi-posthog-0-0", "config.d/chstack-zookeeper.xml")));
    const remote = object(run, "ConfigMap", "chi-posthog-remote-servers")!.data["chstack-remote-servers.xml"];
    assert.equal(withoutTarget(remote), withoutTarget(loopback("chi-posthog-1-1", "config.d/chstack-remote-servers.xml")));
  });

  test("host files: macros identical, listen, paths and logger the same but for addresses and paths", () => {
    for (const host of ["chi-posthog-0-0", "chi-posthog-0-1", "chi-posthog-1-0", "chi-posthog-1-1"]) {
      const data = object(run, "ConfigMap", `${host}-config`)!.data as Record<string, string>;
      assert.equal(data["chstack-macros.xml"], loopback(host, "config.d/chstack-macros.xml"), host);
      for (const f of ["chstack-listen.xml", "chstack-paths.xml", "chstack-logger.xml"]) {
        assert.equal(withoutTarget(data[f]!), withoutTarget(loopback(host, `config.d/${f}`)), `${host} ${f}`);
      }
    }
  });

  test("users: the same file but for the password hashes", () => {
    const users = object(run, "Secret", "chi-posthog-users")!.stringData["chstack-users.xml"] as string;
    const hashes = (xml: string) => xml.replace(/<password_sha256_hex>[0-9a-f]{64}<\/password_sha256_hex>/g, "<password_sha256_hex>(hash)</password_sha256_hex>")
      .replace(/<networks>[\s\S]*?<\/networks>/g, "<networks>(target)</networks>");
    assert.equal(hashes(users), hashes(loopback("chi-posthog-0-0", "users.d/chstack-users.xml")));
  });
});

describe("a topology change touches only what it must", () => {
  const base = runK8s({ clickhouse: { cluster: "events", shards: 2, replicas: 2 } });
  const hostsOf = (r: ProgramRun) => byKind(r, "StatefulSet").map((o) => o.metadata.name).filter((n: string) => n.startsWith("chi-")).sort();

  function unchangedHosts(after: ProgramRun) {
    for (const name of hostsOf(base)) {
      assert.deepEqual(object(after, "StatefulSet", name), object(base, "StatefulSet", name), `${name}: pod template and annotations untouched`);
      assert.deepEqual(object(after, "ConfigMap", `${name}-config`), object(base, "ConfigMap", `${name}-config`));
      assert.deepEqual(object(after, "Service", name), object(base, "Service", name));
    }
    assert.deepEqual(object(after, "ConfigMap", "chi-events-common"), object(base, "ConfigMap", "chi-events-common"), "shared settings untouched");
    assert.notEqual(after.outputs.schemaJob, base.outputs.schemaJob, "the schema runs again for the new hosts");
    assert.notDeepEqual(object(after, "ConfigMap", "chi-events-remote-servers"), object(base, "ConfigMap", "chi-events-remote-servers"), "the cluster list changes (hot-reloaded)");
  }

  test("2x2 -> 2x3: one new replica per shard, after the last existing one", () => {
    const after = runK8s({ clickhouse: { cluster: "events", shards: 2, replicas: 3 } });
    assert.ok(after.ok, after.error);
    unchangedHosts(after);
    assert.deepEqual(hostsOf(after).filter((n: string) => !hostsOf(base).includes(n)), ["chi-events-0-2", "chi-events-1-2"]);
    for (const s of [0, 1]) {
      assert.deepEqual(resource(after, "kubernetes:apps/v1:StatefulSet", `clickhouse-chi-events-${s}-2`)!.dependsOn.map((d) => d.split("::").at(-1)), [`clickhouse-chi-events-${s}-1`]);
    }
    assert.equal(after.objects.length - base.objects.length, 2 * 3, "a StatefulSet, a Service and a ConfigMap per new host (the schema Job is replaced, not added)");
  });

  test("2x2 -> 3x2: a new shard with its Services and PDB; existing shards untouched", () => {
    const after = runK8s({ clickhouse: { cluster: "events", shards: 3, replicas: 2 } });
    assert.ok(after.ok, after.error);
    unchangedHosts(after);
    assert.deepEqual(hostsOf(after).filter((n: string) => !hostsOf(base).includes(n)), ["chi-events-2-0", "chi-events-2-1"]);
    assert.ok(object(after, "Service", "shard-events-2") && object(after, "PodDisruptionBudget", "shard-events-2"));
    assert.deepEqual(object(after, "PodDisruptionBudget", "shard-events-0"), object(base, "PodDisruptionBudget", "shard-events-0"));
    assert.equal(after.objects.length - base.objects.length, 2 * 3 + 2);
  });
});

describe("size", () => {
  test("the program for 64 x 3 evaluates", (t) => {
    const run = runK8s({ clickhouse: { cluster: "events", shards: 64, replicas: 3 }, coordination: { size: 5 } });
    assert.ok(run.ok, run.error);
    assert.equal(run.objects.length, 19 + 3 * 64 * 3 + 2 * 64);
    t.diagnostic(`64x3: ${run.resources.length} resources (${run.objects.length} Kubernetes objects) in ${run.ms.toFixed(0)} ms`);
  });
});
