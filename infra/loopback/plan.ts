// What `up` must do to each server, decided purely from the topology, the rendered files, and the record
// of what runs: start what is missing or dead, leave alone what runs with the same files, write files that
// ClickHouse reloads by itself, and name the servers a change would restart.
import { createHash } from "node:crypto";
import type { Topology } from "../model/topology.ts";
import type { Files } from "../render/files.ts";
import { kindOf, membersOf, type Member } from "./kinds.ts";
import type { Role, StackState } from "./state.ts";

export interface Server extends Member {
  /** This server's rendered files, path relative to the state dir -> content. */
  readonly files: Files;
  /** What it is started with beyond its files (JVM heap, Postgres settings): a change needs a restart. */
  readonly launch: string;
}

export type Action =
  | { readonly kind: "start"; readonly server: Server; readonly why: "new" | "not running" }
  | { readonly kind: "keep"; readonly server: Server; readonly pid: number }
  | { readonly kind: "reload"; readonly server: Server; readonly pid: number; readonly changed: readonly string[] }
  | { readonly kind: "restart"; readonly server: Server; readonly pid: number; readonly changed: readonly string[] };

/** Every server of the stack, in start order (infra/loopback/kinds.ts), with its files and launch arguments. */
export function serversOf(t: Topology, files: Files, launch: Partial<Record<Role, string>>): Server[] {
  return membersOf(t).map((m) => ({ ...m, files: kindOf(m.role).files(t, m, files), launch: launch[m.role] ?? "" }));
}

/** What a server was started with, as hashes: each file, and its launch arguments under `#launch`. */
export const fingerprint = (server: Server): Record<string, string> =>
  Object.fromEntries(Object.entries({ ...server.files, "#launch": server.launch }).map(([p, c]) => [p, createHash("sha256").update(c).digest("hex")]));

/** Decide each server's action. `alive(name)` tells whether the recorded process still runs and is ours. */
export function planUp(servers: readonly Server[], state: StackState | undefined, alive: (name: string) => boolean): Action[] {
  return servers.map((server): Action => {
    const rec = state?.processes[server.name];
    if (!rec) return { kind: "start", server, why: "new" };
    if (!alive(server.name)) return { kind: "start", server, why: "not running" };
    const now = fingerprint(server);
    const paths = new Set([...Object.keys(now), ...Object.keys(rec.files)]);
    const changed = [...paths].filter((p) => now[p] !== rec.files[p]).sort();
    if (changed.length === 0) return { kind: "keep", server, pid: rec.pid };
    const hot = changed.every((p) => kindOf(server.role).reloads(server, p));
    return { kind: hot ? "reload" : "restart", server, pid: rec.pid, changed };
  });
}

/**
 * Refuse what a running stack cannot change: the ZooKeeper ensemble's size and the cluster's name (every
 * replica's ZooKeeper path holds it). Shards and replicas change through infra/model/change.ts.
 */
export function topologyChange(t: Topology, state: StackState | undefined, anyAlive: boolean): string | undefined {
  if (!state || !anyAlive) return undefined;
  const was = `${state.coordinationSize} ZooKeeper node(s), cluster ${state.cluster}`;
  const now = `${t.coordination.nodes.length} ZooKeeper node(s), cluster ${t.cluster}`;
  return was === now
    ? undefined
    : `stack ${state.stack} is running ${was}; the config asks for ${now}. A running stack keeps its ZooKeeper ensemble size and cluster name: restore the config, or stop the stack first (chstack down keeps the data)`;
}
