// The loopback target's part of a topology change (infra/model/change.ts has the steps): the guard
// before a shard is removed, catch-up of new replicas, publishing remote_servers, retiring removed hosts
// and removing their replica metadata from ZooKeeper. `up` calls these in the model's order.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect, type HostConnection } from "../../schema/connection.ts";
import { removeReplicaMetadata, rowsOnlyOn, waitCaughtUp, type CatchUp } from "../../schema/replicas.ts";
import type { HostRef, TopologyChange } from "../model/change.ts";
import type { ClickHouseHost, Topology } from "../model/topology.ts";
import { isOurs, sleep, stopServer } from "./procs.ts";
import type { StackSecrets } from "./secrets.ts";
import type { StackState } from "./state.ts";

export class ChangeRefused extends Error {}

/** What the change steps need of the running `up`: the state record, kept current on disk. */
export interface ChangeContext {
  readonly dir: string;
  readonly t: Topology;
  readonly secrets: StackSecrets;
  readonly byName: ReadonlyMap<string, ClickHouseHost>;
  readonly state: StackState;
  save(): void;
  log(line: string): void;
}

const aliveIn = (state: StackState, name: string) => Boolean(state.processes[name] && isOurs(state.processes[name]!));

/** Run `fn` with an admin connection to each named host, closed after. */
async function withHosts<T>(c: Pick<ChangeContext, "byName" | "secrets">, names: readonly string[], fn: (conns: HostConnection[]) => Promise<T>): Promise<T> {
  const admin = c.secrets.clickhouse.admin;
  const conns = names.map((n) => connect({ host: n, url: `http://127.0.0.1:${c.byName.get(n)!.endpoint.ports.http}`, username: admin.user, password: admin.password }));
  try {
    return await fn(conns);
  } finally {
    await Promise.all(conns.map((x) => x.close().catch(() => undefined)));
  }
}

/**
 * Before anything changes: a shard to remove must hold no rows in any table, unless allowed. Its hosts
 * must be running to tell; a shard whose hosts are all down is refused too (its rows cannot be counted).
 */
export async function guardShardRemoval(
  c: Omit<ChangeContext, "save" | "dir" | "t">, change: TopologyChange, allow: boolean,
): Promise<void> {
  for (const shard of change.removed.shards) {
    const hosts = change.published.before.filter((h) => h.shard === shard);
    const running = hosts.filter((h) => aliveIn(c.state, h.name));
    const staying = change.published.before.find((h) => !change.removed.shards.includes(h.shard) && aliveIn(c.state, h.name));
    const counts = await withHosts(c, [...running, ...(staying ? [staying] : [])].map((h) => h.name), (conns) =>
      rowsOnlyOn(conns.slice(0, running.length), staying ? conns.at(-1) : undefined));
    const held = counts.map((r) => `${r.table} (${r.rows} rows)`);
    const why = running.length === 0
      ? `none of its hosts (${hosts.map((h) => h.name).join(", ")}) is running, so its rows cannot be counted`
      : held.length > 0 ? `it holds ${held.join(", ")}` : undefined;
    if (!why) continue;
    if (!allow) {
      throw new ChangeRefused(
        `removing shard ${shard} is refused: ${why}. Nothing was changed. Once the shard is gone no query sees those rows: ` +
          "copy them to the shards that stay first (INSERT INTO the Distributed table SELECT FROM remote() of a shard host) and truncate " +
          "its tables, or run `chstack up --allow drop-shard` to remove the shard with its data",
      );
    }
    c.log(`WARNING: removing shard ${shard} although ${why} (--allow drop-shard or chstack:scaling.allowDropShard): those rows leave the cluster`);
  }
}

/** Each new replica of an existing shard fetches the shard's parts from a published peer until it matches it. */
export async function catchUpAll(c: ChangeContext, change: TopologyChange): Promise<CatchUp[]> {
  return Promise.all(change.added.replicas.map(async (h) => {
    const peer = change.published.before.find((p) => p.shard === h.shard && aliveIn(c.state, p.name));
    if (!peer) throw new Error(`${h.name} has no running peer in shard ${h.shard} to catch up with`);
    const r = await withHosts(c, [h.name, peer.name], ([mine, theirs]) => waitCaughtUp(mine!, theirs!, c.log));
    c.log(`  ${h.name.padEnd(22)} caught up with ${peer.name}: ${r.rows} rows in ${r.seconds.toFixed(1)} s`);
    return r;
  }));
}

