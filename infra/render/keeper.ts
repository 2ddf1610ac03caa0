// ClickHouse Keeper's config for the Kubernetes target: the same file on every pod; each pod's server_id
// comes from its ordinal through the environment (KEEPER_SERVER_ID). Keeper cannot run on this machine
// (18.16 has none): this rendering is checked under mocks only.
import type { Topology } from "../model/topology.ts";
import { configFile, el } from "./xml.ts";

export const KEEPER_SERVER_ID_ENV = "KEEPER_SERVER_ID";

export function renderKeeperConfig(t: Topology): string {
  if (t.coordination.kind !== "keeper") throw new Error(`Keeper config for coordination.kind ${t.coordination.kind}`);
  const nodes = t.coordination.nodes;
  return configFile(`ClickHouse Keeper, ${nodes.length} node(s)`, [
    el("listen_host", nodes[0]!.endpoint.listenHost),
    el("logger", [el("level", "information"), el("console", 1)]),
    el("keeper_server", [
      el("tcp_port", nodes[0]!.endpoint.ports.client),
      el("server_id", undefined, { from_env: KEEPER_SERVER_ID_ENV }),
      el("log_storage_path", "/var/lib/clickhouse-keeper/coordination/log"),
      el("snapshot_storage_path", "/var/lib/clickhouse-keeper/coordination/snapshots"),
      el("coordination_settings", [el("operation_timeout_ms", 10000), el("session_timeout_ms", 30000)]),
      el("raft_configuration", nodes.map((n) => el("server", [el("id", n.id), el("hostname", n.endpoint.host), el("port", n.endpoint.ports.peer)]))),
    ]),
  ]);
}
