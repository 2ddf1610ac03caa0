// The reference app (app/) on a real 2x2 stack (ClickHouse 18.16, ZooKeeper, Postgres 15), run as a child
// process the way the loopback target runs it (node --import tsx app/main.ts, configured by environment):
// 10k events through /batch/ read back exactly through the Distributed table and the trends endpoint; the
// real posthog-node client; bad input refused with nothing written; SIGTERM and kill -9 while requests are
// buffered lose nothing acknowledged; hostile strings through the 18.16 literal binding; the bundle the
// Dockerfile ships.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PostHog } from "posthog-node";
import { HOSTILE } from "../support/hostile-strings.ts";
import { quoteString } from "../../app/literals.ts";
import { goldenSecrets } from "../support/goldens.ts";
import { processExists, rows, testStack } from "../support/stack.ts";

// The stack takes 31900-31931 (Postgres +0, ZooKeeper +1..+3, ClickHouse +20..+31); the app and a port
// nobody listens on (a dead ClickHouse URL, first in the list: every batch that starts there fails over) sit above.
const stack = testStack("2x2", "it-app", 31900);
const APP_PORT = 31990;
const BUNDLE_PORT = 31991;
const DEAD_PORT = 31989;
const BASE = `http://127.0.0.1:${APP_PORT}`;
const secrets = goldenSecrets();
const KEY = `phc_it_${randomBytes(12).toString("hex")}`;
const OTHER_KEY = `phc_it_other_${randomBytes(12).toString("hex")}`;
const repo = fileURLToPath(new URL("../../", import.meta.url));
const BODY_LIMIT = 4 * 1024 * 1024;

interface AppProc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}
const running = new Set<AppProc>();

function appEnv(extra: Record<string, string> = {}): Record<string, string> {
  const pgs = secrets.postgres;
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    CLICKHOUSE_URL: [`http://127.0.0.1:${DEAD_PORT}`, ...stack.topology.hosts.map((h) => `http://127.0.0.1:${h.endpoint.ports.http}`)].join(","),
    CLICKHOUSE_DATABASE: stack.topology.database,
    CLICKHOUSE_CLUSTER: stack.topology.cluster,
    CLICKHOUSE_USER: secrets.clickhouse.writer.user,
    CLICKHOUSE_PASSWORD: secrets.clickhouse.writer.password,
    DATABASE_URL: `postgres://${pgs.user}:${pgs.password}@127.0.0.1:${stack.topology.postgres.port}/${pgs.database}`,
    HOST: "127.0.0.1",
    PORT: String(APP_PORT),
    APP_BOOTSTRAP_TEAM_TOKEN: KEY,
    APP_BOOTSTRAP_TEAM_NAME: "it-app",
    APP_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    ...extra,
  };
}

