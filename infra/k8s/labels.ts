// Kubernetes recommended labels on every object, and the selector subsets that never change (a selector
// change would replace a StatefulSet).
import type { Topology } from "../model/topology.ts";
import { kubeCluster } from "../model/names.ts";

export type Component = "clickhouse" | "zookeeper" | "keeper" | "postgres" | "app" | "schema";

export const SHARD_LABEL = "chstack.dev/shard";
export const REPLICA_LABEL = "chstack.dev/replica";
export const HOST_LABEL = "chstack.dev/host";

/** Labels that select a component's pods: name, instance (the cluster) and component. */
export function selectorLabels(t: Topology, component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "app.kubernetes.io/name": component === "app" || component === "schema" ? "chstack" : component,
    "app.kubernetes.io/instance": kubeCluster(t.cluster),
    "app.kubernetes.io/component": component,
    ...extra,
  };
}

/** Every label of an object: the stack's own labels, the recommended ones, and the selector labels. */
export function labels(t: Topology, component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...t.config.kubernetes.labels,
    ...selectorLabels(t, component, extra),
    "app.kubernetes.io/part-of": "chstack",
    "app.kubernetes.io/managed-by": "pulumi",
  };
}
