// Kubernetes cannot change a StatefulSet's serviceName, selector or volumeClaimTemplates in place: Pulumi
// would replace it, and its data with it. Each run exports those fields per StatefulSet; the next run
// compares them with its own stack's previous outputs and refuses a change at program time.
import type * as k8s from "@pulumi/kubernetes";
import { describeChange, planChange, type HostRef } from "../model/change.ts";
import { kubeCluster } from "../model/names.ts";

export type Shapes = Record<string, string>;

const sorted = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sorted) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)])) : v;

/** The fields of a StatefulSet spec that only a replacement can change. */
export function immutableShape(spec: { serviceName?: unknown; selector?: unknown; volumeClaimTemplates?: unknown }): string {
  return JSON.stringify(sorted({ serviceName: spec.serviceName, selector: spec.selector, volumeClaimTemplates: spec.volumeClaimTemplates }));
}

export function shapeOf(args: k8s.apps.v1.StatefulSetArgs): string {
  return immutableShape(args.spec as { serviceName?: unknown; selector?: unknown; volumeClaimTemplates?: unknown });
}

/** One line per StatefulSet whose immutable fields would change; removed StatefulSets are not our concern here. */
export function shapeProblems(previous: Shapes | undefined, current: Shapes): string[] {
  if (!previous) return [];
  return Object.entries(current)
    .filter(([name, shape]) => previous[name] !== undefined && previous[name] !== shape)
    .map(([name, shape]) => {
      const was = JSON.parse(previous[name]!) as Record<string, unknown>;
      const now = JSON.parse(shape) as Record<string, unknown>;
      const fields = Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
      return `StatefulSet ${name}: ${fields.join(", ")} would change, which Kubernetes cannot do in place (Pulumi would replace it and its data); revert the config (storage size or class, for instance) or migrate the data first`;
    });
}

/**
 * ClickHouse hosts the previous run had and this one drops (a lower replicas or shards count). Not done by
 * the Kubernetes program yet: the StatefulSets are protected (their deletion would fail half-way), a shard's
 * rows would leave every query, and the replicas' metadata would stay in ZooKeeper. Refused at program time,
 * before anything changes; docs/scaling.md gives the procedure by hand. The loopback target does all of it.
 */
export function removalProblems(previous: Shapes | undefined, cluster: string, wanted: readonly HostRef[]): string[] {
  if (!previous) return [];
  const prefix = `chi-${kubeCluster(cluster)}-`;
  const before = Object.keys(previous).flatMap((name) => {
    const m = name.startsWith(prefix) ? /^(\d+)-(\d+)$/.exec(name.slice(prefix.length)) : null;
    return m ? [{ name, shard: Number(m[1]), replica: Number(m[2]) }] : [];
  });
  const change = planChange(before, wanted);
  if (change.removed.shards.length === 0 && change.removed.replicas.length === 0) return [];
  return [
    `the config ${describeChange({ ...change, added: { shards: [], replicas: [] } })}: removing ClickHouse hosts is not done by the Kubernetes program yet ` +
      "(their StatefulSets are protected, a removed shard's rows would leave every query, their replica metadata would stay in ZooKeeper); " +
      "restore clickhouse.shards and clickhouse.replicas, or follow docs/scaling.md (\"Removing hosts on Kubernetes\")",
  ];
}
