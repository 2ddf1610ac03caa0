// The topology change model: the hosts published in remote_servers today against the hosts the config
// wants, as the ordered steps both targets execute (neither re-derives them):
//
//   guard     removing a shard: refused while it holds rows, unless allowed (before anything changes)
//   start     the new hosts, published nowhere yet
//   schema    the declared tables on the new hosts (the planner sees them as empty)
//   catch-up  new replicas of existing shards fetch the shard's parts until they match a peer
//   publish   the new remote_servers on every wanted host: only hosts whose schema converged
//   retire    stop the removed hosts (their data kept aside or purged)
//   clean-up  the removed hosts' replica metadata in ZooKeeper
//
// A first install publishes its hosts from the start: nothing can route to them before they exist.
import { hostName } from "./names.ts";

/** A ClickHouse host by its place in the cluster; the name is its replica name in ZooKeeper for life. */
export interface HostRef {
  readonly name: string;
  readonly shard: number;
  readonly replica: number;
}

export type ChangeStep =
  | { readonly kind: "guard"; readonly shards: readonly number[] }
  | { readonly kind: "start"; readonly hosts: readonly HostRef[] }
  | { readonly kind: "schema"; readonly hosts: readonly HostRef[] }
  | { readonly kind: "catch-up"; readonly hosts: readonly HostRef[] }
  | { readonly kind: "publish"; readonly hosts: readonly HostRef[] }
  | { readonly kind: "retire"; readonly hosts: readonly HostRef[] }
  | { readonly kind: "clean-up"; readonly hosts: readonly HostRef[] };

export interface TopologyChange {
  /** True when nothing was published before (a first install). */
  readonly install: boolean;
  readonly added: { readonly shards: readonly number[]; readonly replicas: readonly HostRef[] };
  readonly removed: { readonly shards: readonly number[]; readonly replicas: readonly HostRef[] };
  /** The hosts in remote_servers before and after. */
  readonly published: { readonly before: readonly HostRef[]; readonly after: readonly HostRef[] };
  /** Empty when the published hosts are the wanted ones. */
  readonly steps: readonly ChangeStep[];
}

/** The hosts of an S x R cluster, shard by shard. */
export function hostsOf(cluster: string, shards: number, replicas: number): HostRef[] {
  return Array.from({ length: shards }, (_, s) => Array.from({ length: replicas }, (_, r) => ({ name: hostName(cluster, s, r), shard: s, replica: r }))).flat();
}

const byPlace = (a: HostRef, b: HostRef) => a.shard - b.shard || a.replica - b.replica;
const shardsOf = (hosts: readonly HostRef[]) => [...new Set(hosts.map((h) => h.shard))].sort((a, b) => a - b);

/** What it takes to go from the published hosts to the wanted ones. Pure; both lists are sets of hosts. */
export function planChange(published: readonly HostRef[], wanted: readonly HostRef[]): TopologyChange {
  const names = (hs: readonly HostRef[]) => new Set(hs.map((h) => h.name));
  const before = [...published].sort(byPlace);
  const after = [...wanted].sort(byPlace);
  if (before.length === 0) {
    return {
      install: true, added: { shards: shardsOf(after), replicas: [] }, removed: { shards: [], replicas: [] },
      published: { before, after }, steps: [],
    };
  }
  const had = names(before);
  const wants = names(after);
  const oldShards = new Set(shardsOf(before));
  const newShards = new Set(shardsOf(after));
  const adding = after.filter((h) => !had.has(h.name));
  const removing = before.filter((h) => !wants.has(h.name));
  const addedShards = [...newShards].filter((s) => !oldShards.has(s));
  const removedShards = [...oldShards].filter((s) => !newShards.has(s));
  const change = {
    install: false,
    added: { shards: addedShards, replicas: adding.filter((h) => oldShards.has(h.shard)) },
    removed: { shards: removedShards, replicas: removing.filter((h) => newShards.has(h.shard)) },
    published: { before, after },
  };
  if (adding.length === 0 && removing.length === 0) return { ...change, steps: [] };
  const steps: ChangeStep[] = [];
  if (removedShards.length > 0) steps.push({ kind: "guard", shards: removedShards });
  if (adding.length > 0) {
    steps.push({ kind: "start", hosts: adding }, { kind: "schema", hosts: adding });
    if (change.added.replicas.length > 0) steps.push({ kind: "catch-up", hosts: change.added.replicas });
  }
  steps.push({ kind: "publish", hosts: after });
  if (removing.length > 0) steps.push({ kind: "retire", hosts: removing }, { kind: "clean-up", hosts: removing });
  return { ...change, steps };
}

/** One line per change, for logs and `--json` consumers' humans: "adds shard 2 (2 hosts); removes replica chi-x-0-1". */
export function describeChange(c: TopologyChange): string {
  const parts: string[] = [];
  const list = (hs: readonly HostRef[]) => hs.map((h) => h.name).join(", ");
  const count = (shards: readonly number[], hs: readonly HostRef[]) => `${shards.length === 1 ? "shard" : "shards"} ${shards.join(", ")} (${hs.length} host${hs.length === 1 ? "" : "s"})`;
  const { before, after } = c.published;
  if (c.added.shards.length > 0 && !c.install) parts.push(`adds ${count(c.added.shards, after.filter((h) => c.added.shards.includes(h.shard)))}`);
  if (c.added.replicas.length > 0) parts.push(`adds replica${c.added.replicas.length === 1 ? "" : "s"} ${list(c.added.replicas)}`);
  if (c.removed.shards.length > 0) parts.push(`removes ${count(c.removed.shards, before.filter((h) => c.removed.shards.includes(h.shard)))}`);
  if (c.removed.replicas.length > 0) parts.push(`removes replica${c.removed.replicas.length === 1 ? "" : "s"} ${list(c.removed.replicas)}`);
  return parts.join("; ") || "no change";
}
