// Plain helpers over declared tables, free of zod, so that the planner, renderer and applier (and the
// schema job bundle) carry no validation library: declarations are validated once, by defineSchema.

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
