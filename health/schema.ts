// Schema parity: the schema library's own introspection (observe, one query per host) and planner, read
// per host (statements it would run there, drift naming it) and per declared table (which hosts have it).
import type { Topology } from "../infra/model/topology.ts";
import { observe } from "../schema/apply.ts";
import type { HostConnection } from "../schema/connection.ts";
import type { Declaration } from "../schema/declare.ts";
import { plan, type Observed } from "../schema/plan.ts";
import { fullName } from "../schema/tables.ts";
import type { SchemaFacts } from "./facts.ts";
import { withTimeout } from "./util.ts";

/** At most this many lines of what differs, per host. */
const DETAILS = 3;

/** Pure: what the planner says of each host and declared table. */
export function schemaParity(decl: Declaration, t: Topology, observed: ReadonlyMap<string, Observed>): SchemaFacts {
  const p = plan(decl, t, observed);
  const hosts = t.hosts.map((h) => {
    const o = observed.get(h.name);
    // A replicated ALTER runs on one replica and reaches its whole group: it is pending on each of them.
    const tasks = p.tasks.filter((x) => x.host === h.name || x.group?.includes(h.name));
    const drift = p.drift.filter((d) => d.hosts.includes(h.name));
    const details = [
      ...tasks.map((x) => `${x.kind} ${x.table}${x.column ? `.${x.column}` : ""}`),
      ...drift.map((d) => d.reason),
    ].slice(0, DETAILS);
    return { host: h.name, reachable: Boolean(o?.ok), pending: tasks.length, drift: drift.length, details };
  });
  const live = t.hosts.flatMap((h) => {
    const o = observed.get(h.name);
    return o?.ok ? [{ host: h.name, tables: o.state.tables }] : [];
  });
  const tables = decl.tables.map((d) => {
    const name = fullName(d);
    return {
      table: name, kind: d.kind === "table" ? "local" as const : "distributed" as const,
      hosts: live.filter((l) => l.tables.has(name)).map((l) => l.host),
      missing: live.filter((l) => !l.tables.has(name)).map((l) => l.host),
      unknown: t.hosts.filter((h) => !observed.get(h.name)?.ok).map((h) => h.name),
    };
  });
  return { declarationHash: p.declarationHash, hosts, tables };
}

/** Introspect every host (in parallel, each within the timeout) and compare with the declaration. */
export async function collectSchema(decl: Declaration, t: Topology, conns: ReadonlyMap<string, HostConnection>, timeoutMs: number): Promise<SchemaFacts> {
  const bounded = new Map([...conns].map(([name, c]) => [name, { ...c, query: <T>(sql: string) => withTimeout(timeoutMs, () => c.query<T>(sql)) }]));
  return schemaParity(decl, t, await observe(t, bounded));
}
