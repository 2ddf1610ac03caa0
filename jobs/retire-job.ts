// The retire step of a topology change on Kubernetes (infra/model/change.ts), as a program of its own
// bundled into one file for plain Node 20+, run by a Job like the schema step's:
//   check  before remote_servers changes: a removed shard must hold no rows (unless allowed), and each
//          removed replica's rows must be held by a replica that stays;
//   clean  after the removed hosts stopped: their replica metadata leaves ZooKeeper.
// Input, from the environment:
//   CHSTACK_RETIRE_INPUT    JSON RetireInput (below)
//   CHSTACK_ADMIN_USER, CHSTACK_ADMIN_PASSWORD   the admin (check mode)
// Exit status: 0 done; 1 refused or failed (the message says which); 2 bad input.
import { connect, type HostConnection } from "../schema/connection.ts";
import { removeReplicaMetadata, rowsOnlyOn, waitCaughtUp } from "../schema/replicas.ts";

export interface RetireHost {
  readonly name: string;
  /** http://host:port of its ClickHouse. */
  readonly url: string;
}

export interface RetireInput {
  readonly mode: "check" | "clean";
  readonly removedShards: readonly { readonly shard: number; readonly hosts: readonly RetireHost[] }[];
  /** A host that stays, to tell tables replicated beyond a shard; null when none runs. */
  readonly staying: RetireHost | null;
  readonly removedReplicas: readonly { readonly host: RetireHost; readonly keeper: RetireHost }[];
  readonly allowDropShard: boolean;
  /** clean mode: the ZooKeeper connect string, the cluster's root, and the hosts whose metadata goes. */
  readonly zookeeper: { readonly connect: string; readonly root: string };
  readonly clean: readonly string[];
  /** clean mode: how long a removed replica may still hold a ZooKeeper session (default 180 s). */
  readonly activeWaitSeconds?: number;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let input: RetireInput;
  try {
    input = JSON.parse(env.CHSTACK_RETIRE_INPUT ?? "");
  } catch {
    console.error("retire job: CHSTACK_RETIRE_INPUT must hold the retire input as JSON");
    return 2;
  }
  if (input.mode === "clean") {
    try {
      const removed = await removeReplicaMetadata(input.zookeeper.connect, input.zookeeper.root, input.clean, (input.activeWaitSeconds ?? 180) * 1000);
      console.log(`retire job: removed the replica metadata of ${input.clean.join(", ")} (${removed.length} znode(s))`);
      for (const z of removed) console.log(`  ${z}`);
      return 0;
    } catch (e) {
      console.error(`retire job: ZooKeeper clean-up of ${input.clean.join(", ")} failed: ${(e as Error).message}`);
      return 1;
    }
  }
  if (!env.CHSTACK_ADMIN_USER || !env.CHSTACK_ADMIN_PASSWORD) {
    console.error("retire job: CHSTACK_ADMIN_USER and CHSTACK_ADMIN_PASSWORD are required");
    return 2;
  }
  const open: HostConnection[] = [];
  const conn = (h: RetireHost) => {
    const c = connect({ host: h.name, url: h.url, username: env.CHSTACK_ADMIN_USER!, password: env.CHSTACK_ADMIN_PASSWORD! });
    open.push(c);
    return c;
  };
  try {
    for (const { shard, hosts } of input.removedShards) {
      const held = await rowsOnlyOn(hosts.map(conn), input.staying ? conn(input.staying) : undefined);
      if (held.length === 0) {
        console.log(`retire job: shard ${shard} holds no rows of its own`);
        continue;
      }
      const what = held.map((r) => `${r.table} (${r.rows} rows)`).join(", ");
      if (!input.allowDropShard) {
        console.error(`retire job: removing shard ${shard} is refused: it holds ${what}. Nothing was changed: remote_servers still lists it and its hosts run. ` +
          "Copy those rows to the shards that stay first, or set chstack:scaling.allowDropShard to true for the run that removes it");
        return 1;
      }
      console.log(`retire job: WARNING: removing shard ${shard} although it holds ${what} (chstack:scaling.allowDropShard)`);
    }
    for (const { host, keeper } of input.removedReplicas) {
      const r = await waitCaughtUp(conn(keeper), conn(host), (l) => console.log(l), 10 * 60_000);
      console.log(`retire job: ${keeper.name} holds all ${r.rows} rows of ${host.name}`);
    }
    return 0;
  } catch (e) {
    console.error(`retire job: ${(e as Error).message}`);
    return 1;
  } finally {
    await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  }
}
