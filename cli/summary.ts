// The resolved topology as `validate` prints it: one model per target, side by side. `--json` prints the
// object itself (documented in docs/cli.md); the text form is for people.
import type { StackConfig } from "../infra/config/schema.ts";
import { redactSecrets } from "../infra/config/redact.ts";
import { buildTopology } from "../infra/model/topology.ts";
import { kubernetesTarget, loopbackTarget } from "../infra/model/targets.ts";
import { loopbackPortRange } from "../infra/model/ports.ts";

export function topologySummary(config: StackConfig, stack: string, file: string) {
  const loop = buildTopology(config, loopbackTarget(config), stack);
  const kube = buildTopology(config, kubernetesTarget(config), stack);
  const warnings: string[] = [];
  if (config.coordination.kind === "keeper") {
    warnings.push("coordination.kind is keeper: the Kubernetes target runs ClickHouse Keeper; the loopback target cannot (ClickHouse 18.16 has no Keeper) and refuses to start");
  }
  if (config.postgres.mode === "external") {
    warnings.push("postgres.mode is external: used by the Kubernetes target; the loopback target runs its own Postgres 15");
  }
  return {
    valid: true as const,
    stack,
    file,
    cluster: loop.cluster,
    database: loop.database,
    shards: config.clickhouse.shards,
    replicas: config.clickhouse.replicas,
    zookeeper: loop.zookeeper,
    hosts: loop.hosts.map((h, i) => ({
      name: h.name,
      shard: h.address.shardIndex,
      replica: h.address.replicaIndex,
      macros: h.macros,
      loopback: { host: h.endpoint.host, ports: h.endpoint.ports },
      kubernetes: { host: kube.hosts[i]!.endpoint.host, ports: kube.hosts[i]!.endpoint.ports },
    })),
    coordination: {
      kind: loop.coordination.kind,
      nodes: loop.coordination.nodes.map((n, i) => ({
        name: n.name,
        id: n.id,
        loopback: { host: n.endpoint.host, ports: n.endpoint.ports },
        kubernetes: { host: kube.coordination.nodes[i]!.endpoint.host, ports: kube.coordination.nodes[i]!.endpoint.ports },
      })),
    },
    postgres: { mode: config.postgres.mode, loopback: loop.postgres, kubernetes: kube.postgres },
    users: Object.fromEntries(Object.values(loop.users).map((u) => [u.role, { name: u.name, profile: u.profile }])),
    loopback: { portRange: loopbackPortRange(config.loopback.portBase, loop.hosts.length) },
    kubernetes: { namespace: config.kubernetes.namespace },
    warnings,
    config: redactSecrets(config),
  };
}

export type TopologySummary = ReturnType<typeof topologySummary>;

export function formatSummary(s: TopologySummary): string {
  const ports = (p: object) => Object.entries(p as Record<string, number>).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(", ");
  const rows: string[][] = [["HOST", "SHARD", "REPLICA", "LOOPBACK 127.0.0.1", "KUBERNETES"]];
  for (const h of s.hosts) rows.push([h.name, String(h.shard), String(h.replica), ports(h.loopback.ports), `${h.kubernetes.host}:${h.kubernetes.ports.tcp}`]);
  for (const n of s.coordination.nodes) rows.push([n.name, "-", "-", ports(n.loopback.ports), `${n.kubernetes.host}:${n.kubernetes.ports.client}`]);
  rows.push(["postgres", "-", "-", `port ${s.postgres.loopback.port}`, s.postgres.mode === "external" ? "(external)" : `${s.postgres.kubernetes.host}:${s.postgres.kubernetes.port}`]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd());
  return [
    `${s.file}: valid (stack ${s.stack})`,
    `cluster ${s.cluster}: ${s.shards} shard${s.shards === 1 ? "" : "s"} x ${s.replicas} replica${s.replicas === 1 ? "" : "s"} = ${s.hosts.length} ClickHouse host${s.hosts.length === 1 ? "" : "s"}; ${s.coordination.kind} x${s.coordination.nodes.length}; postgres ${s.postgres.mode}; database ${s.database}`,
    `ZooKeeper root ${s.zookeeper.root}; DDL queue ${s.zookeeper.distributedDdl}; replicated tables ${s.zookeeper.tables}/<db>.<table>`,
    `users: ${Object.entries(s.users).map(([role, u]) => `${u.name} (${role})`).join(", ")}`,
    `loopback ports ${s.loopback.portRange.first}-${s.loopback.portRange.last}; Kubernetes namespace ${s.kubernetes.namespace}`,
    "",
    ...table,
    ...s.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

