// The HTTP layer (app/server.ts, app/capture/route.ts) through Fastify's inject: the real buffer, routes and
// error handling, with a recording writer in place of ClickHouse and a key table in place of Postgres.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { after, describe, test } from "node:test";
import type pg from "pg";
import { EventBuffer } from "../../app/buffer.ts";
import { CAPTURE_PATHS } from "../../app/capture/route.ts";
import { ClickHouse, EVENT_COLUMNS } from "../../app/clickhouse.ts";
import { buildServer } from "../../app/server.ts";
import { Teams } from "../../app/teams.ts";

const KEYS: Record<string, { id: string; name: string }> = { phc_team5_key: { id: "5", name: "five" } };
const fakePool = { query: async (_sql: string, params?: unknown[]) => ({ rows: params && KEYS[String(params[0])] ? [KEYS[String(params[0])]] : [] }) } as unknown as pg.Pool;

const written: string[][] = [];
let failWrites = false;
const buffer = new EventBuffer({
  write: async (body) => {
    if (failWrites) throw new Error("ClickHouse is down");
    written.push(body.toString("utf8").trim().split("\n"));
  },
  flushIntervalMs: 5, batchMaxEvents: 1000, bufferMaxEvents: 10_000, concurrency: 2, attempts: 2, backoffMs: () => 1,
});
const clickhouse = new ClickHouse({ urls: ["http://127.0.0.1:9"], user: "u", password: "p", database: "posthog", insertTimeoutMs: 1000, queryTimeoutMs: 1000, binding: "auto" });
const app = buildServer({ clickhouse, teams: new Teams(fakePool, { cacheTtlMs: 1000 }), buffer, database: "posthog", bodyLimit: 64 * 1024, closing: () => false }, false);
after(async () => {
  await app.close();
  await clickhouse.close();
});

/** The TabSeparated lines the app wrote, as objects (EVENT_COLUMNS' order; fields unescaped). */
const rows = () => written.flat().map((l) => {
  const f = l.split("\t").map((x) => x.replace(/\\(.)/g, (_m, c: string) => ({ t: "\t", n: "\n", r: "\r", "0": "\0" } as Record<string, string>)[c] ?? c));
  return Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, /^(timestamp|team_id|created_at|_timestamp|_offset)$/.test(c) ? Number(f[i]) : f[i]]));
});

