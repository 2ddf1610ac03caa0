// A ClickHouse server's files, split by concern as operators do: common files (the same on every host),
// host files, and the two base files a server without its own config.xml needs.
import type { ClickHouseHost, Topology } from "../../model/topology.ts";
import type { Files } from "../files.ts";
import { renderDistributedDdl, renderMacros, renderRemoteServers, renderZookeeper, type PublishedShard } from "./cluster.ts";
import { renderBaseConfig, renderBaseUsers, renderListen, renderLogger, renderPaths, renderServerSettings } from "./server.ts";
import { renderProfiles, renderQuotas, renderUsers, type PasswordHashes } from "./users.ts";

export { hashPasswords, sha256Hex, type PasswordHashes } from "./users.ts";
export { interserverPasswordForEnv, type PublishedShard } from "./cluster.ts";

export { CLICKHOUSE_FILE_TABLE, CLICKHOUSE_FILES, clickhouseFiles, reloadsInPlace } from "./catalog.ts";
import { CLICKHOUSE_FILES } from "./catalog.ts";

const F = CLICKHOUSE_FILES;

/** Files every host of the cluster shares, but for the users file (it needs the password hashes). */
export function renderClickHouseShared(t: Topology, published?: readonly PublishedShard[]): Files {
  return {
    [F.remoteServers]: renderRemoteServers(t, published),
    [F.zookeeper]: renderZookeeper(t),
    [F.distributedDdl]: renderDistributedDdl(t),
    [F.serverSettings]: renderServerSettings(t),
    [F.profiles]: renderProfiles(t),
    [F.quotas]: renderQuotas(),
  };
}

/** Files every host of the cluster shares. `users` holds password hashes: a Secret on Kubernetes. */
export function renderClickHouseCommon(t: Topology, hashes: PasswordHashes, published?: readonly PublishedShard[]): Files {
  return { ...renderClickHouseShared(t, published), [F.users]: renderUsers(t, hashes) };
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
export function renderClickHouseServer(t: Topology, host: ClickHouseHost, hashes: PasswordHashes, published?: readonly PublishedShard[]): Files {
  return {
    [F.baseConfig]: renderBaseConfig(),
    [F.baseUsers]: renderBaseUsers(),
    ...renderClickHouseCommon(t, hashes, published),
    ...renderClickHouseHost(host),
  };
}
