// The ClickHouse collector: per host, in one round trip of what the server knows by itself (version,
// uptime, ZooKeeper session, parts, rows per table, replicas' queue, delay, read-only and session flags,
// replication queue entries that keep failing),
// and beside it a second query for what system.replicas must ask ZooKeeper (total and active replicas, log
// pointer), which may hang while ZooKeeper is away: that one may fail without the host counting as down.
// Every statement runs on 18.16 and on current ClickHouse.
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import type { HostConnection } from "../schema/connection.ts";
import type { ClickHouseFacts, ReplicaFacts } from "./facts.ts";
import { describeError, withTimeout } from "./util.ts";

/** A replication queue entry counts as failing after this many tries (one failed fetch during a merge is normal). */
export const FAILING_TRIES = 3;

/** What system.replicas and system.parts answer locally: a scalar subquery per part, one row. */
export const LOCAL_QUERY = `SELECT
  version() AS version,
  uptime() AS uptime,
  (SELECT sum(value) FROM system.metrics WHERE metric = 'ZooKeeperSession') AS zk_sessions,
  (SELECT (count(), sum(bytes_on_disk)) FROM system.parts WHERE active) AS parts,
  (SELECT groupArray((database, table, toString(rows))) FROM
     (SELECT database, table, sum(rows) AS rows FROM system.parts WHERE active GROUP BY database, table)) AS table_rows,
  (SELECT groupArray((database, table, zookeeper_path, toString(is_readonly), toString(is_session_expired), toString(queue_size), toString(absolute_delay)))
     FROM system.replicas) AS replicas,
  (SELECT groupArray((database, table, toString(n), e)) FROM
     (SELECT database, table, count() AS n, any(last_exception) AS e FROM system.replication_queue
      WHERE last_exception != '' AND num_tries >= ${FAILING_TRIES} GROUP BY database, table)) AS queue_errors`;

/** The columns of system.replicas that ClickHouse reads from ZooKeeper. */
export const ZOOKEEPER_QUERY = "SELECT database, table, total_replicas, active_replicas, log_max_index, log_pointer FROM system.replicas";

/** system.disks (19.15+): the default disk is where the data path is. */
export const DISKS_QUERY = "SELECT sum(free_space) AS free, sum(total_space) AS total FROM system.disks WHERE name = 'default'";

export interface LocalRow {
  version: string;
  uptime: number | string;
  zk_sessions: number | string;
  parts: [number | string, number | string];
  table_rows: [string, string, string][];
  replicas: [string, string, string, string, string, string, string][];
  queue_errors: [string, string, string, string][];
}

export interface ZooKeeperRow {
  database: string;
  table: string;
  total_replicas: number | string;
  active_replicas: number | string;
  log_max_index: number | string;
  log_pointer: number | string;
}

