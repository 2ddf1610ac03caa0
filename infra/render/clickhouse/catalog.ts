// Every file a ClickHouse server of the stack reads, in one table: where it goes, what it is shared
// with, and whether a running server picks up a change by itself. Both targets read this table: the
// loopback planner (reload or restart), the Kubernetes ConfigMaps and Secrets, and the pod checksum.

/**
 * - `base`: the main config.xml / users.xml a server without its own needs (loopback only; the image has its own);
 * - `common`: the same on every host (Kubernetes: the common ConfigMap);
 * - `topology`: the cluster's host list, alone so a topology change touches nothing else;
 * - `secret`: the same on every host, holds password hashes (Kubernetes: a Secret);
 * - `host`: differs from host to host.
 */
export type FileScope = "base" | "common" | "topology" | "secret" | "host";

/** `reload`: ClickHouse re-reads the file while running (18.16 and current); `restart`: read at start only. */
export type Delivery = "reload" | "restart";

export interface ClickHouseFile {
  /** Relative to the server's config directory (where config.xml is). */
  readonly path: string;
  readonly scope: FileScope;
  readonly delivery: Delivery;
}

const file = (path: string, scope: FileScope, delivery: Delivery): ClickHouseFile => ({ path, scope, delivery });

export const CLICKHOUSE_FILE_TABLE = {
  baseConfig: file("config.xml", "base", "restart"),
  baseUsers: file("users.xml", "base", "restart"),
  remoteServers: file("config.d/chstack-remote-servers.xml", "topology", "reload"),
  zookeeper: file("config.d/chstack-zookeeper.xml", "common", "restart"),
  distributedDdl: file("config.d/chstack-distributed-ddl.xml", "common", "restart"),
  serverSettings: file("config.d/chstack-settings.xml", "common", "restart"),
  listen: file("config.d/chstack-listen.xml", "host", "restart"),
  paths: file("config.d/chstack-paths.xml", "host", "restart"),
  logger: file("config.d/chstack-logger.xml", "host", "restart"),
  macros: file("config.d/chstack-macros.xml", "host", "restart"),
  profiles: file("users.d/chstack-profiles.xml", "common", "reload"),
  quotas: file("users.d/chstack-quotas.xml", "common", "reload"),
  users: file("users.d/chstack-users.xml", "secret", "reload"),
} as const;

export type ClickHouseFileKey = keyof typeof CLICKHOUSE_FILE_TABLE;

/** File paths by key. */
export const CLICKHOUSE_FILES = Object.fromEntries(
  Object.entries(CLICKHOUSE_FILE_TABLE).map(([k, f]) => [k, f.path]),
) as { readonly [K in ClickHouseFileKey]: (typeof CLICKHOUSE_FILE_TABLE)[K]["path"] };

/** The paths of the files that match, in table order. */
export function clickhouseFiles(match: { scope?: FileScope; delivery?: Delivery; dir?: "config.d" | "users.d" }): string[] {
  return Object.values(CLICKHOUSE_FILE_TABLE)
    .filter((f) => (match.scope === undefined || f.scope === match.scope)
      && (match.delivery === undefined || f.delivery === match.delivery)
      && (match.dir === undefined || f.path.startsWith(`${match.dir}/`)))
    .map((f) => f.path);
}

const HOT = new Set(clickhouseFiles({ delivery: "reload" }));
/** Does a running server pick up a change of this file (a path relative to its config directory) by itself? */
export const reloadsInPlace = (path: string) => HOT.has(path);
