// The Postgres side of `compare`: an events table in a schema of its own (never the app's tables), loaded
// the way one bulk-loads Postgres (one COPY inside the transaction that created the table, FREEZE, indexes
// built afterwards, then VACUUM ANALYZE so that index-only scans need no heap visits), queried with
// bound parameters.
import { createHash } from "node:crypto";
import type pg from "pg";
import type { Topology } from "../infra/model/topology.ts";
import { postgresClient } from "../infra/loopback/servers.ts";
import type { StackSecrets } from "../infra/loopback/secrets.ts";
import type { BrowserDesign } from "./clickhouse.ts";
import { copyIn } from "./copy.ts";
import { POSTGRES_COLUMNS, toCopyText } from "./encode.ts";
import type { EventGenerator } from "./events.ts";

export const PG_SCHEMA = "chstack_compare";
export const PG_EVENTS = `${PG_SCHEMA}.events`;
/** One row, written last by a complete load: what was loaded. Its absence means "load again". */
export const PG_LOADED = `${PG_SCHEMA}.loaded`;

/** The table. With "materialized", $browser is a stored generated column, as ClickHouse's mat_$browser. */
export function createTable(browser: BrowserDesign): string {
  return [
    `CREATE TABLE ${PG_EVENTS} (`,
    "    uuid uuid NOT NULL,",
    "    event text NOT NULL,",
    "    properties jsonb NOT NULL,",
    '    "timestamp" timestamptz NOT NULL,',
    "    team_id bigint NOT NULL,",
    "    distinct_id text NOT NULL,",
    "    elements_chain text NOT NULL DEFAULT '',",
    `    created_at timestamptz NOT NULL${browser === "materialized" ? "," : ""}`,
    ...(browser === "materialized" ? ["    browser text GENERATED ALWAYS AS (coalesce(properties ->> '$browser', '')) STORED"] : []),
    ")",
  ].join("\n");
}

/**
 * The indexes, each for the queries it serves:
 * - the primary key on uuid (every events table has one; PostHog's had an id);
 * - (team_id, event, timestamp): one event of one team over a time range (the daily counts, the breakdown,
 *   and the per-type count, which reads it in event order); with "materialized" it carries the browser
 *   (INCLUDE) so that the breakdown is an index-only scan too;
 * - (team_id, timestamp) INCLUDE (distinct_id): daily unique users as an index-only scan.
 */
export function indexes(browser: BrowserDesign): { name: string; sql: string }[] {
  return [
    { name: "events_pkey", sql: `ALTER TABLE ${PG_EVENTS} ADD CONSTRAINT events_pkey PRIMARY KEY (uuid)` },
    { name: "events_team_event_ts", sql: `CREATE INDEX events_team_event_ts ON ${PG_EVENTS} (team_id, event, "timestamp")${browser === "materialized" ? " INCLUDE (browser)" : ""}` },
    { name: "events_team_ts", sql: `CREATE INDEX events_team_ts ON ${PG_EVENTS} (team_id, "timestamp") INCLUDE (distinct_id)` },
  ];
}

/**
 * Statistics on the day expression the queries group by: without them the planner guesses thousands of
 * groups and sorts; with them it knows a window has a few dozen days and hashes.
 */
export const STATISTICS = `CREATE STATISTICS ${PG_SCHEMA}.events_day ON ((timestamp AT TIME ZONE 'UTC')::date) FROM ${PG_EVENTS}`;

/** The breakdown's Postgres expression for a design (never null, as ClickHouse's '' for a missing key). */
export const postgresBrowser = (browser: BrowserDesign) => (browser === "materialized" ? "browser" : "coalesce(properties ->> '$browser', '')");

/** What identifies the Postgres layout (a reused load must have been made with the same one). */
export const postgresLayout = (browser: BrowserDesign) =>
  createHash("sha256").update([createTable(browser), ...indexes(browser).map((i) => i.sql), STATISTICS].join(";\n")).digest("hex").slice(0, 16);

/** Session settings for loading: room to sort for index builds. */
export const LOAD_SETTINGS = ["SET maintenance_work_mem = '256MB'"];
/**
 * Session settings for querying: room for hash aggregates and sorts in memory (the server's default is 4MB);
 * no JIT, whose 0.2 s of compiling per query did not pay here (daily unique users: 6.1 s with, 4.1 s without).
 */
export const QUERY_SETTINGS = ["SET work_mem = '64MB'", "SET jit = off"];

export async function openPostgres(t: Topology, secrets: StackSecrets): Promise<pg.Client> {
  const client = postgresClient(t, secrets, "app");
  await client.connect();
  return client;
}

export async function dropPostgres(client: pg.Client): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
}

