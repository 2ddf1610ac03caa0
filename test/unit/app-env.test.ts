// The app's environment contract (app/env.ts): defaults, every bad value named by its variable, secrets
// never echoed; and the app exits 1 on a bad environment, saying which variable.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { describeEnv, parseEnv, redactUrl } from "../../app/env.ts";

const BASE = { CLICKHOUSE_URL: "http://ch:8123", DATABASE_URL: "postgres://app:s3cret-pw@pg:5432/posthog" };

function problems(env: Record<string, string | undefined>): string[] {
  const r = parseEnv(env);
  assert.equal(r.ok, false, "expected the environment to be refused");
  return r.ok ? [] : r.problems;
}

describe("parseEnv", () => {
  test("the minimum: CLICKHOUSE_URL and DATABASE_URL; every default", () => {
    const r = parseEnv(BASE);
    assert.ok(r.ok);
    assert.deepEqual(r.env, {
      CLICKHOUSE_URL: ["http://ch:8123"], CLICKHOUSE_DATABASE: "posthog", CLICKHOUSE_USER: "default", CLICKHOUSE_PASSWORD: "",
      DATABASE_URL: BASE.DATABASE_URL, PORT: 8000, HOST: "0.0.0.0", LOG_LEVEL: "info",
      APP_FLUSH_INTERVAL_MS: 100, APP_BATCH_MAX_EVENTS: 20_000, APP_BUFFER_MAX_EVENTS: 200_000, APP_INSERT_CONCURRENCY: 2,
      APP_INSERT_ATTEMPTS: 5, APP_INSERT_TIMEOUT_MS: 30_000, APP_BODY_LIMIT_BYTES: 20 * 1024 * 1024, APP_QUERY_TIMEOUT_MS: 30_000,
      APP_TEAM_CACHE_TTL_MS: 30_000, APP_SHUTDOWN_TIMEOUT_MS: 25_000, APP_STARTUP_TIMEOUT_MS: 60_000, APP_QUERY_BINDING: "auto",
      APP_BOOTSTRAP_TEAM_NAME: "Default",
    });
  });

  test("CLICKHOUSE_URL: a comma-separated list (the loopback target has no load balancer); trailing slashes dropped", () => {
    const r = parseEnv({ ...BASE, CLICKHOUSE_URL: "http://127.0.0.1:19021/, http://127.0.0.1:19024,,https://ch.example:8443" });
    assert.ok(r.ok);
    assert.deepEqual(r.env.CLICKHOUSE_URL, ["http://127.0.0.1:19021", "http://127.0.0.1:19024", "https://ch.example:8443"]);
  });

  test("the other variables set", () => {
    const r = parseEnv({
      ...BASE, PORT: "31990", HOST: "127.0.0.1", APP_FLUSH_INTERVAL_MS: "250", APP_BATCH_MAX_EVENTS: "1000",
      APP_BOOTSTRAP_TEAM_TOKEN: "phc_0123456789", APP_BOOTSTRAP_TEAM_NAME: "dev", APP_QUERY_BINDING: "literals", CLICKHOUSE_DATABASE: "events_2",
    });
    assert.ok(r.ok);
    assert.equal(r.env.PORT, 31990);
    assert.equal(r.env.APP_FLUSH_INTERVAL_MS, 250);
    assert.equal(r.env.APP_BOOTSTRAP_TEAM_TOKEN, "phc_0123456789");
    assert.equal(r.env.APP_QUERY_BINDING, "literals");
  });

  test("an empty variable counts as unset", () => {
    const r = parseEnv({ ...BASE, PORT: "", CLICKHOUSE_PASSWORD: "" });
    assert.ok(r.ok);
    assert.equal(r.env.PORT, 8000);
  });

  test("each bad value named by its variable, all at once", () => {
    assert.deepEqual(problems({ CLICKHOUSE_URL: "ftp://x", DATABASE_URL: "mysql://x", PORT: "http", APP_FLUSH_INTERVAL_MS: "0", LOG_LEVEL: "loud" }), [
      'CLICKHOUSE_URL: "ftp://x" is not an http(s) URL',
      "DATABASE_URL: must be a postgres:// or postgresql:// URL with a host",
      'PORT: must be an integer from 1 to 65535, got "http"',
      'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent", got "loud"',
      'APP_FLUSH_INTERVAL_MS: must be an integer from 1 to 10000, got "0"',
    ]);
  });

  test("missing required variables", () => {
    assert.deepEqual(problems({}), [
      "CLICKHOUSE_URL: is required (one http URL, or several separated by commas)",
      "DATABASE_URL: is required (postgres://user:password@host:port/database)",
    ]);
  });

  test("credentials belong in CLICKHOUSE_USER / CLICKHOUSE_PASSWORD, not in the URL", () => {
    const [p] = problems({ ...BASE, CLICKHOUSE_URL: "http://u:pw@ch:8123" });
    assert.equal(p, "CLICKHOUSE_URL: must not hold credentials (set CLICKHOUSE_USER and CLICKHOUSE_PASSWORD)");
    assert.doesNotMatch(problems({ ...BASE, CLICKHOUSE_URL: "http://ch:8123,http://u:pw@ch2:8123" }).join("\n"), /pw/);
  });

  test("database names are plain identifiers; the batch fits the buffer", () => {
    assert.match(problems({ ...BASE, CLICKHOUSE_DATABASE: "x`; DROP" })[0]!, /^CLICKHOUSE_DATABASE: must be a plain identifier/);
    assert.deepEqual(problems({ ...BASE, APP_BATCH_MAX_EVENTS: "5000", APP_BUFFER_MAX_EVENTS: "100" }), ['APP_BATCH_MAX_EVENTS: must not exceed APP_BUFFER_MAX_EVENTS, got "5000"']);
  });

  test("a secret's value is never echoed", () => {
    const ps = problems({ ...BASE, DATABASE_URL: "not a url with s3cret-pw", APP_BOOTSTRAP_TEAM_TOKEN: "short pw" });
    assert.equal(ps.length, 2);
    for (const p of ps) assert.doesNotMatch(p, /s3cret|short pw/);
  });
});

