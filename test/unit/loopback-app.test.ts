// The app as a loopback server: where it sits among the kinds, what it is told, and what `up` compares.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../../infra/config/load.ts";
import { appEnv, appLaunch } from "../../infra/loopback/app.ts";
import { membersOf, STOP_ORDER } from "../../infra/loopback/kinds.ts";
import { generateSecrets } from "../../infra/loopback/secrets.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { buildTopology } from "../../infra/model/topology.ts";

const topo = (raw: Record<string, unknown>) => {
  const c = parseStackConfig(raw, "t", { rejectPlaintextSecrets: true });
  return buildTopology(c, loopbackTarget(c), "t");
};

describe("the app on loopback", () => {
  const t = topo({ clickhouse: { shards: 2, replicas: 2 }, app: { env: { LOG_LEVEL: "debug" } }, loopback: { portBase: 25000 } });
  const secrets = generateSecrets(t.config);

  test("one member after both databases, on base + 16; the first to stop; none without chstack:app", () => {
    const m = membersOf(t);
    assert.deepEqual(m.map((x) => x.role).slice(-2), ["postgres", "app"]);
    assert.deepEqual(m.at(-1)!.ports, { http: 25016 });
    assert.equal(STOP_ORDER[0], "app");
    assert.ok(!membersOf(topo({ loopback: { portBase: 25000 } })).some((x) => x.role === "app"));
  });

  test("told every host's HTTP URL, the writer, Postgres, the dev team's key and its own app.env", () => {
    const env = appEnv(t, secrets);
    assert.equal(env.CLICKHOUSE_URL, t.hosts.map((h) => `http://127.0.0.1:${h.endpoint.ports.http}`).join(","));
    assert.equal(env.CLICKHOUSE_USER, secrets.clickhouse.writer.user);
    assert.equal(env.CLICKHOUSE_PASSWORD, secrets.clickhouse.writer.password);
    const db = new URL(env.DATABASE_URL!);
    assert.deepEqual([db.hostname, db.port, decodeURIComponent(db.username), decodeURIComponent(db.password), db.pathname], ["127.0.0.1", "25000", secrets.postgres.user, secrets.postgres.password, `/${secrets.postgres.database}`]);
    assert.equal(env.APP_BOOTSTRAP_TEAM_TOKEN, secrets.app!.apiKey);
    assert.match(secrets.app!.apiKey, /^phc_[A-Za-z0-9]{32}$/);
    assert.deepEqual([env.HOST, env.PORT, env.LOG_LEVEL], ["127.0.0.1", "25016", "debug"]);
  });

  test("what up compares for a restart holds no credential, and changes with app.env", () => {
    const launch = appLaunch(t, secrets, "/tmp/x");
    for (const v of [secrets.clickhouse.writer.password, secrets.postgres.password, secrets.app!.apiKey]) assert.ok(!launch.includes(v));
    const other = topo({ clickhouse: { shards: 2, replicas: 2 }, app: { env: { LOG_LEVEL: "info" } }, loopback: { portBase: 25000 } });
    assert.notEqual(appLaunch(other, secrets, "/tmp/x"), launch);
    assert.equal(appLaunch(t, generateSecrets(t.config), "/tmp/x"), launch, "new credentials alone do not count");
  });
});
