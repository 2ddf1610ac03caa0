// The topology model: derived once from the validated config and a target, readonly, and the only thing
// renderers, components and the loopback runner read (as an operator normalises its custom resource).
import type { CoordinationKind, StackConfig, UserRole } from "../config/schema.ts";
import type { ProfileSettings } from "../config/settings.ts";
import { appName, coordinationNodeName, hostMacros, hostName, profileName, zookeeperPaths } from "./names.ts";
import type { ClickHousePorts, CoordinationPorts } from "./ports.ts";
import type { ClickHousePaths, Endpoint, Networks, Target, TargetKind } from "./targets.ts";

/** Where a host sits in the cluster (the operator's host address record). */
export interface HostAddress {
  readonly cluster: string;
  readonly shardIndex: number;
  readonly shardName: string;
  readonly replicaIndex: number;
  readonly replicaName: string;
  /** Position in the flat host list: shard * replicas + replica. */
  readonly hostIndex: number;
}

export interface ClickHouseHost {
  /** Stable name: `chi-<cluster>-<shard>-<replica>`, also the replica name in ZooKeeper. */
  readonly name: string;
  readonly address: HostAddress;
  readonly macros: { readonly cluster: string; readonly shard: string; readonly replica: string };
  readonly endpoint: Endpoint<ClickHousePorts>;
  readonly paths: ClickHousePaths;
}

export interface Shard {
  readonly index: number;
  readonly name: string;
  readonly hosts: readonly ClickHouseHost[];
}

export interface CoordinationNode {
  readonly index: number;
  /** ZooKeeper `myid` / Keeper `server_id`: index + 1 (the Kubernetes target derives it from the pod ordinal). */
  readonly id: number;
  readonly name: string;
  readonly endpoint: Endpoint<CoordinationPorts>;
  readonly dataDir: string;
}

export interface ClickHouseUser {
  readonly role: UserRole;
  readonly name: string;
  /** users.xml profile name. */
  readonly profile: string;
  readonly networks: Networks;
}

export interface Profile {
  readonly name: string;
  readonly settings: Readonly<ProfileSettings & { readonly?: 0 | 1 | 2; allow_ddl?: 0 | 1 }>;
}

export interface Topology {
  readonly stack: string;
  readonly target: TargetKind;
  readonly cluster: string;
  /** The one-shard cluster over every host (clickhouse.singleShardCluster), when configured. */
  readonly singleShardCluster: string | undefined;
  readonly database: string;
  readonly shards: readonly Shard[];
  readonly hosts: readonly ClickHouseHost[];
  readonly coordination: { readonly kind: CoordinationKind; readonly nodes: readonly CoordinationNode[] };
  readonly zookeeper: ReturnType<typeof zookeeperPaths>;
  readonly users: Readonly<Record<UserRole, ClickHouseUser>>;
  readonly profiles: readonly Profile[];
  /** Environment variable from which servers read the inter-server password (`from_env`). */
  readonly interserverPasswordEnv: string;
  readonly postgres: { readonly host: string; readonly port: number };
  /** The app, when the stack config has one (`chstack:app`). */
  readonly app: { readonly name: string; readonly endpoint: Endpoint<{ readonly http: number }> } | undefined;
  readonly config: StackConfig;
}

export const INTERSERVER_PASSWORD_ENV = "CHSTACK_INTERSERVER_PASSWORD";

/** Privileges per role; the only settings a stack cannot override. */
const ROLE_PRIVILEGES: Record<Exclude<UserRole, "interserver">, { readonly: 0 | 1; allow_ddl: 0 | 1 }> = {
  admin: { readonly: 0, allow_ddl: 1 },
  writer: { readonly: 0, allow_ddl: 0 },
  readonly: { readonly: 1, allow_ddl: 0 },
};
/** The inter-server user forwards reads and Distributed inserts: the writer's rights, no DDL. */
const PROFILE_OF: Record<UserRole, Exclude<UserRole, "interserver">> = {
  admin: "admin", writer: "writer", readonly: "readonly", interserver: "writer",
};

export function buildTopology(config: StackConfig, target: Target, stack: string): Topology {
  const ch = config.clickhouse;
  const cluster = ch.cluster;

  const shards: Shard[] = [];
  for (let s = 0; s < ch.shards; s++) {
    const hosts: ClickHouseHost[] = [];
    for (let r = 0; r < ch.replicas; r++) {
      const name = hostName(cluster, s, r);
      const index = s * ch.replicas + r;
      const { endpoint, paths } = target.clickhouse({ name, index });
      hosts.push({
        name,
        address: { cluster, shardIndex: s, shardName: String(s), replicaIndex: r, replicaName: name, hostIndex: index },
        macros: hostMacros(cluster, s, r),
        endpoint,
        paths,
      });
    }
    shards.push({ index: s, name: String(s), hosts });
  }

  const kind = config.coordination.kind;
  const nodes = Array.from({ length: config.coordination.size }, (_, i) => {
    const name = coordinationNodeName(cluster, kind, i);
    const { endpoint, dataDir } = target.coordination({ name, index: i });
    return { index: i, id: i + 1, name, endpoint, dataDir };
  });

  const roles: UserRole[] = ["admin", "writer", "readonly", "interserver"];
  const users = Object.fromEntries(
    roles.map((role) => [role, { role, name: ch.users[role].name, profile: profileName(PROFILE_OF[role]), networks: target.networks(role) }]),
  ) as Record<UserRole, ClickHouseUser>;

  // Every role that writes inserts through Distributed tables synchronously. Besides reporting a shard's
  // failure to the writer, this keeps ClickHouse 18.16 from queueing the insert on disk in a directory
  // named `user:password@host:port,...` of every replica of a shard: the inter-server password on disk,
  // and, at 3 replicas with cluster DNS names, a name past 255 bytes that fails the insert ("Bad path
  // syntax", seen on a real cluster). Current ClickHouse names that directory shard1_replica1,...
  const profiles: Profile[] = [
    { name: "default", settings: ch.profiles.default },
    ...(["admin", "writer", "readonly"] as const).map((role) => ({
      name: profileName(role),
      settings: { ...ch.profiles.default, ...(role === "readonly" ? {} : { insert_distributed_sync: 1 as const }), ...ch.profiles[role], ...ROLE_PRIVILEGES[role] },
    })),
  ];

  return deepFreeze({
    stack,
    target: target.kind,
    cluster,
    singleShardCluster: ch.singleShardCluster,
    database: ch.database,
    shards,
    hosts: shards.flatMap((s) => s.hosts),
    coordination: { kind, nodes },
    zookeeper: zookeeperPaths(cluster),
    users,
    profiles,
    interserverPasswordEnv: INTERSERVER_PASSWORD_ENV,
    postgres: target.postgres(),
    app: config.app ? { name: appName(cluster), endpoint: target.app() } : undefined,
    config,
  });
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}