describe("redaction", () => {
  test("redactUrl hides the password and secret-looking parameters", () => {
    assert.equal(redactUrl("postgres://app:s3cret-pw@pg:5432/posthog"), "postgres://app:***@pg:5432/posthog");
    assert.equal(redactUrl("postgres://pg/db?sslpassword=x&sslmode=require"), "postgres://pg/db?sslpassword=***&sslmode=require");
    assert.equal(redactUrl("::"), "<unparseable URL>");
  });

  test("describeEnv: what may be logged", () => {
    const r = parseEnv({ ...BASE, CLICKHOUSE_PASSWORD: "chpw-123", APP_BOOTSTRAP_TEAM_TOKEN: "phc_0123456789" });
    assert.ok(r.ok);
    const text = JSON.stringify(describeEnv(r.env));
    assert.doesNotMatch(text, /s3cret-pw|chpw-123|phc_0123456789/);
    assert.match(text, /"DATABASE_URL":"postgres:\/\/app:\*\*\*@pg:5432\/posthog"/);
  });
});

test("the app exits 1 on a bad environment, naming the variable and not the secret", () => {
  const main = fileURLToPath(new URL("../../app/main.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", "tsx", main], {
    env: { PATH: process.env.PATH, CLICKHOUSE_URL: "http://127.0.0.1:1", DATABASE_URL: "postgres://u:topsecret@127.0.0.1:1/db", PORT: "99999" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const line = JSON.parse(r.stderr.trim().split("\n")[0]!);
  assert.equal(line.msg, 'bad environment: PORT: must be an integer from 1 to 65535, got "99999"');
  assert.doesNotMatch(r.stderr + r.stdout, /topsecret/);
});
