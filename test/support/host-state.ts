// A host's introspected state as the planner reads it, made from a declaration (as 18.16 would format it):
// the synthetic hosts of the planner's and the health report's unit tests.
import type { ActualTable, HostState } from "../../schema/actual.ts";
import { fullName, zookeeperPathOf, type Declaration } from "../../schema/declare.ts";

/** What a host holding exactly `decl` reports (as 18.16 would format it). */
export function stateOf(decl: Declaration, version = "18.16.1"): HostState {
  const tables = new Map<string, ActualTable>();
  for (const x of decl.tables) {
    const local = x.kind === "table" ? x : x.target;
    const engine = x.kind === "distributed" ? "Distributed" : x.replicated ? `Replicated${x.engine.family}` : x.engine.family;
    const args = x.kind === "distributed"
      ? [x.cluster ?? "posthog", x.target.database, x.target.name, ...(x.shardingKey ? [x.shardingKey] : [])]
      : [...(x.replicated ? [`'${zookeeperPathOf(x)}'`, `'${x.replicaName}'`] : []), ...(x.engine.family === "ReplacingMergeTree" ? [x.engine.version, x.engine.isDeleted].filter((a): a is string => a !== undefined) : []), ...(x.engine.family === "CollapsingMergeTree" ? [x.engine.sign] : [])];
    tables.set(fullName(x), {
      database: x.database, name: x.name, engine, engineArgs: args,
      partitionKey: x.kind === "table" ? x.partitionBy ?? "" : "",
      sortingKey: x.kind === "table" ? x.orderBy.join(", ") : "",
      primaryKey: x.kind === "table" ? (x.primaryKey ?? x.orderBy).join(", ") : "",
      samplingKey: x.kind === "table" ? x.sampleBy ?? "" : "",
      ttl: x.kind === "table" ? x.ttl ?? "" : "",
      settings: { index_granularity: "8192" },
      indexes: x.kind === "table" ? x.indexes : [],
      projections: x.kind === "table" ? x.projections : [],
      columns: local.columns.map((c) => ({ name: c.name, type: c.type, defaultKind: c.default?.kind ?? "", defaultExpression: c.default?.expression ?? "", comment: c.comment ?? "", codec: (c.codec ?? []).join(", "), inKey: inKeyOf(x, c.name) })),
    });
  }
  return { version, databases: new Set(["default", ...decl.tables.map((x) => x.database)]), tables };
}

/** As the server reports it: the column is named in a partition, sorting, primary or sampling key. */
function inKeyOf(x: Declaration["tables"][number], column: string): boolean {
  if (x.kind !== "table") return false;
  const keys = [x.partitionBy ?? "", ...x.orderBy, ...(x.primaryKey ?? []), x.sampleBy ?? ""].join(" ");
  return new RegExp(`(^|[^A-Za-z0-9_])${column}($|[^A-Za-z0-9_])`).test(keys);
}