export interface HealthEndpoint {
  /** The host's name (chi-<cluster>-<shard>-<replica>). */
  readonly host: string;
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

/**
 * A connection for the health checks: every request gives up after `timeoutMs` (the server is reported,
 * not waited for). Also the schema introspection's door (schema/apply.ts observe).
 */
export function healthConnection(e: HealthEndpoint, timeoutMs: number): HostConnection {
  const client = createClient({
    url: e.url, username: e.username, password: e.password, request_timeout: timeoutMs,
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    host: e.host,
    query: async <T>(sql: string) => (await client.query({ query: sql, format: "JSONEachRow" })).json<T>(),
    command: async (sql) => {
      await client.command({ query: sql });
    },
    insert: async (table, rows) => {
      await client.insert({ table, values: rows as Record<string, unknown>[], format: "JSONEachRow" });
    },
    close: () => client.close(),
  };
}

/** A door that is known shut (a loopback server the state says is not running): fails at once. */
export function closedConnection(host: string, why: string): HostConnection {
  const fail = async (): Promise<never> => {
    throw new Error(why);
  };
  return { host, query: fail, command: fail, insert: fail, close: async () => undefined };
}

/** 19.15 and later have system.disks. */
export function hasSystemDisks(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 19 || (major === 19 && minor >= 15);
}

/** The local row and the ZooKeeper rows as facts (pure: unit-tested). */
export function parseClickHouse(
  host: { host: string; shard: number; replica: number }, local: LocalRow, zk: ZooKeeperRow[] | undefined,
): Omit<ClickHouseFacts, "disk" | "replicasZooKeeperError"> {
  const fromZk = new Map((zk ?? []).map((r) => [`${r.database}.${r.table}`, r]));
  const replicas: ReplicaFacts[] = local.replicas.map(([db, table, path, ro, expired, queue, delay]) => {
    const name = `${db}.${table}`;
    const z = fromZk.get(name);
    const max = Number(z?.log_max_index ?? 0);
    const pointer = Number(z?.log_pointer ?? 0);
    return {
      table: name, zookeeperPath: path, isReadonly: ro === "1", isSessionExpired: expired === "1",
      queueSize: Number(queue), absoluteDelay: Number(delay),
      ...(z ? {
        totalReplicas: Number(z.total_replicas), activeReplicas: Number(z.active_replicas),
        // An empty log reads 0 / 0; once entries exist, the pointer is the next index to pull.
        logLag: pointer === 0 && max === 0 ? 0 : Math.max(0, max + 1 - pointer),
      } : {}),
    };
  });
  return {
    ...host, reachable: true, version: local.version, uptimeSeconds: Number(local.uptime), zookeeperSessions: Number(local.zk_sessions),
    replicas, parts: { active: Number(local.parts[0]), bytesOnDisk: Number(local.parts[1]) },
    tableRows: Object.fromEntries(local.table_rows.map(([db, table, rows]) => [`${db}.${table}`, Number(rows)])),
    replicationErrors: local.queue_errors.map(([db, table, n, e]) => ({ table: `${db}.${table}`, entries: Number(n), lastException: e })),
  };
}

export interface ClickHouseCollectOptions {
  readonly timeoutMs: number;
  /** Free and total bytes of the host's data disk when the server cannot say (18.16: loopback's statfs). */
  readonly disk?: () => Promise<ClickHouseFacts["disk"]>;
}

export async function collectClickHouse(
  conn: HostConnection, host: { host: string; shard: number; replica: number }, o: ClickHouseCollectOptions,
): Promise<ClickHouseFacts> {
  const local = withTimeout(o.timeoutMs, () => conn.query<LocalRow>(LOCAL_QUERY));
  const zk = withTimeout(o.timeoutMs, () => conn.query<ZooKeeperRow>(ZOOKEEPER_QUERY));
  zk.catch(() => undefined); // read below, once the host answered
  let row: LocalRow | undefined;
  try {
    [row] = await local;
    if (!row) throw new Error("the health query returned nothing");
  } catch (e) {
    return { ...host, reachable: false, error: describeError(e) };
  }
  let zkRows: ZooKeeperRow[] | undefined;
  let zkError: string | undefined;
  try {
    zkRows = await zk;
  } catch (e) {
    zkError = describeError(e);
  }
  const facts = parseClickHouse(host, row, zkRows);
  let disk: ClickHouseFacts["disk"];
  try {
    if (hasSystemDisks(row.version)) {
      const [d] = await withTimeout(o.timeoutMs, () => conn.query<{ free: string; total: string }>(DISKS_QUERY));
      if (d && Number(d.total) > 0) disk = { free: Number(d.free), total: Number(d.total), source: "system.disks" };
    } else if (o.disk) {
      const probe = o.disk;
      disk = await withTimeout(o.timeoutMs, probe); // a hung file system is the fault it looks for
    }
  } catch {
    // unknown: the check says so
  }
  return { ...facts, ...(disk ? { disk } : {}), ...(zkError ? { replicasZooKeeperError: zkError } : {}) };
}