function startApp(extra: Record<string, string> = {}, command: string[] = ["--import", "tsx", join(repo, "app/main.ts")]): AppProc {
  const child = spawn(process.execPath, command, { cwd: repo, env: appEnv(extra), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const p: AppProc = { child, exited, output: () => out };
  running.add(p);
  void exited.then(() => running.delete(p));
  return p;
}

async function waitReady(p: AppProc, base = BASE, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) assert.fail(`the app exited ${p.child.exitCode}:\n${p.output()}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  assert.fail(`the app was not ready within ${timeoutMs} ms:\n${p.output()}`);
}

async function stopApp(p: AppProc, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (p.child.exitCode === null && p.child.pid !== undefined) process.kill(p.child.pid, signal);
  return p.exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ev {
  event: string;
  distinct_id: string;
  properties?: Record<string, unknown>;
  timestamp?: string;
  uuid?: string;
}

async function postBatch(events: readonly Ev[], o: { key?: string; gzip?: boolean; base?: string } = {}): Promise<Response> {
  const json = JSON.stringify({ api_key: o.key ?? KEY, batch: events });
  return fetch(`${o.base ?? BASE}/batch/`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(o.gzip ? { "content-encoding": "gzip" } : {}) },
    body: o.gzip ? gzipSync(json) : json,
  });
}

/** Every replica has fetched what its peer took (an acknowledged insert is on one replica of each shard). */
async function syncReplicas(): Promise<void> {
  await Promise.all(stack.topology.hosts.map(async (_, h) => {
    const admin = stack.client(h, "admin");
    try {
      await admin.command({ query: `SYSTEM SYNC REPLICA ${stack.topology.database}.sharded_events` });
    } finally {
      await admin.close();
    }
  }));
}

/** Rows of a query through the Distributed table `events`, read on host `h`. */
async function read<T>(query: string, h = 0): Promise<T[]> {
  const c = stack.client(h, "readonly");
  try {
    return await rows<T>(c, query);
  } finally {
    await c.close();
  }
}

const db = stack.topology.database;
let team = 0;
let otherTeam = 0;
let app: AppProc;

const countOf = async (where: string, h = 0) => Number((await read<{ n: string }>(`SELECT count() AS n FROM ${db}.events WHERE ${where}`, h))[0]!.n);
const uuidsOf = async (where: string) => new Set((await read<{ u: string }>(`SELECT toString(uuid) AS u FROM ${db}.events WHERE ${where}`)).map((r) => r.u));

describe("the reference app on a 2x2 stack", () => {
  before(async () => {
    const r = await stack.chstack("up");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    app = startApp();
    await waitReady(app);
    const c = new pg.Client({ host: "127.0.0.1", port: stack.topology.postgres.port, user: secrets.postgres.user, password: secrets.postgres.password, database: secrets.postgres.database });
    await c.connect();
    try {
      team = Number((await c.query("SELECT id FROM teams WHERE api_token = $1", [KEY])).rows[0].id);
      otherTeam = Number((await c.query("INSERT INTO teams (name, api_token) VALUES ('other', $1) RETURNING id", [OTHER_KEY])).rows[0].id);
    } finally {
      await c.end();
    }
  });

  after(async () => {
    for (const p of running) {
      if (p.child.exitCode === null && p.child.pid !== undefined) process.kill(p.child.pid, "SIGKILL");
      await p.exited;
    }
    await stack.destroy();
  });

  test("/healthz and /readyz: both databases reachable; the 18.16 binding is literals; startup logged without secrets", async () => {
    assert.deepEqual(await (await fetch(`${BASE}/healthz`)).json(), { status: "ok" });
    const r = await fetch(`${BASE}/readyz`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { status: string; clickhouse: { ok: boolean; version: string; binding: string }; postgres: { ok: boolean } };
    assert.equal(body.status, "ready");
    assert.deepEqual([body.clickhouse.ok, body.postgres.ok], [true, true]);
    assert.match(body.clickhouse.version, /^18\.16\./);
    assert.equal(body.clickhouse.binding, "literals");
    const log = app.output();
    for (const line of log.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
    for (const secret of [secrets.clickhouse.writer.password, secrets.postgres.password, KEY]) assert.ok(!log.includes(secret), "a secret in the log");
    assert.match(log, /ClickHouse 18\.16\.\d+: values bound as escaped literals/);
  });

  test("10k events through /batch/ (half gzip) read back exactly through the Distributed table; trends and breakdown agree with count()", async () => {
    const N = 10_000;
    const start = Date.UTC(2026, 10, 1);
    const sent = Array.from({ length: N }, (_, i): Ev => ({
      event: "it_bulk",
      distinct_id: `user-${i % 777}`,
      properties: { $browser: i % 3 === 0 ? "Chrome" : "Firefox", i },
      timestamp: new Date(start + i * 25_000).toISOString(),
      ...(i % 2 === 0 ? { uuid: randomUUID() } : {}),
    }));
    const responses = await Promise.all(Array.from({ length: 10 }, (_, r) => postBatch(sent.slice(r * 1000, (r + 1) * 1000), { gzip: r % 2 === 0 })));
    for (const r of responses) assert.equal(r.status, 200, await r.text());
    await syncReplicas();

    for (let h = 0; h < 4; h++) assert.equal(await countOf(`team_id = ${team} AND event = 'it_bulk'`, h), N, `through events on host ${h}`);
    const [stats] = await read<{ u: string; i: string }>(`SELECT uniqExact(uuid) AS u, uniqExact(visitParamExtractUInt(properties, 'i')) AS i FROM ${db}.events WHERE team_id = ${team} AND event = 'it_bulk'`);
    assert.deepEqual({ ...stats }, { u: String(N), i: String(N) }, "every event once");
    const given = new Set(sent.flatMap((e) => (e.uuid ? [e.uuid] : [])));
    const stored = await uuidsOf(`team_id = ${team} AND event = 'it_bulk'`);
    for (const u of given) assert.ok(stored.has(u), `client uuid ${u} kept`);

    const direct = await read<{ day: string; n: string; u: string }>(
      `SELECT toString(toDate(timestamp)) AS day, count() AS n, uniqExact(distinct_id) AS u FROM ${db}.events WHERE team_id = ${team} AND event = 'it_bulk' GROUP BY day ORDER BY day`);
    const trends = (await (await fetch(`${BASE}/api/trends?event=it_bulk&from=2026-11-01&to=2026-11-05`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      series: { bucket: string; events: number; users: number }[]; totals: { events: number; users: number };
    };
    assert.equal(trends.totals.events, N);
    assert.equal(trends.totals.users, 777);
    assert.deepEqual(
      trends.series.filter((s) => s.events > 0).map((s) => [s.bucket.slice(0, 10), s.events, s.users]),
      direct.map((d) => [d.day, Number(d.n), Number(d.u)]),
    );
    assert.equal(trends.series.length, 4);

    const hourly = (await (await fetch(`${BASE}/api/trends?event=it_bulk&from=2026-11-01T00:00:00Z&to=2026-11-01T03:00:00Z&interval=hour&api_key=${KEY}`)).json()) as { series: { events: number }[] };
    assert.deepEqual(hourly.series.map((s) => s.events), [144, 144, 144], "3600 s / 25 s per hour");

    const breakdown = (await (await fetch(`${BASE}/api/breakdown?event=it_bulk&property=%24browser&from=2026-11-01&to=2026-11-05`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      values: { value: string; events: number }[]; totals: { events: number };
    };
    assert.deepEqual(breakdown.values.map((v) => [v.value, v.events]), [["Firefox", 6666], ["Chrome", 3334]]);
    assert.equal(breakdown.totals.events, N);
  });

  test("the real posthog-node client delivers N events; exactly N rows land", async () => {
    const N = 1_500;
    const errors: unknown[] = [];
    const ph = new PostHog(KEY, { host: BASE, flushAt: 100, flushInterval: 100 });
    ph.on("error", (e) => errors.push(e));
    for (let i = 0; i < N; i++) ph.capture({ distinctId: `node-${i % 50}`, event: "it_posthog_node", properties: { n: i } });
    ph.identify({ distinctId: "node-1", properties: { email: "node-1@example.com" } });
    await ph.shutdown();
    assert.deepEqual(errors, []);
    await syncReplicas();
    assert.equal(await countOf(`team_id = ${team} AND event = 'it_posthog_node'`), N);
    const [r] = await read<{ u: string; n: string; lib: string }>(
      `SELECT uniqExact(uuid) AS u, uniqExact(visitParamExtractUInt(properties, 'n')) AS n, any(visitParamExtractString(properties, '$lib')) AS lib FROM ${db}.events WHERE team_id = ${team} AND event = 'it_posthog_node'`);
    assert.deepEqual({ ...r }, { u: String(N), n: String(N), lib: "posthog-node" });
    const [identify] = await read<{ p: string }>(`SELECT properties AS p FROM ${db}.events WHERE team_id = ${team} AND event = '$identify'`);
    assert.deepEqual(JSON.parse(identify!.p).$set, { email: "node-1@example.com" });
  });

  test("bad input is refused with a clear status and message, and nothing is written", async () => {
    await syncReplicas();
    const before = await countOf(`team_id = ${team}`);
    const raw = (body: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }) => fetch(`${BASE}/batch/`, { method: "POST", headers, body });
    const ok = { event: "it_bad", distinct_id: "d" };
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ["malformed JSON", raw(`{"api_key":"${KEY}","batch":[{"event":"x",`), 400, /^malformed JSON/],
      ["a missing event name", postBatch([ok, ok, ok, { distinct_id: "d" } as Ev]), 400, /^batch\.3\.event: required$/],
      ["a missing distinct id", postBatch([{ event: "it_bad" } as Ev]), 400, /^batch\.0\.distinct_id: required$/],
      ["a wrong type", postBatch([ok, { event: 42, distinct_id: "d" } as unknown as Ev]), 400, /^batch\.1\.event: expected a string, got number$/],
      ["properties not an object", postBatch([{ ...ok, properties: "x" } as unknown as Ev]), 400, /^batch\.0\.properties: expected an object, got string$/],
      ["a bad timestamp", postBatch([{ ...ok, timestamp: "last tuesday" }]), 400, /^batch\.0\.timestamp: must be an ISO 8601 timestamp/],
      ["an oversized body", raw(JSON.stringify({ api_key: KEY, batch: [{ ...ok, properties: { pad: "x".repeat(BODY_LIMIT) } }] })), 413, /exceeds 4194304 bytes/],
      ["a gzip bomb", raw(gzipSync(JSON.stringify({ api_key: KEY, batch: [{ ...ok, properties: { pad: "x".repeat(2 * BODY_LIMIT) } }] })), { "content-type": "application/json", "content-encoding": "gzip" }), 413, /decompressed payload exceeds/],
      ["a wrong API key", postBatch([ok], { key: "phc_not_a_real_key_123" }), 401, /not recognised/],
      ["no API key", raw(JSON.stringify({ batch: [ok] })), 401, /api_key/],
      ["an unsupported encoding", raw(JSON.stringify({ api_key: KEY, batch: [ok] }), { "content-type": "application/json", "content-encoding": "br" }), 415, /not supported/],
    ];
    for (const [what, pending, status, message] of cases) {
      const r = await pending;
      const text = await r.text();
      assert.equal(r.status, status, `${what}: ${text}`);
      const body = JSON.parse(text) as { error: string; message: string };
      assert.match(body.message, message, what);
      assert.ok(body.error.length > 0);
    }
    await sleep(500); // several flush intervals
    await syncReplicas();
    assert.equal(await countOf(`team_id = ${team}`), before, "rows written by refused requests");
    assert.equal(await countOf(`event = 'it_bad'`), 0);
  });

  test("hostile strings as event names, distinct ids and properties: stored exactly, queried through 18.16's literal binding", async () => {
    const strings = HOSTILE.filter((s) => s !== "" && s.length <= 200);
    const events = strings.map((s, i): Ev => ({ event: s, distinct_id: `${i}:${s}`, properties: { v: s, [s]: i }, timestamp: "2026-11-02T12:00:00Z", uuid: randomUUID() }));
    const r = await postBatch(events, { key: OTHER_KEY });
    assert.equal(r.status, 200, await r.text());
    await syncReplicas();
    const back = await read<{ event: string; distinct_id: string; properties: string }>(`SELECT event, distinct_id, properties FROM ${db}.events WHERE team_id = ${otherTeam}`);
    const key = (e: { event: string; distinct_id: string }) => JSON.stringify([e.event, e.distinct_id]);
    // as PostHog does, a NUL in a distinct id becomes U+FFFD; event names and properties keep it
    assert.deepEqual(back.map(key).sort(), events.map((e) => key({ ...e, distinct_id: e.distinct_id.replace(/\0/g, "\uFFFD") })).sort());
    for (const b of back) assert.deepEqual(JSON.parse(b.properties), events.find((e) => e.event === b.event)!.properties);
    // the app's queries carry each string as an escaped literal (18.16 has no query parameters)
    for (const s of strings) {
      const q = new URLSearchParams({ event: s, from: "2026-11-02", to: "2026-11-03", property: "v" });
      const t = await fetch(`${BASE}/api/trends?${q}`, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
      assert.equal(t.status, 200, JSON.stringify(s));
      assert.deepEqual(((await t.json()) as { totals: unknown }).totals, { events: 1, users: 1 }, JSON.stringify(s));
      const b = (await (await fetch(`${BASE}/api/breakdown?${q}`, { headers: { authorization: `Bearer ${OTHER_KEY}` } })).json()) as { values: { value: string; events: number }[] };
      assert.deepEqual(b.values, [{ value: s, events: 1, users: 1 }], JSON.stringify(s));
    }
    // and ClickHouse 18.16 reads every literal the app can spell back unchanged
    for (const s of HOSTILE) assert.equal((await read<{ v: string }>(`SELECT ${quoteString(s)} AS v`))[0]!.v, s, JSON.stringify(s));
  });

  test("a key reads only its own team", async () => {
    const r = await fetch(`${BASE}/api/trends?event=it_bulk&team_id=${otherTeam}`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { message: string }).message, new RegExp(`belongs to team ${team}`));
    assert.equal((await fetch(`${BASE}/api/trends?event=it_bulk`, { headers: { authorization: "Bearer phc_wrong_key_000" } })).status, 401);
    const bad = await fetch(`${BASE}/api/trends?event=it_bulk&interval=week&api_key=${KEY}`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { message: string }).message, "interval: must be day or hour");
  });

  test("SIGTERM while requests are buffered: they are written and answered; after a restart exactly the acknowledged events are there", async () => {
    assert.equal(await stopApp(app), 0);
    // a long interval: the requests are surely buffered, unanswered, when the signal comes
    app = startApp({ APP_FLUSH_INTERVAL_MS: "5000", APP_BATCH_MAX_EVENTS: "100000" });
    await waitReady(app);
    const wave = (n: number) => Array.from({ length: n }, () => Array.from({ length: 50 }, (_, k): Ev => ({ event: "it_sigterm", distinct_id: `s${k}`, uuid: randomUUID() })));
    const first = wave(20);
    const results = new Map<Ev[], number | string>();
    const send = (evs: Ev[]) => postBatch(evs).then(async (r) => { results.set(evs, r.status); await r.arrayBuffer(); }, (e: Error) => { results.set(evs, (e.cause as Error)?.message ?? e.message); });
    const inFlight = first.map(send);
    await sleep(700);
    assert.equal(results.size, 0, "answered before the flush interval: the test proves nothing");
    const signalled = Date.now();
    process.kill(app.child.pid!, "SIGTERM");
    const late = wave(10);
    const lateSends: Promise<void>[] = [];
    for (const evs of late) {
      lateSends.push(send(evs));
      await sleep(20);
    }
    await Promise.all([...inFlight, ...lateSends]);
    assert.equal(await app.exited, 0, app.output());
    assert.ok(Date.now() - signalled < 4_000, "shutdown waited for the flush interval instead of writing at once");
    for (const evs of first) assert.equal(results.get(evs), 200, "a request in flight at SIGTERM was not answered 200");
    assert.match(app.output(), /shutting down/);

    const acked = new Set([...first, ...late].filter((evs) => results.get(evs) === 200).flatMap((evs) => evs.map((e) => e.uuid!)));
    app = startApp();
    await waitReady(app);
    await syncReplicas();
    const stored = await uuidsOf(`team_id = ${team} AND event = 'it_sigterm'`);
    assert.equal(stored.size, acked.size, "stored != acknowledged");
    assert.equal(await countOf(`team_id = ${team} AND event = 'it_sigterm'`), acked.size);
    for (const u of acked) assert.ok(stored.has(u), `acknowledged event ${u} lost`);
    const t = (await (await fetch(`${BASE}/api/trends?event=it_sigterm&api_key=${KEY}`)).json()) as { totals: { events: number } };
    assert.equal(t.totals.events, acked.size);
  });

  test("kill -9 during a stream of requests: every acknowledged event is there after a restart", async () => {
    const sent: Ev[][] = [];
    const acked: Ev[][] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const evs = Array.from({ length: 100 }, (_, k): Ev => ({ event: "it_kill9", distinct_id: `k${k}`, uuid: randomUUID() }));
        sent.push(evs);
        try {
          const r = await postBatch(evs);
          await r.arrayBuffer();
          if (r.status === 200) acked.push(evs);
        } catch {
          return; // the app is gone
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await sleep(1_000);
    process.kill(app.child.pid!, "SIGKILL");
    stop = true;
    await Promise.all(workers);
    await app.exited;
    assert.ok(acked.length > 0 && acked.length < sent.length, `acked ${acked.length} of ${sent.length}: the kill came at no useful moment`);
    app = startApp();
    await waitReady(app);
    await syncReplicas();
    const stored = await uuidsOf(`team_id = ${team} AND event = 'it_kill9'`);
    for (const u of acked.flat().map((e) => e.uuid!)) assert.ok(stored.has(u), `acknowledged event ${u} lost`);
    const sentIds = new Set(sent.flat().map((e) => e.uuid!));
    for (const u of stored) assert.ok(sentIds.has(u));
  });

  test("the bundle app/Dockerfile ships (app/build.mjs) runs with plain node and no node_modules", async () => {
    const out = mkdtempSync(join(tmpdir(), "chstack-app-bundle-"));
    try {
      const build = spawn(process.execPath, [join(repo, "app/build.mjs"), out], { cwd: repo, stdio: "inherit" });
      assert.equal(await new Promise((r) => build.on("exit", r)), 0);
      const bundled = startApp({ PORT: String(BUNDLE_PORT) }, [join(out, "app.mjs")]);
      await waitReady(bundled, `http://127.0.0.1:${BUNDLE_PORT}`);
      const r = await postBatch([{ event: "it_bundle", distinct_id: "b" }], { base: `http://127.0.0.1:${BUNDLE_PORT}` });
      assert.equal(r.status, 200, await r.text());
      assert.equal(await stopApp(bundled), 0, bundled.output());
      await syncReplicas();
      assert.equal(await countOf(`team_id = ${team} AND event = 'it_bundle'`), 1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("ClickHouse unreachable at start: exit 1 after APP_STARTUP_TIMEOUT_MS, saying so, no secret in the output", async () => {
    const p = startApp({ PORT: String(BUNDLE_PORT), CLICKHOUSE_URL: `http://127.0.0.1:${DEAD_PORT}`, APP_STARTUP_TIMEOUT_MS: "1500" });
    assert.equal(await p.exited, 1);
    const last = JSON.parse(p.output().trim().split("\n").at(-1)!) as { msg: string; err: string };
    assert.equal(last.msg, "could not start");
    assert.match(last.err, /^ClickHouse \(http:\/\/127\.0\.0\.1:31989\): no ClickHouse URL answered: connect ECONNREFUSED/);
    assert.ok(!p.output().includes(secrets.postgres.password));
    assert.ok(!processExists(p.child.pid!));
  });
});