export interface PostgresLoadTimes {
  /** CREATE TABLE and the COPY, one transaction. */
  readonly copyMs: number;
  readonly indexMs: Readonly<Record<string, number>>;
  readonly vacuumMs: number;
}

const ms = (from: number) => performance.now() - from;

/**
 * Load every event of the generator: the schema, table and rows in one transaction (COPY FREEZE: the rows
 * are written frozen and all-visible, which only a table created in the same transaction allows), so an
 * interrupted load leaves nothing; then the indexes, then VACUUM ANALYZE.
 */
export async function loadPostgres(client: pg.Client, gen: EventGenerator, browser: BrowserDesign, opts: { chunkRows: number; onRows: (n: number) => void }): Promise<PostgresLoadTimes> {
  const t0 = performance.now();
  await client.query("BEGIN");
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
    await client.query(`CREATE SCHEMA ${PG_SCHEMA}`);
    await client.query(createTable(browser));
    const copy = copyIn(client, `COPY ${PG_EVENTS} (${POSTGRES_COLUMNS.map((c) => `"${c}"`).join(", ")}) FROM STDIN WITH (FREEZE)`);
    for (let batch = gen.batch(opts.chunkRows); batch.length > 0; batch = gen.batch(opts.chunkRows)) {
      await copy.write(toCopyText(batch));
      opts.onRows(batch.length);
    }
    await copy.end();
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
  const copyMs = ms(t0);
  for (const s of LOAD_SETTINGS) await client.query(s);
  const indexMs: Record<string, number> = {};
  for (const x of indexes(browser)) {
    const s = performance.now();
    await client.query(x.sql);
    indexMs[x.name] = ms(s);
  }
  await client.query(STATISTICS);
  const v = performance.now();
  await client.query(`VACUUM (ANALYZE) ${PG_EVENTS}`);
  return { copyMs, indexMs, vacuumMs: ms(v) };
}

export interface LoadRecord {
  readonly events: number;
  readonly seed: number;
  readonly reference: string;
  readonly generator: number;
  readonly layout: string;
  readonly loadedAt: string;
}

/** The record of a complete load, if there is one. */
export async function readLoadRecord(client: pg.Client): Promise<LoadRecord | undefined> {
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS ok", [PG_LOADED]);
  if (!exists.rows[0]?.ok) return undefined;
  const r = await client.query(`SELECT events::text AS events, seed::text AS seed, reference::text AS reference, generator, layout, loaded_at FROM ${PG_LOADED} LIMIT 1`);
  const row = r.rows[0];
  if (!row) return undefined;
  return { events: Number(row.events), seed: Number(row.seed), reference: row.reference, generator: row.generator, layout: row.layout, loadedAt: new Date(row.loaded_at).toISOString() };
}

/** Written once both databases hold the whole load. */
export async function writeLoadRecord(client: pg.Client, r: Omit<LoadRecord, "loadedAt">): Promise<void> {
  await client.query(`CREATE TABLE ${PG_LOADED} (events bigint NOT NULL, seed bigint NOT NULL, reference date NOT NULL, generator integer NOT NULL, layout text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`INSERT INTO ${PG_LOADED} (events, seed, reference, generator, layout) VALUES ($1, $2, $3, $4, $5)`, [r.events, r.seed, r.reference, r.generator, r.layout]);
}

export interface PostgresStorage {
  /** pg_total_relation_size: heap, TOAST and every index. */
  readonly bytes: number;
  readonly tableBytes: number;
  readonly indexBytes: number;
  readonly indexes: Readonly<Record<string, number>>;
}

export async function postgresStorage(client: pg.Client): Promise<PostgresStorage> {
  const r = await client.query(
    "SELECT pg_total_relation_size($1::regclass)::text AS total, pg_indexes_size($1::regclass)::text AS indexes",
    [PG_EVENTS],
  );
  const per = await client.query(
    "SELECT c.relname AS name, pg_relation_size(c.oid)::text AS bytes FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass ORDER BY 1",
    [PG_EVENTS],
  );
  const bytes = Number(r.rows[0].total);
  const indexBytes = Number(r.rows[0].indexes);
  return { bytes, tableBytes: bytes - indexBytes, indexBytes, indexes: Object.fromEntries(per.rows.map((x) => [x.name, Number(x.bytes)])) };
}

export async function postgresCount(client: pg.Client): Promise<number> {
  return Number((await client.query(`SELECT count(*)::text AS n FROM ${PG_EVENTS}`)).rows[0].n);
}

export async function postgresVersion(client: pg.Client): Promise<string> {
  return String((await client.query("SHOW server_version")).rows[0].server_version);
}
