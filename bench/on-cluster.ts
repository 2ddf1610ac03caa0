// The same first apply two ways on one running stack, each into a database of its own: ours (plan, then
// each host's statements, hosts in parallel) and the same CREATEs as ON CLUSTER DDL through the
// distributed DDL queue, one after the other from one host, as most migration tools run them.
import type { Topology } from "../infra/model/topology.ts";
import { apply } from "../schema/apply.ts";
import type { HostConnection } from "../schema/connection.ts";
import * as ddl from "../schema/ddl.ts";
import { defineSchema, type Declaration, type DistributedTableInput, type LocalTableInput } from "../schema/declare.ts";
import { posthogTables } from "../schema/posthog.ts";

/** `n` tables: copies of sharded_events and a Distributed table over each, half and half. */
export function benchDeclaration(database: string, n: number): Declaration {
  const [events] = posthogTables(database) as [LocalTableInput];
  const tables: (LocalTableInput | DistributedTableInput)[] = [];
  for (let i = 0; i < n / 2; i++) tables.push({ ...events, name: `events_${i}` });
  for (let i = 0; i < n / 2; i++) tables.push({ kind: "distributed", database, name: `events_${i}_all`, local: `events_${i}`, shardingKey: "sipHash64(distinct_id)" });
  return defineSchema({ tables });
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

export async function ours(decl: Declaration, t: Topology, conns: ReadonlyMap<string, HostConnection>): Promise<{ ms: number; statements: number }> {
  const s = process.hrtime.bigint();
  const r = await apply(decl, t, conns);
  if (!r.converged) throw new Error("the per-host apply did not converge");
  return { ms: ms(s), statements: r.plan.tasks.length };
}

/** Every CREATE with ON CLUSTER, sent to the first host; each returns once every host has run it. */
export async function onCluster(decl: Declaration, t: Topology, conn: HostConnection): Promise<{ ms: number; statements: number }> {
  const on = ` ON CLUSTER ${t.cluster}`;
  const database = decl.tables[0]!.database;
  const statements = [
    `${ddl.createDatabase(database)}${on}`,
    ...decl.tables.map((x) => {
      const sql = x.kind === "table" ? ddl.createLocalTable(x) : ddl.createDistributedTable(x, t.cluster);
      const [first, ...rest] = sql.split("\n");
      return [`${first}${on}`, ...rest].join("\n");
    }),
  ];
  const s = process.hrtime.bigint();
  for (const sql of statements) await conn.command(sql);
  return { ms: ms(s), statements: statements.length };
}
