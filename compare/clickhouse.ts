// The ClickHouse side of `compare`: PostHog's events tables in a database of their own, created by the
// project's declaration API and schema apply, loaded through the Distributed table in large streamed
// blocks, replicated, then queried through the Distributed table.
import { Readable } from "node:stream";
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { Topology } from "../infra/model/topology.ts";
import { closeAll, connectAll } from "../infra/loopback/schema.ts";
import type { StackSecrets } from "../infra/loopback/secrets.ts";
import { apply, planFor } from "../schema/apply.ts";
import * as ddl from "../schema/ddl.ts";
import { defineSchema, type Declaration, type DistributedTableInput, type LocalTableInput } from "../schema/declare.ts";
import { quoteName } from "../schema/expressions.ts";
import { declarationHash } from "../schema/plan.ts";
import { posthogTables } from "../schema/posthog.ts";
import { CLICKHOUSE_COLUMNS, encodeClickHouse, type ClickHouseFormat } from "./encode.ts";
import type { EventGenerator } from "./events.ts";
import { int, literal, str } from "./sql.ts";

export const CH_DATABASE = "chstack_compare";
/** The local (sharded, replicated) table, the Distributed table inserts go through, and the one queries read. */
export const CH_LOCAL = `${CH_DATABASE}.sharded_events`;
export const CH_WRITABLE = `${CH_DATABASE}.writable_events`;
export const CH_EVENTS = `${CH_DATABASE}.events`;
export const MATERIALIZED_BROWSER = "mat_$browser";
export const DISTINCT_ID_HASH = "distinct_id_hash";
export const INDEX_GRANULARITY = 2048;

/** How the $browser breakdown reads the property: a column materialized at insert, or the JSON at query time. */
export type BrowserDesign = "materialized" | "json";

/**
 * PostHog's own events tables (schema/posthog.ts: ReplicatedReplacingMergeTree by month, ordered by team,
 * day, event and hashes of distinct_id and uuid, sharded by sipHash64(distinct_id)) in their own database.
 * With "materialized", `mat_$browser` is filled at insert as PostHog's column materializer does, and
 * writable_events carries only the columns an INSERT may name.
 */
export function compareDeclaration(browser: BrowserDesign, database = CH_DATABASE): Declaration {
  const wanted = new Set(["sharded_events", "writable_events", "events"]);
  const tables = posthogTables(database).filter((t) => wanted.has(t.name)).map((t): LocalTableInput | DistributedTableInput => {
    if (t.kind === "table") {
      const materialized = (name: string, type: string, expression: string) => ({ name, type, default: { kind: "MATERIALIZED" as const, expression } });
      return {
        ...t,
        // Event names are a few dozen values: LowCardinality (dictionary-encoded; 18.16 needs a session
        // setting to create it, which the schema apply passes) makes reading and grouping by them about 3x
        // cheaper than PostHog's String (measured on 18.16, 10M events).
        columns: [
          ...t.columns.map((c) => (c.name === "event" ? { ...c, type: "LowCardinality(String)" } : c)),
          // Daily unique users count this 8-byte hash (the sorting key's own cityHash64(distinct_id)) instead of
          // hashing every distinct_id string at query time: 3-4x less work, and exact unless two of a day's
          // users collide in 64 bits (about 1e-10 at 100,000 users a day; Postgres's exact count would show it).
          materialized(DISTINCT_ID_HASH, "UInt64", "cityHash64(distinct_id)"),
          ...(browser === "materialized" ? [materialized(MATERIALIZED_BROWSER, "LowCardinality(String)", "visitParamExtractString(properties, '$browser')")] : []),
        ],
        // 2048-row granules: a team's event on one day is a short range of the sorting key, and with 8192-row
        // granules a query reads 2-3 times the rows it needs (about 20% slower at 10M events, measured).
        settings: { ...t.settings, index_granularity: INDEX_GRANULARITY },
      };
    }
    if (t.kind === "distributed" && t.name === "writable_events") return { ...t, columns: "writable" };
    return t;
  });
  return defineSchema({ tables });
}

/** The breakdown's ClickHouse expression for a design. */
export const clickhouseBrowser = (browser: BrowserDesign) =>
  browser === "materialized" ? quoteName(MATERIALIZED_BROWSER) : `visitParamExtractString(properties, ${literal(str("$browser"))})`;

/** What identifies the ClickHouse layout (a reused load must have been made with the same one). */
export const clickhouseLayout = (browser: BrowserDesign, cluster: string) => declarationHash(compareDeclaration(browser), cluster);

export interface ClickHouseSide {
  readonly t: Topology;
  /** One client per host, as the stack's admin, by host name. */
  readonly clients: ReadonlyMap<string, ClickHouseClient>;
  readonly first: ClickHouseClient;
  close(): Promise<void>;
}

