// Which ClickHouse hosts a loopback stack has and on which ports. A host's ports come from its slot,
// recorded in state.json when it is first started and kept for life, so scaling adds hosts on free slots
// and never moves a running one. Pure: reads a state record, returns the topology to run.
import type { StackConfig } from "../config/schema.ts";
import { hostsOf, type HostRef } from "../model/change.ts";
import { loopbackPortRange } from "../model/ports.ts";
import { loopbackTarget } from "../model/targets.ts";
import { buildTopology, type ClickHouseHost, type Topology } from "../model/topology.ts";
import type { StackState } from "./state.ts";

export interface HostSlot {
  readonly shard: number;
  readonly replica: number;
  readonly slot: number;
}
export type HostSlots = Readonly<Record<string, HostSlot>>;

/** The hosts state.json knows; a state written before slots were recorded used shard * replicas + replica. */
export function recordedHosts(state: StackState | undefined): HostSlots {
  if (!state) return {};
  if (state.hosts) return state.hosts;
  const out: Record<string, HostSlot> = {};
  for (const [name, p] of Object.entries(state.processes)) {
    const m = p.role === "clickhouse" ? /-(\d+)-(\d+)$/.exec(name) : null;
    if (m) out[name] = { shard: Number(m[1]), replica: Number(m[2]), slot: Number(m[1]) * state.replicas + Number(m[2]) };
  }
  return out;
}

/** The recorded hosts plus the wanted ones not yet recorded, each new host on the lowest free slot. */
export function assignSlots(recorded: HostSlots, wanted: readonly HostRef[]): HostSlots {
  const out: Record<string, HostSlot> = { ...recorded };
  const used = new Set(Object.values(recorded).map((h) => h.slot));
  let next = 0;
  for (const h of wanted) {
    if (out[h.name]) continue;
    while (used.has(next)) next++;
    out[h.name] = { shard: h.shard, replica: h.replica, slot: next };
    used.add(next);
  }
  return out;
}

/** The hosts in remote_servers today: the recorded list, or every recorded host for a state that predates it. */
export function publishedHosts(state: StackState | undefined, slots: HostSlots): HostRef[] {
  const names = state?.published ?? Object.keys(recordedHosts(state));
  return names.filter((n) => slots[n]).map((n) => ({ name: n, shard: slots[n]!.shard, replica: slots[n]!.replica }));
}

export interface LoopbackHosts {
  /** What the config wants, each host on its slot's ports. */
  readonly topology: Topology;
  readonly slots: HostSlots;
  /** Every host known or wanted, by name: the wanted ones and those still to retire. */
  readonly byName: ReadonlyMap<string, ClickHouseHost>;
  readonly published: readonly HostRef[];
  readonly wanted: readonly HostRef[];
  readonly portRange: { readonly first: number; readonly last: number };
}

export function loopbackHosts(config: StackConfig, stack: string, state: StackState | undefined): LoopbackHosts {
  const ch = config.clickhouse;
  const wanted = hostsOf(ch.cluster, ch.shards, ch.replicas);
  const slots = assignSlots(recordedHosts(state), wanted);
  const slotOf = (name: string) => slots[name]!.slot;
  const topology = buildTopology(config, loopbackTarget(config, slotOf), stack);
  // A shape that holds every known host, to describe those the config no longer has.
  const all = Object.values(slots);
  const union = { ...config, clickhouse: { ...ch, shards: Math.max(...all.map((h) => h.shard)) + 1, replicas: Math.max(...all.map((h) => h.replica)) + 1 } };
  const byName = new Map(buildTopology(union, loopbackTarget(union, (n) => slots[n]?.slot ?? 0), stack).hosts.filter((h) => slots[h.name]).map((h) => [h.name, h]));
  const maxSlot = Math.max(...all.map((h) => h.slot));
  return { topology, slots, byName, published: publishedHosts(state, slots), wanted, portRange: loopbackPortRange(config.loopback.portBase, maxSlot + 1) };
}

/** The topology's shards restricted to the published hosts, for remote_servers. */
export function publishedShards(byName: ReadonlyMap<string, ClickHouseHost>, published: readonly HostRef[]): { index: number; hosts: ClickHouseHost[] }[] {
  const shards = new Map<number, ClickHouseHost[]>();
  for (const h of [...published].sort((a, b) => a.shard - b.shard || a.replica - b.replica)) {
    const host = byName.get(h.name);
    if (host) shards.set(h.shard, [...(shards.get(h.shard) ?? []), host]);
  }
  return [...shards].map(([index, hosts]) => ({ index, hosts }));
}
