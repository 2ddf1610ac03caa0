// What a topology change asks of running ClickHouse hosts: how many rows each table holds, whether a
// replica has caught up with a peer, and the removal of a retired replica's metadata from ZooKeeper.
// Used by both targets (infra/loopback/change.ts, jobs/retire-job.ts); every statement is valid on 18.16
// and current ClickHouse.
import zookeeper from "node-zookeeper-client";
import type { HostConnection } from "./connection.ts";
import { LEDGER_DATABASE } from "./ledger.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TableRows {
  readonly table: string;
  readonly rows: number;
}

/** Rows per table (active parts) on one host, every database but the system ones; tables with no rows omitted. */
export async function rowsPerTable(host: HostConnection): Promise<TableRows[]> {
  const rows = await host.query<{ db: string; t: string; rows: string }>(
    "SELECT database AS db, table AS t, sum(rows) AS rows FROM system.parts WHERE active AND database NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA') GROUP BY database, table ORDER BY database, table");
  return rows.map((r) => ({ table: `${r.db}.${r.t}`, rows: Number(r.rows) })).filter((r) => r.rows > 0);
}

/**
 * The rows a removed shard would take out of every query: per table, the most any of its hosts holds,
 * leaving out the ledger (each host's own record) and tables replicated beyond the shard (their ZooKeeper
 * path is one a host that stays also has, as PostHog's `noshard` tables).
 */
export async function rowsOnlyOn(shardHosts: readonly HostConnection[], staying: HostConnection | undefined): Promise<TableRows[]> {
  const shared = staying ? new Set([...(await replicatedTables(staying)).values()].map((r) => r.zk)) : new Set<string>();
  const counts = new Map<string, number>();
  for (const h of shardHosts) {
    const paths = await replicatedTables(h);
    for (const r of await rowsPerTable(h)) {
      if (r.table.startsWith(`${LEDGER_DATABASE}.`) || shared.has(paths.get(r.table)?.zk ?? "")) continue;
      counts.set(r.table, Math.max(counts.get(r.table) ?? 0, r.rows));
    }
  }
  return [...counts].map(([table, rows]) => ({ table, rows }));
}

export interface ReplicaRow { db: string; t: string; queue: string; zk: string }

/** The host's replicated tables (`db.table`) with their ZooKeeper path and replication queue size. */
export async function replicatedTables(host: HostConnection): Promise<Map<string, ReplicaRow>> {
  const rows = await host.query<ReplicaRow>("SELECT database AS db, table AS t, queue_size AS queue, zookeeper_path AS zk FROM system.replicas");
  return new Map(rows.map((r) => [`${r.db}.${r.t}`, r]));
}

export interface CatchUp {
  readonly host: string;
  readonly peer: string;
  readonly rows: number;
  readonly seconds: number;
}

/**
 * Wait until `host` holds, for every replicated table of `peer` that shares its ZooKeeper path, an empty
 * replication queue and at least the rows the peer had when last looked at. Progress every 2 s.
 */
export async function waitCaughtUp(host: HostConnection, peer: HostConnection, log: (l: string) => void, timeoutMs = 30 * 60_000): Promise<CatchUp> {
  const began = Date.now();
  let lastLog = 0;
  for (;;) {
    const [peerTables, peerRows] = await Promise.all([replicatedTables(peer), rowsPerTable(peer)]);
    const [mine, myRows] = await Promise.all([replicatedTables(host), rowsPerTable(host)]);
    const rowsOf = (list: TableRows[], table: string) => list.find((r) => r.table === table)?.rows ?? 0;
    const tables = [...peerTables.keys()].filter((t) => mine.get(t)?.zk === peerTables.get(t)!.zk);
    const missing = [...peerTables.keys()].filter((t) => !mine.has(t));
    const want = tables.reduce((n, t) => n + rowsOf(peerRows, t), 0);
    const have = tables.reduce((n, t) => n + Math.min(rowsOf(myRows, t), rowsOf(peerRows, t)), 0);
    const queued = tables.reduce((n, t) => n + Number(mine.get(t)!.queue), 0);
    const done = missing.length === 0 && queued === 0 && tables.every((t) => rowsOf(myRows, t) >= rowsOf(peerRows, t));
    const seconds = (Date.now() - began) / 1000;
    if (done) return { host: host.host, peer: peer.host, rows: want, seconds };
    if (missing.length > 0 && seconds > 30) throw new Error(`${host.host} lacks the replicated table(s) ${missing.join(", ")} of its peer ${peer.host}: its schema did not converge`);
    if (Date.now() - began > timeoutMs) {
      throw new Error(`${host.host} did not catch up with ${peer.host} in ${Math.round(timeoutMs / 1000)} s: ${have} of ${want} rows, ${queued} replication task(s) queued`);
    }
    if (Date.now() - lastLog >= 2000) {
      lastLog = Date.now();
      log(`  ${host.host.padEnd(22)} catching up with ${peer.host}: ${have} of ${want} rows (${want === 0 ? 100 : Math.floor((have / want) * 100)}%), ${queued} queued`);
    }
    await sleep(500);
  }
}

