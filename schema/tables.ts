// Plain helpers over declared tables, free of zod, so that the planner, renderer and applier (and the
// schema job bundle) carry no validation library: declarations are validated once, by defineSchema.

/** `<database>.<table>`. */
export const fullName = (t: { database: string; name: string }) => `${t.database}.${t.name}`;

/** The ZooKeeper path of a replicated table, relative to the cluster's root. */
export const zookeeperPathOf = (t: { database: string; name: string; zookeeperPath?: string }) =>
  t.zookeeperPath ?? `/clickhouse/tables/{shard}/${t.database}.${t.name}`;