export function openClickHouse(t: Topology, secrets: StackSecrets): ClickHouseSide {
  const admin = secrets.clickhouse.admin;
  const clients = new Map(t.hosts.map((h) => [h.name, createClient({
    url: `http://127.0.0.1:${h.endpoint.ports.http}`, username: admin.user, password: admin.password,
    request_timeout: 30 * 60_000, keep_alive: { enabled: true }, log: { level: ClickHouseLogLevel.OFF },
  })]));
  return {
    t, clients, first: clients.get(t.hosts[0]!.name)!,
    close: async () => void (await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)))),
  };
}

export async function rows<T>(client: ClickHouseClient, query: string, settings: Readonly<Record<string, number>> = {}): Promise<T[]> {
  return (await client.query({ query, format: "JSONEachRow", clickhouse_settings: settings })).json<T>();
}

/**
 * Drop the compare tables: Distributed tables on every host, then the replicated table one replica at a
 * time within each shard (shards in parallel), so that the last replica of a shard sees itself last and
 * removes the table's ZooKeeper path with it.
 */
export async function dropClickHouse(side: ClickHouseSide, opts: { database?: boolean } = {}): Promise<void> {
  const { t, clients } = side;
  const run = (host: string, query: string) => clients.get(host)!.command({ query });
  await Promise.all(t.hosts.map(async (h) => {
    await run(h.name, `DROP TABLE IF EXISTS ${CH_EVENTS}`);
    await run(h.name, `DROP TABLE IF EXISTS ${CH_WRITABLE}`);
  }));
  const replicas = Math.max(...t.shards.map((s) => s.hosts.length));
  for (let r = 0; r < replicas; r++) {
    await Promise.all(t.shards.map(async (s) => {
      const h = s.hosts[r];
      if (h) await run(h.name, `DROP TABLE IF EXISTS ${CH_LOCAL}`);
    }));
  }
  if (opts.database) await Promise.all(t.hosts.map((h) => run(h.name, `DROP DATABASE IF EXISTS ${CH_DATABASE}`)));
}

/** Create the declared tables on every host with the project's schema apply. */
export async function applyClickHouse(t: Topology, secrets: StackSecrets, browser: BrowserDesign, log: (line: string) => void): Promise<number> {
  const conns = connectAll(t, secrets);
  try {
    const r = await apply(compareDeclaration(browser), t, conns, { log });
    if (!r.converged) {
      const failed = r.outcomes.find((o) => o.failed);
      throw new Error(`the compare tables did not converge on every host${failed?.failed ? `: ${failed.host}: ${failed.failed.error}` : ""}`);
    }
    return r.plan.tasks.length;
  } finally {
    await closeAll(conns);
  }
}

/** Whether every host has the declared tables exactly (nothing to apply). */
export async function clickhouseMatches(t: Topology, secrets: StackSecrets, browser: BrowserDesign): Promise<boolean> {
  const conns = connectAll(t, secrets);
  try {
    const p = await planFor(compareDeclaration(browser), t, conns);
    return p.tasks.length === 0 && p.drift.length === 0 && p.unreachable.length === 0;
  } finally {
    await closeAll(conns);
  }
}

export interface LoadOptions {
  readonly format: ClickHouseFormat;
  /** Rows per INSERT: one streamed request each, sent to the hosts in turn. */
  readonly rowsPerInsert: number;
  /** Rows encoded at a time within an INSERT's stream. */
  readonly chunkRows: number;
  readonly onRows: (n: number) => void;
}

/**
 * INSERT every event of the generator through writable_events, one streamed request per `rowsPerInsert`
 * rows, the requests to the hosts in turn (each host splits its blocks by shard: insert_distributed_sync=1,
 * as every profile of the stack sets, so that an INSERT returns once every shard has its rows).
 */
export async function loadClickHouse(side: ClickHouseSide, gen: EventGenerator, opts: LoadOptions): Promise<void> {
  const hosts = side.t.hosts;
  const query = `INSERT INTO ${CH_WRITABLE} (${CLICKHOUSE_COLUMNS.map(quoteName).join(", ")}) FORMAT ${opts.format}`;
  for (let i = 0; gen.remaining > 0; i++) {
    let left = Math.min(opts.rowsPerInsert, gen.remaining);
    const body = Readable.from((function* () {
      while (left > 0) {
        const batch = gen.batch(Math.min(opts.chunkRows, left));
        left -= batch.length;
        if (batch.length === 0) return;
        yield encodeClickHouse(opts.format, batch);
        opts.onRows(batch.length);
      }
    })(), { objectMode: false });
    const client = side.clients.get(hosts[i % hosts.length]!.name)!;
    const r = await client.exec({ query, values: body, clickhouse_settings: { insert_distributed_sync: 1 } });
    r.stream.resume();
    await new Promise<void>((resolve, reject) => (r.stream.on("end", resolve), r.stream.on("error", reject)));
  }
}