function zk<T>(fn: (cb: (e: unknown, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((e, v) => (e ? reject(e instanceof Error ? e : new Error(String(e))) : resolve(v as T))));
}

/**
 * Remove the replica metadata of the named (retired) hosts from every replicated table under the cluster's
 * ZooKeeper root: exactly `<table>/replicas/<host>`, never another replica's node, and the table's node
 * too once no replica is left (a removed shard). A table node is one with `replicas` and `metadata` children.
 * Returns the znodes removed. The hosts must be stopped: a running replica would recreate its node.
 */
export async function removeReplicaMetadata(connect: string, root: string, hosts: readonly string[], activeWaitMs = 60_000): Promise<string[]> {
  const client = zookeeper.createClient(connect, { sessionTimeout: 10_000, retries: 3 });
  const removed: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ZooKeeper at ${connect} did not accept a session in 10 s`)), 10_000);
      client.once("connected", () => (clearTimeout(timer), resolve()));
      client.connect();
    });
    const children = (path: string) => zk<string[]>((cb) => client.getChildren(path, (e, c) => cb(e, c)));
    const removeTree = async (path: string): Promise<void> => {
      for (const c of await children(path)) await removeTree(`${path}/${c}`);
      await zk<void>((cb) => client.remove(path, -1, (e) => cb(e)));
    };
    const visit = async (path: string): Promise<void> => {
      const kids = await children(path).catch(() => [] as string[]);
      if (kids.includes("replicas") && kids.includes("metadata")) {
        const replicas = await children(`${path}/replicas`);
        for (const h of hosts.filter((x) => replicas.includes(x))) {
          // A replica that still holds a session is alive: never remove it (a killed server's session
          // lasts until its timeout, 30 s here).
          const deadline = Date.now() + activeWaitMs;
          while ((await children(`${path}/replicas/${h}`)).includes("is_active")) {
            if (Date.now() > deadline) throw new Error(`replica ${h} of ${path} is still active (is_active): its server runs; not removed`);
            await sleep(1000);
          }
          await removeTree(`${path}/replicas/${h}`);
          removed.push(`${path}/replicas/${h}`);
        }
        if (replicas.length > 0 && replicas.every((r) => hosts.includes(r))) {
          await removeTree(path);
          removed.push(path);
          // And the parents left empty by it, below the tables' root (a removed shard's `<tables>/<shard>`).
          for (let up = path.slice(0, path.lastIndexOf("/")); up.startsWith(`${tablesRoot}/`); up = up.slice(0, up.lastIndexOf("/"))) {
            if ((await children(up)).length > 0) break;
            await zk<void>((cb) => client.remove(up, -1, (e) => cb(e)));
            removed.push(up);
          }
        }
        return;
      }
      for (const k of kids) await visit(path === "/" ? `/${k}` : `${path}/${k}`);
    };
    const tablesRoot = `${root === "/" ? "" : root}/clickhouse/tables`;
    await visit(root);
    return removed;
  } finally {
    client.close();
  }
}