describe("capture over HTTP", () => {
  test("a posthog-node style batch (gzip, Content-Encoding) is answered 200 after its rows are written", async () => {
    written.length = 0;
    const body = gzipSync(JSON.stringify({ api_key: "phc_team5_key", batch: [
      { distinct_id: "u1", event: "$pageview", properties: { $lib: "posthog-node" }, timestamp: "2026-11-01T10:00:00.000Z", uuid: "0190a0b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b" },
      { distinct_id: "u2", event: "signup", properties: {}, timestamp: "2026-11-01T10:00:01.000Z" },
    ] }));
    const r = await app.inject({ method: "POST", url: "/batch/", headers: { "content-type": "application/json", "content-encoding": "gzip" }, payload: body });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { status: 1 });
    const got = rows();
    assert.deepEqual(got.map((x) => [x.event, x.distinct_id, x.team_id]), [["$pageview", "u1", 5], ["signup", "u2", 5]]);
    assert.equal(got[0]!.uuid, "0190a0b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b");
    assert.match(String(got[1]!.uuid), /^[0-9a-f-]{36}$/);
  });

  test("every capture path, with and without the trailing slash", async () => {
    written.length = 0;
    const paths = CAPTURE_PATHS.flatMap((p) => [p, `${p}/`]);
    for (const url of paths) {
      const r = await app.inject({ method: "POST", url, headers: { "content-type": "application/json" }, payload: { api_key: "phc_team5_key", event: url, distinct_id: "d" } });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    }
    assert.deepEqual(rows().map((x) => x.event).sort(), [...paths].sort());
  });

  test("GET with a data parameter (posthog-js's fallback)", async () => {
    written.length = 0;
    const data = Buffer.from(JSON.stringify({ event: "get", properties: { token: "phc_team5_key", distinct_id: "g" } })).toString("base64");
    const r = await app.inject({ method: "GET", url: `/e/?data=${encodeURIComponent(data)}&compression=base64&ver=1.0` });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(rows().map((x) => x.event), ["get"]);
  });

  test("refusals write nothing and say why", async () => {
    written.length = 0;
    const post = (payload: string | Buffer | object, headers: Record<string, string> = { "content-type": "application/json" }) =>
      app.inject({ method: "POST", url: "/batch/", headers, payload: typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) });
    const cases: [Awaited<ReturnType<typeof post>>, number, string, RegExp][] = [
      [await post({ api_key: "wrong_key_0001", batch: [{ event: "e", distinct_id: "d" }] }), 401, "invalid_api_key", /not recognised/],
      [await post({ batch: [{ event: "e", distinct_id: "d" }] }), 401, "missing_api_key", /api_key/],
      [await post('{"api_key":"phc_team5_key","batch":[{"event":'), 400, "invalid_json", /^malformed JSON/],
      [await post({ api_key: "phc_team5_key", batch: [{ event: "ok", distinct_id: "d" }, { distinct_id: "d" }] }), 400, "invalid_event", /^batch\.1\.event: required$/],
      [await post({ api_key: "phc_team5_key", batch: [{ event: "ok", distinct_id: "d", timestamp: 12 }] }), 400, "invalid_event", /^batch\.0\.timestamp: expected a string, got number$/],
      [await post("x".repeat(70 * 1024), { "content-type": "application/json" }), 413, "payload_too_large", /exceeds 65536 bytes/],
      [await post(gzipSync(JSON.stringify({ api_key: "phc_team5_key", batch: [{ event: "e".repeat(100_000) }] })), { "content-type": "application/json", "content-encoding": "gzip" }), 413, "payload_too_large", /decompressed payload exceeds/],
    ];
    for (const [r, status, error, message] of cases) {
      assert.equal(r.statusCode, status, r.body);
      assert.equal(r.json().error, error);
      assert.match(r.json().message, message);
      assert.doesNotMatch(r.body, /at .*\.ts:\d+/, "a stack trace in the answer");
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(written.length, 0);
  });

  test("a batch that cannot be written is answered 503, not 200", async () => {
    failWrites = true;
    try {
      const r = await app.inject({ method: "POST", url: "/batch/", headers: { "content-type": "application/json" }, payload: { api_key: "phc_team5_key", batch: [{ event: "e", distinct_id: "d" }] } });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().error, "write_failed");
      assert.equal(r.json().message, "events not stored: the insert failed 2 time(s); retry (the app's log has the cause)");
    } finally {
      failWrites = false;
    }
  });

  test("CORS: preflight and the allowed origin", async () => {
    const pre = await app.inject({ method: "OPTIONS", url: "/e/", headers: { origin: "https://shop.example", "access-control-request-headers": "content-type" } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "https://shop.example");
    assert.equal(pre.headers["access-control-allow-credentials"], "true");
    assert.equal(pre.headers["access-control-allow-headers"], "content-type");
  });
});

describe("other routes", () => {
  test("/healthz; /readyz says which database is unreachable", async () => {
    assert.deepEqual((await app.inject("/healthz")).json(), { status: "ok" });
    const r = await app.inject("/readyz");
    assert.equal(r.statusCode, 503);
    const body = r.json();
    assert.equal(body.status, "not ready");
    assert.equal(body.clickhouse.ok, false);
    assert.match(body.clickhouse.error, /ECONNREFUSED|connect/);
    assert.deepEqual(body.postgres, { ok: true });
  });

  test("the read API wants a key, and reads only the key's team", async () => {
    assert.equal((await app.inject("/api/trends?event=e")).statusCode, 401);
    assert.equal((await app.inject({ url: "/api/trends?event=e", headers: { authorization: "Bearer nope_nope_nope" } })).statusCode, 401);
    const forbidden = await app.inject({ url: "/api/trends?event=e&team_id=6", headers: { authorization: "Bearer phc_team5_key" } });
    assert.equal(forbidden.statusCode, 403);
    assert.match(forbidden.json().message, /belongs to team 5/);
    const bad = await app.inject("/api/breakdown?event=e&api_key=phc_team5_key");
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().message, "property: required");
  });

  test("unknown routes answer JSON 404", async () => {
    const r = await app.inject("/nope?api_key=secret");
    assert.equal(r.statusCode, 404);
    assert.deepEqual(r.json(), { error: "not_found", message: "no route GET /nope" });
  });
});