/**
 * Merge each partition to one part (OPTIMIZE ... FINAL on one replica of each shard; the merge replicates),
 * as one would after a bulk backfill: a query then reads one part per month instead of one per insert.
 */
export async function optimizeClickHouse(side: ClickHouseSide): Promise<void> {
  await Promise.all(side.t.shards.map(async (s) => {
    // On the shard's leader: 18.16 forwards an OPTIMIZE sent to another replica to the leader as the user
    // `default`, which a chstack stack does not have ("Unknown user default").
    const leaders = await Promise.all(s.hosts.map(async (h) => {
      const [r] = await rows<{ leader: number }>(side.clients.get(h.name)!,
        `SELECT is_leader AS leader FROM system.replicas WHERE database = ${literal(str(CH_DATABASE))} AND table = 'sharded_events'`);
      return Number(r?.leader ?? 0) === 1 ? h.name : undefined;
    }));
    const leader = leaders.find((x) => x !== undefined);
    if (!leader) throw new Error(`shard ${s.index} of ${CH_LOCAL} has no leader replica (is ZooKeeper up?)`);
    const client = side.clients.get(leader)!;
    const parts = await rows<{ partition: string }>(client,
      `SELECT DISTINCT partition FROM system.parts WHERE active AND database = ${literal(str(CH_DATABASE))} AND table = 'sharded_events'`);
    for (const { partition } of parts) {
      if (!/^\d+$/.test(partition)) throw new Error(`unexpected partition ${partition} (the table is partitioned by toYYYYMM)`);
      await client.command({ query: `OPTIMIZE TABLE ${CH_LOCAL} PARTITION ${literal(int(Number(partition)))} FINAL` });
    }
  }));
}

/** Every replica has every part its shard was given. */
export async function syncReplicas(side: ClickHouseSide): Promise<void> {
  await Promise.all([...side.clients.values()].map((c) => c.command({ query: ddl.syncReplica(CH_LOCAL) })));
}

/** Rows through the Distributed table (undefined if it does not exist). */
export async function clickhouseCount(side: ClickHouseSide): Promise<number | undefined> {
  try {
    const [r] = await rows<{ n: string }>(side.first, `SELECT count() AS n FROM ${CH_EVENTS}`);
    return Number(r?.n);
  } catch {
    return undefined;
  }
}

export interface HostStorage {
  readonly host: string;
  readonly shard: number;
  readonly replica: number;
  readonly bytes: number;
  readonly rows: number;
  readonly parts: number;
}

export interface ClickHouseStorage {
  /** bytes_on_disk of the active parts of the local table, summed over every host: counts each replica's copy. */
  readonly bytesAllHosts: number;
  /** One copy of the data: the first replica of each shard. */
  readonly bytesOneCopy: number;
  readonly replicas: number;
  readonly hosts: readonly HostStorage[];
}

export async function clickhouseStorage(side: ClickHouseSide): Promise<ClickHouseStorage> {
  const hosts = await Promise.all(side.t.hosts.map(async (h): Promise<HostStorage> => {
    const [r] = await rows<{ bytes: string; rows: string; parts: string }>(side.clients.get(h.name)!,
      `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows, count() AS parts FROM system.parts WHERE active AND database = ${literal(str(CH_DATABASE))} AND table = 'sharded_events'`);
    return { host: h.name, shard: h.address.shardIndex, replica: h.address.replicaIndex, bytes: Number(r?.bytes ?? 0), rows: Number(r?.rows ?? 0), parts: Number(r?.parts ?? 0) };
  }));
  return {
    bytesAllHosts: hosts.reduce((s, h) => s + h.bytes, 0),
    bytesOneCopy: hosts.filter((h) => h.replica === 0).reduce((s, h) => s + h.bytes, 0),
    replicas: Math.max(...side.t.shards.map((s) => s.hosts.length)),
    hosts,
  };
}

/** Merges still running on the compare table, over every host. */
export async function runningMerges(side: ClickHouseSide): Promise<number> {
  const counts = await Promise.all([...side.clients.values()].map(async (c) =>
    Number((await rows<{ n: string }>(c, `SELECT count() AS n FROM system.merges WHERE database = ${literal(str(CH_DATABASE))}`))[0]?.n ?? 0)));
  return counts.reduce((s, n) => s + n, 0);
}

export async function clickhouseVersion(side: ClickHouseSide): Promise<string> {
  return (await rows<{ v: string }>(side.first, "SELECT version() AS v"))[0]?.v ?? "unknown";
}
