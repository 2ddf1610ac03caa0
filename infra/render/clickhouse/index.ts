// A ClickHouse server's files, split by concern as operators do: common files (the same on every host),
// host files, and the two base files a server without its own config.xml needs.
import type { ClickHouseHost, Topology } from "../../model/topology.ts";
import type { Files } from "../files.ts";
import { renderDistributedDdl, renderMacros, renderRemoteServers, renderZookeeper } from "./cluster.ts";
import { renderBaseConfig, renderBaseUsers, renderListen, renderLogger, renderPaths, renderServerSettings } from "./server.ts";
import { renderProfiles, renderQuotas, renderUsers, type PasswordHashes } from "./users.ts";

export { hashPasswords, sha256Hex, type PasswordHashes } from "./users.ts";
export { interserverPasswordForEnv } from "./cluster.ts";

/** File names, relative to the server's config directory (where config.xml is). */
export const CLICKHOUSE_FILES = {
  baseConfig: "config.xml",
  baseUsers: "users.xml",
  remoteServers: "config.d/chstack-remote-servers.xml",
  zookeeper: "config.d/chstack-zookeeper.xml",
  distributedDdl: "config.d/chstack-distributed-ddl.xml",
  serverSettings: "config.d/chstack-settings.xml",
  listen: "config.d/chstack-listen.xml",
  paths: "config.d/chstack-paths.xml",
  logger: "config.d/chstack-logger.xml",
  macros: "config.d/chstack-macros.xml",
  profiles: "users.d/chstack-profiles.xml",
  quotas: "users.d/chstack-quotas.xml",
  users: "users.d/chstack-users.xml",
} as const;

const F = CLICKHOUSE_FILES;

/** Files every host of the cluster shares, but for the users file (it needs the password hashes). */
export function renderClickHouseShared(t: Topology): Files {
  return {
    [F.remoteServers]: renderRemoteServers(t),
    [F.zookeeper]: renderZookeeper(t),
    [F.distributedDdl]: renderDistributedDdl(t),
    [F.serverSettings]: renderServerSettings(t),
    [F.profiles]: renderProfiles(t),
    [F.quotas]: renderQuotas(),
  };
}

/** Files every host of the cluster shares. `users` holds password hashes: a Secret on Kubernetes. */
export function renderClickHouseCommon(t: Topology, hashes: PasswordHashes): Files {
  return { ...renderClickHouseShared(t), [F.users]: renderUsers(t, hashes) };
}

export { renderUsers };

/** Files that differ from host to host (on Kubernetes only macros and interserver_http_host do). */
export function renderClickHouseHost(host: ClickHouseHost): Files {
  return {
    [F.listen]: renderListen(host),
    [F.paths]: renderPaths(host),
    [F.logger]: renderLogger(host),
    [F.macros]: renderMacros(host),
  };
}

/** Everything one server reads, base files included: what the loopback target writes per host. */
export function renderClickHouseServer(t: Topology, host: ClickHouseHost, hashes: PasswordHashes): Files {
  return {
    [F.baseConfig]: renderBaseConfig(),
    [F.baseUsers]: renderBaseUsers(),
    ...renderClickHouseCommon(t, hashes),
    ...renderClickHouseHost(host),
  };
}
