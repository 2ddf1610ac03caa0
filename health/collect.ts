// Gathers every fact of a stack at once: each ClickHouse host, each ZooKeeper node, Postgres, the app and the
// schema introspection, all in parallel, each within its timeout. Addresses come from the topology model
// (host.endpoint, coordination.nodes, postgres, app), so the same code serves loopback (127.0.0.1 and the
// stack's ports), the schema Job (the cluster's Service names) and a port-forward (`address` maps them).
// Credentials are passed in; Postgres, whose driver the Job does not carry, is a collector passed in too.
import type { ClickHouseHost, Topology } from "../infra/model/topology.ts";
import type { HostConnection } from "../schema/connection.ts";
import type { Declaration } from "../schema/declare.ts";
import { collectApp } from "./app.ts";
import { closedConnection, collectClickHouse, healthConnection } from "./clickhouse.ts";
import type { AppFacts, ClickHouseFacts, HealthFacts, PostgresFacts, SchemaFacts, ZooKeeperFacts } from "./facts.ts";
import { collectSchema } from "./schema.ts";
import { DEFAULT_TIMEOUT_MS, describeError } from "./util.ts";
import { collectZooKeeper } from "./zookeeper.ts";

export type ServiceKind = "clickhouse" | "zookeeper" | "postgres" | "app";

/** Where a member is reached: the topology's address unless `address` says otherwise (a port-forward). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface CollectOptions {
  /** The ClickHouse user the checks log in as (read access to system tables is enough). */
  readonly clickhouse: { readonly username: string; readonly password: string };
  /** Per collector (default 2 s): a server that has not answered by then is reported, not waited for. */
  readonly timeoutMs?: number;
  /**
   * Members known to be down, with why (loopback: `not running`, no live process recorded; a port-forward
   * that failed): reported so without being contacted.
   */
  readonly down?: ReadonlyMap<string, string>;
  /** Compare every host with this declaration (schema parity); omitted, the schema is not checked. */
  readonly declaration?: Declaration;
  /** Check Postgres with this collector (health/postgres.ts), given the topology's address; omitted, not checked. */
  readonly postgres?: (address: Address, timeoutMs: number) => Promise<PostgresFacts>;
  /** Check the app's /readyz when the topology has an app (default true). */
  readonly app?: boolean;
  /** Map a member's topology address to where this process reaches it (default: as it is). */
  readonly address?: (kind: ServiceKind, name: string, address: Address) => Address;
  /** Free and total bytes of a host's data disk, for servers that cannot say (18.16 has no system.disks). */
  readonly disk?: (host: ClickHouseHost) => Promise<{ free: number; total: number; source: string } | undefined>;
}

/** The name Postgres goes by in `down` and `address` (the topology's one Postgres). */
export const POSTGRES = "postgres";

export async function collectHealth(t: Topology, o: CollectOptions): Promise<HealthFacts> {
  const started = Date.now();
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const at = (kind: ServiceKind, name: string, a: Address) => (o.address ? o.address(kind, name, a) : a);
  const down = (name: string) => o.down?.get(name);

  const conns = new Map<string, HostConnection>(t.hosts.map((h) => {
    const why = down(h.name);
    if (why !== undefined) return [h.name, closedConnection(h.name, why)];
    const a = at("clickhouse", h.name, { host: h.endpoint.host, port: h.endpoint.ports.http });
    return [h.name, healthConnection({ host: h.name, url: `http://${urlHost(a.host)}:${a.port}`, ...o.clickhouse }, timeoutMs)];
  }));
  try {
    const clickhouse = Promise.all(t.hosts.map((h): Promise<ClickHouseFacts> => {
      const who = { host: h.name, shard: h.address.shardIndex, replica: h.address.replicaIndex };
      const why = down(h.name);
      if (why !== undefined) return Promise.resolve({ ...who, reachable: false, error: why });
      return collectClickHouse(conns.get(h.name)!, who, { timeoutMs, disk: o.disk ? () => o.disk!(h) : undefined });
    }));
    const zookeeper = Promise.all(t.coordination.nodes.map((n): Promise<ZooKeeperFacts> =>
      down(n.name) !== undefined ? Promise.resolve({ node: n.name, reachable: false, error: down(n.name) })
        : collectZooKeeper(n.name, at("zookeeper", n.name, { host: n.endpoint.host, port: n.endpoint.ports.client }), timeoutMs)));
    const postgres: Promise<PostgresFacts> = !o.postgres ? Promise.resolve({ checked: false })
      : down(POSTGRES) !== undefined ? Promise.resolve({ checked: true, reachable: false, error: down(POSTGRES) })
        : o.postgres(at("postgres", POSTGRES, { host: t.postgres.host, port: t.postgres.port }), timeoutMs);
    const app: Promise<AppFacts> = !t.app || o.app === false ? Promise.resolve({ checked: false }) : (() => {
      const a = at("app", t.app.name, { host: t.app.endpoint.host, port: t.app.endpoint.ports.http });
      const url = `http://${urlHost(a.host)}:${a.port}`;
      const why = down(t.app.name);
      return why !== undefined ? Promise.resolve({ checked: true, url, ready: false, error: why }) : collectApp(url, timeoutMs);
    })();
    const schema: Promise<SchemaFacts | undefined> = !o.declaration ? Promise.resolve(undefined)
      : collectSchema(o.declaration, t, conns, timeoutMs).catch((e) => ({ declarationHash: "", error: describeError(e), hosts: [], tables: [] }));
    return {
      cluster: t.cluster, coordination: t.coordination.kind,
      clickhouse: await clickhouse, zookeeper: await zookeeper, postgres: await postgres, app: await app, schema: await schema,
      collectedAt: new Date(started).toISOString(), elapsedMs: Date.now() - started,
    };
  } finally {
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
  }
}

/** An IPv6 literal goes in brackets in a URL. */
const urlHost = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);
