// What ties a server into the cluster: remote_servers (its own file, so a topology change touches only
// it), macros, ZooKeeper and distributed DDL.
import type { ClickHouseHost, Topology } from "../../model/topology.ts";
import { configFile, el } from "../xml.ts";

/** The hosts remote_servers lists for one shard: during a topology change, the published ones only. */
export interface PublishedShard {
  readonly hosts: readonly Pick<ClickHouseHost, "endpoint">[];
}

/**
 * Every published shard and replica (by default the topology's). Inter-server queries log in as the inter-server user; its password is read
 * from an environment variable (`from_env`), so it is not in this file. `replace` makes the cluster list
 * ours alone: example clusters of an image's own config.xml are dropped.
 */
export function renderRemoteServers(t: Topology, shards: readonly PublishedShard[] = t.shards): string {
  const shape = shards.every((s) => s.hosts.length === shards[0]?.hosts.length)
    ? `${shards.length} shards x ${shards[0]?.hosts.length ?? 0} replicas`
    : `${shards.length} shards, ${shards.map((s) => s.hosts.length).join("/")} replicas`;
  const clusters = [el(t.cluster, shards.map((shard) => shardElement(t, shard.hosts)))];
  // The one-shard cluster: every published host a replica of one shard, for tables replicated to every host.
  if (t.singleShardCluster) clusters.push(el(t.singleShardCluster, [shardElement(t, shards.flatMap((s) => s.hosts))]));
  const title = t.singleShardCluster ? `the ${t.cluster} cluster: ${shape}; ${t.singleShardCluster}: the same hosts as one shard` : `the ${t.cluster} cluster: ${shape}`;
  return configFile(title, [el("remote_servers", clusters, { replace: "replace" })]);
}

function shardElement(t: Topology, hosts: PublishedShard["hosts"]) {
  return el("shard", [
    el("internal_replication", "true"),
    ...hosts.map((h) =>
      el("replica", [
        el("host", h.endpoint.host),
        el("port", h.endpoint.ports.tcp),
        el("user", t.users.interserver.name),
        el("password", undefined, { from_env: t.interserverPasswordEnv }),
      ]),
    ),
  ]);
}

/**
 * The inter-server password as the environment variable must hold it: ClickHouse (18.16 and current)
 * parses a `from_env` value as XML text, so it is XML-escaped; unescaped, `<` or `&` stop the server.
 */
export const interserverPasswordForEnv = (password: string) =>
  password.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

export function renderMacros(host: ClickHouseHost): string {
  return configFile(`macros of ${host.name}`, [
    el("macros", [el("cluster", host.macros.cluster), el("shard", host.macros.shard), el("replica", host.macros.replica)]),
  ]);
}

export function renderZookeeper(t: Topology): string {
  return configFile(`coordination (${t.coordination.kind}, ${t.coordination.nodes.length} node${t.coordination.nodes.length === 1 ? "" : "s"})`, [
    el("zookeeper", [
      ...t.coordination.nodes.map((n) =>
        el("node", [el("host", n.endpoint.host), el("port", n.endpoint.ports.client)], { index: String(n.id) }),
      ),
      el("session_timeout_ms", 30000),
      el("operation_timeout_ms", 10000),
      // Every path this cluster uses lives under its own root.
      el("root", t.zookeeper.root),
    ]),
  ]);
}

export function renderDistributedDdl(t: Topology): string {
  return configFile("distributed DDL queue (ON CLUSTER)", [el("distributed_ddl", [el("path", t.zookeeper.distributedDdl)])]);
}
