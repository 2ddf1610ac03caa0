// Per-server settings: base files, listen addresses and ports, paths, logger, memory and cache limits.
import type { ClickHouseHost, Topology } from "../../model/topology.ts";
import { configFile, el } from "../xml.ts";

/**
 * The main config.xml for a server without one of its own (the loopback target); the Kubernetes image
 * ships its own and mounts only config.d/ and users.d/. Everything of substance is in config.d.
 */
export function renderBaseConfig(): string {
  return configFile("base server config; the settings are in config.d/", [
    el("users_config", "users.xml"),
    el("default_profile", "default"),
    el("default_database", "default"),
  ]);
}

/** The main users.xml counterpart: empty sections that users.d/ fills. */
export function renderBaseUsers(): string {
  return configFile("base users config; the users are in users.d/", [el("profiles", []), el("users", []), el("quotas", [])]);
}

export function renderListen(host: ClickHouseHost): string {
  const { endpoint } = host;
  return configFile(`listen address and ports of ${host.name}`, [
    el("listen_host", endpoint.listenHost),
    el("tcp_port", endpoint.ports.tcp),
    el("http_port", endpoint.ports.http),
    el("interserver_http_port", endpoint.ports.interserver),
    // The address other replicas fetch parts from.
    el("interserver_http_host", endpoint.host),
  ]);
}

export function renderPaths(host: ClickHouseHost): string {
  const { paths } = host;
  return configFile(`data paths of ${host.name}`, [
    el("path", paths.data),
    el("tmp_path", paths.tmp),
    el("user_files_path", paths.userFiles),
    el("format_schema_path", paths.formatSchemas),
  ]);
}

export function renderLogger(host: ClickHouseHost): string {
  return configFile(`logger of ${host.name}`, [
    el("logger", [
      el("level", "information"),
      el("log", host.paths.log),
      el("errorlog", host.paths.errorLog),
      el("size", "100M"),
      el("count", 3),
    ]),
  ]);
}

/** Server-wide settings (caches, connection limits, timezone) from `clickhouse.settings`. */
export function renderServerSettings(t: Topology): string {
  const settings = Object.entries(t.config.clickhouse.settings).filter(([, v]) => v !== undefined);
  return configFile("server settings and memory limits (clickhouse.settings)", settings.map(([k, v]) => el(k, v as string | number)));
}