/** Wait until every host lists exactly `hosts` in system.clusters for the stack's cluster (a hot reload). */
export async function waitPublished(c: ChangeContext, hosts: readonly HostRef[], timeoutMs = 60_000): Promise<void> {
  const want = hosts.length;
  const deadline = Date.now() + timeoutMs;
  // The cluster name is a validated identifier ([a-z][a-z0-9_]*): 18.16 has no query parameters.
  const sql = `SELECT count() AS n FROM system.clusters WHERE cluster = '${c.t.cluster}'`;
  await withHosts(c, hosts.map((h) => h.name), async (conns) => {
    for (const conn of conns) {
      for (;;) {
        const rows = await conn.query<{ n: string }>(sql);
        if (Number(rows[0]?.n) === want) break;
        if (Date.now() > deadline) throw new Error(`${conn.host} still lists ${rows[0]?.n} hosts in cluster ${c.t.cluster} after ${timeoutMs / 1000} s, not ${want}: it did not reload remote_servers (see its error log)`);
        await sleep(250);
      }
    }
  });
}

/**
 * Stop the removed hosts. A replica of a shard that stays first waits until a remaining replica holds all
 * it has; its data is then moved to retired/ (or purged), and its ZooKeeper clean-up is queued.
 */
export async function retire(c: ChangeContext, change: TopologyChange, wanted: readonly HostRef[], purge: boolean): Promise<void> {
  for (const h of [...change.removed.replicas, ...change.published.before.filter((x) => change.removed.shards.includes(x.shard))]) {
    const rec = c.state.processes[h.name];
    const keeper = wanted.find((w) => w.shard === h.shard && aliveIn(c.state, w.name));
    if (rec && isOurs(rec) && keeper) {
      const r = await withHosts(c, [keeper.name, h.name], ([k, gone]) => waitCaughtUp(k!, gone!, c.log));
      c.log(`  ${h.name.padEnd(22)} ${keeper.name} holds all its ${r.rows} rows`);
    }
    if (rec) await stopServer(rec);
    delete c.state.processes[h.name];
    const from = join(c.dir, "clickhouse", h.name);
    let keptIn: string | null = null;
    if (existsSync(from)) {
      if (purge) rmSync(from, { recursive: true, force: true });
      else {
        keptIn = join("retired", `${h.name}-${new Date().toISOString().replaceAll(":", "")}`);
        mkdirSync(join(c.dir, "retired"), { recursive: true });
        renameSync(from, join(c.dir, keptIn));
      }
    }
    const { [h.name]: _gone, ...hosts } = c.state.hosts ?? {};
    c.state.hosts = hosts;
    c.state.retired = [...(c.state.retired ?? []), { host: h.name, at: new Date().toISOString(), keptIn }];
    c.state.cleanup = [...(c.state.cleanup ?? []).filter((x) => x.host !== h.name), { host: h.name, since: new Date().toISOString() }];
    c.save();
    c.log(`  ${h.name.padEnd(22)} retired: stopped, its data ${keptIn ? `kept in ${keptIn}` : "purged"}`);
  }
}

/** Remove the replica metadata of every retired host still queued; a failure stays queued for the next `up`. */
export async function cleanUp(c: ChangeContext): Promise<{ removed: string[]; failed?: string }> {
  const queued = c.state.cleanup ?? [];
  if (queued.length === 0) return { removed: [] };
  const connect = c.t.coordination.nodes.map((n) => `${n.endpoint.host}:${n.endpoint.ports.client}`).join(",");
  try {
    const removed = await removeReplicaMetadata(connect, c.t.zookeeper.root, queued.map((q) => q.host));
    c.state.cleanup = [];
    c.save();
    c.log(`  ZooKeeper: removed the replica metadata of ${queued.map((q) => q.host).join(", ")} (${removed.length} znode(s))`);
    return { removed };
  } catch (e) {
    const failed = (e as Error).message;
    c.state.cleanup = queued.map((q) => ({ ...q, lastError: failed }));
    c.save();
    c.log(`  ZooKeeper clean-up of ${queued.map((q) => q.host).join(", ")} failed (${failed}); the next \`chstack up\` retries it`);
    return { removed: [], failed };
  }
}
