// The app's entry point: `node --import tsx app/main.ts` (or the bundle, app/build.mjs). Reads the
// environment, waits for ClickHouse and Postgres (APP_STARTUP_TIMEOUT_MS), migrates, listens; on SIGTERM or
// SIGINT stops taking connections, writes every buffered event and answers its request, then exits 0.
import pg from "pg";
import { EventBuffer } from "./buffer.ts";
import { ClickHouse, describeError } from "./clickhouse.ts";
import { describeEnv, parseEnv, redactUrl } from "./env.ts";
import { buildServer, loggerOptions } from "./server.ts";
import { Teams } from "./teams.ts";

const parsed = parseEnv(process.env);
if (!parsed.ok) {
  for (const p of parsed.problems) {
    process.stderr.write(`${JSON.stringify({ level: 60, time: new Date().toISOString(), service: "chstack-app", msg: `bad environment: ${p}` })}\n`);
  }
  process.exit(1);
}
const env = parsed.env;

const clickhouse = new ClickHouse({
  urls: env.CLICKHOUSE_URL, user: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD, database: env.CLICKHOUSE_DATABASE,
  insertTimeoutMs: env.APP_INSERT_TIMEOUT_MS, queryTimeoutMs: env.APP_QUERY_TIMEOUT_MS, binding: env.APP_QUERY_BINDING,
});
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 8, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, application_name: "chstack-app" });
const teams = new Teams(pool, { cacheTtlMs: env.APP_TEAM_CACHE_TTL_MS });
let closing = false;

// eslint-disable-next-line prefer-const
let app: ReturnType<typeof buildServer>;
const buffer = new EventBuffer({
  write: async (body, rows, attempt) => {
    try {
      await clickhouse.insertEvents(body);
    } catch (e) {
      app.log.warn({ rows, attempt, of: env.APP_INSERT_ATTEMPTS, err: describeError(e) }, "insert failed");
      throw e;
    }
  },
  flushIntervalMs: env.APP_FLUSH_INTERVAL_MS,
  batchMaxEvents: env.APP_BATCH_MAX_EVENTS,
  bufferMaxEvents: env.APP_BUFFER_MAX_EVENTS,
  concurrency: env.APP_INSERT_CONCURRENCY,
  attempts: env.APP_INSERT_ATTEMPTS,
  onBatch: (b) => {
    if (b.error) app.log.error({ rows: b.rows, bytes: b.bytes, attempts: b.attempts, err: describeError(b.error) }, "batch not written; its requests were answered 503");
    else app.log.debug({ rows: b.rows, bytes: b.bytes, attempts: b.attempts, ms: b.ms }, "batch written");
  },
});

app = buildServer(
  { clickhouse, teams, buffer, database: env.CLICKHOUSE_DATABASE, bodyLimit: env.APP_BODY_LIMIT_BYTES, closing: () => closing },
  loggerOptions(env.LOG_LEVEL),
);
const log = app.log;

pool.on("error", (e) => log.warn({ err: e.message }, "idle Postgres connection failed"));
process.on("unhandledRejection", (e) => log.error({ err: describeError(e) }, "unhandled rejection"));
process.on("uncaughtException", (e) => {
  log.fatal({ err: describeError(e) }, "uncaught exception; exiting");
  process.exit(1);
});

/** Retry `fn` until it succeeds or the startup deadline passes. */
async function untilReady<T>(what: string, deadline: number, fn: () => Promise<T>): Promise<T> {
  let lastLog = 0;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`${what}: ${describeError(e)}`);
      if (Date.now() - lastLog > 5_000) {
        log.warn({ err: describeError(e) }, `waiting for ${what}`);
        lastLog = Date.now();
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

async function start(): Promise<void> {
  log.info({ config: describeEnv(env) }, "starting");
  const deadline = Date.now() + env.APP_STARTUP_TIMEOUT_MS;
  const [ch] = await Promise.all([
    untilReady(`ClickHouse (${env.CLICKHOUSE_URL.join(", ")})`, deadline, () => clickhouse.detectVersion()),
    untilReady(`Postgres (${redactUrl(env.DATABASE_URL)})`, deadline, async () => {
      const applied = await teams.migrate();
      if (applied.length > 0) log.info({ versions: applied }, "Postgres migrations applied");
    }),
  ]);
  log.info({ version: ch.version, versions: ch.versions, binding: ch.binding }, `ClickHouse ${ch.version}: values bound as ${ch.binding === "parameters" ? "query parameters" : "escaped literals"}`);
  if (env.APP_BOOTSTRAP_TEAM_TOKEN) {
    const { team, created } = await teams.ensure(env.APP_BOOTSTRAP_TEAM_NAME, env.APP_BOOTSTRAP_TEAM_TOKEN);
    log.info({ team_id: team.id, name: team.name }, created ? "bootstrap team created" : "bootstrap team present");
  }
  await app.listen({ port: env.PORT, host: env.HOST });
}

async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log.info({ signal, buffered: buffer.pending }, "shutting down: no new connections; requests in flight are answered once their events are written");
  setTimeout(() => {
    log.error({ buffered: buffer.pending }, `shutdown took longer than ${env.APP_SHUTDOWN_TIMEOUT_MS} ms; exiting (unanswered requests were not acknowledged)`);
    process.exit(1);
  }, env.APP_SHUTDOWN_TIMEOUT_MS).unref();
  const drained = buffer.drain(); // write what is buffered now, and every later add at once
  await app.close(); // waits for the requests in flight, which wait for their batch
  await drained;
  await buffer.drain();
  buffer.close();
  await Promise.allSettled([clickhouse.close(), pool.end()]);
  log.info("stopped");
  process.exit(0);
}

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

start().catch((e: unknown) => {
  log.fatal({ err: describeError(e) }, "could not start");
  process.exit(1);
});
