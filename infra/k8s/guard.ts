// Kubernetes cannot change a StatefulSet's serviceName, selector or volumeClaimTemplates in place: Pulumi
// would replace it, and its data with it. Each run exports those fields per StatefulSet; the next run
// compares them with its own stack's previous outputs and refuses a change at program time.
import type * as k8s from "@pulumi/kubernetes";
import type { HostRef } from "../model/change.ts";
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

/** The ClickHouse hosts of a previous run's StatefulSets (names `chi-<cluster>-<shard>-<replica>`). */
export function clickhouseHostsOf(previous: Shapes | undefined, cluster: string): HostRef[] {
  const prefix = `chi-${kubeCluster(cluster)}-`;
  return Object.keys(previous ?? {}).flatMap((name) => {
    const m = name.startsWith(prefix) ? /^(\d+)-(\d+)$/.exec(name.slice(prefix.length)) : null;
    return m ? [{ name, shard: Number(m[1]), replica: Number(m[2]) }] : [];
  });
}

/**
 * A host removed by an earlier run keeps its volume, with data whose replica metadata ZooKeeper no longer
 * has: ClickHouse would start its tables read-only. Bringing it back is refused until the volume is gone.
 */
export function readmitProblems(retired: readonly string[], wanted: readonly HostRef[]): string[] {
  return wanted.filter((h) => retired.includes(h.name)).map((h) =>
    `ClickHouse host ${h.name} was removed by an earlier run and its volume still holds its old data (its replica metadata is gone from ZooKeeper); ` +
      "bringing it back is not supported yet: keep clickhouse.shards and clickhouse.replicas below it (docs/scaling.md)");
}
