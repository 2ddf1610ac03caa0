// Plain helpers over declared tables, free of zod, so that the planner, renderer and applier (and the
// schema job bundle) carry no validation library: declarations are validated once, by defineSchema.
import type { Topology } from "../infra/model/topology.ts";
import type { DistributedTable } from "./declare.ts";

/** `<database>.<table>`. */
export const fullName = (t: { database: string; name: string }) => `${t.database}.${t.name}`;

/** The ZooKeeper path of a replicated table, relative to the cluster's root. */
export const zookeeperPathOf = (t: { database: string; name: string; zookeeperPath?: string }) =>
  t.zookeeperPath ?? `/clickhouse/tables/{shard}/${t.database}.${t.name}`;

/** The columns a Distributed table carries (declare.ts, `columns`), as the local table declares them. */
export function distributedColumns<C extends { name: string; default?: { kind: string } }>(t: { columns: "all" | "writable" | readonly string[]; target: { columns: readonly C[] } }): C[] {
  const local = t.target.columns;
  if (t.columns === "all") return [...local];
  if (t.columns === "writable") return local.filter((c) => c.default?.kind !== "MATERIALIZED" && c.default?.kind !== "ALIAS");
  return t.columns.map((name) => local.find((c) => c.name === name)!);
}

type EngineDecl =
  | { family: "MergeTree" | "AggregatingMergeTree" }
  | { family: "ReplacingMergeTree"; version?: string; isDeleted?: string }
  | { family: "CollapsingMergeTree"; sign: string };

/** The columns a *MergeTree engine takes as parameters, in the engine's order, each with its role. */
export function engineParameters(engine: EngineDecl): { name: string; role: string }[] {
  if (engine.family === "CollapsingMergeTree") return [{ name: engine.sign, role: "the CollapsingMergeTree sign column" }];
  if (engine.family !== "ReplacingMergeTree") return [];
  return [
    ...(engine.version ? [{ name: engine.version, role: "the ReplacingMergeTree version column" }] : []),
    ...(engine.isDeleted ? [{ name: engine.isDeleted, role: "the ReplacingMergeTree is_deleted column" }] : []),
  ];
}

/**
 * Why a Distributed table cannot read what it should through the cluster it names, or undefined. Through S
 * shards, a table replicated to every host comes back S times; through the one-shard cluster (every host a
 * replica of one shard), a sharded table comes back as one shard's rows.
 */
export function distributedRefusal(table: DistributedTable, t: Pick<Topology, "cluster" | "singleShardCluster" | "shards">): string | undefined {
  const cluster = table.cluster ?? t.cluster;
  const target = fullName(table.target);
  if (cluster !== t.cluster && cluster !== t.singleShardCluster) {
    return t.singleShardCluster
      ? `cluster: ${cluster} is not a cluster of this stack: name ${t.cluster} (clickhouse.cluster) or ${t.singleShardCluster} (clickhouse.singleShardCluster)`
      : `cluster: ${cluster} is not a cluster of this stack: name ${t.cluster} (clickhouse.cluster), or set clickhouse.singleShardCluster: ${cluster} in the stack config for a one-shard cluster over every host`;
  }
  if (t.shards.length <= 1) return undefined;
  const everywhere = table.target.replicated && !zookeeperPathOf(table.target).includes("{shard}");
  if (everywhere && cluster === t.cluster) {
    return `${target} is replicated to every host (its ZooKeeper path has no {shard}), so a Distributed table over it through ${cluster} would return every row once per shard (${t.shards.length} shards): ${t.singleShardCluster ? `name cluster: ${t.singleShardCluster}` : "set clickhouse.singleShardCluster in the stack config and name it as this table's cluster"}, or read ${target} itself on any host`;
  }
  if (!everywhere && cluster !== t.cluster) {
    return `${target} is ${table.target.replicated ? "sharded (its ZooKeeper path has {shard})" : "a table of its own on every host"}, so through the one-shard cluster ${cluster} a query would read one host's rows only: name the stack's cluster ${t.cluster}`;
  }
  return undefined;
}
