// NetworkPolicies: ClickHouse, coordination and Postgres admit only the members of the stack that need
// them. Policies select pods, so anything not admitted here is refused once a policy selects a pod.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { kubeCluster } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { labels, selectorLabels, type Component } from "./labels.ts";

export function networkPolicies(name: string, t: Topology, opts: pulumi.CustomResourceOptions): void {
  const ns = t.config.kubernetes.namespace;
  const from = (...components: Component[]) => components.map((c) => ({ podSelector: { matchLabels: selectorLabels(t, c) } }));
  const port = (p: number) => ({ protocol: "TCP", port: p });
  const policy = (key: string, component: Component, rules: { from: ReturnType<typeof from>; ports: ReturnType<typeof port>[] }[]) =>
    new k8s.networking.v1.NetworkPolicy(`${name}-${key}`, {
      metadata: { name: `${key}-${kubeCluster(t.cluster)}`, namespace: ns, labels: labels(t, component) },
      spec: { podSelector: { matchLabels: selectorLabels(t, component) }, policyTypes: ["Ingress"], ingress: rules },
    }, opts);

  const ch = t.config.clickhouse.ports;
  policy("allow-clickhouse", "clickhouse", [
    // Queries between servers and replication fetches.
    { from: from("clickhouse"), ports: [port(ch.tcp), port(ch.http), port(ch.interserver)] },
    // The app and the schema step.
    { from: from("app", "schema"), ports: [port(ch.tcp), port(ch.http)] },
  ]);
  const coord = t.config.coordination;
  const kind = coord.kind === "zookeeper" ? "zookeeper" : "keeper";
  policy(`allow-${kind}`, kind, [
    // ClickHouse, and the retire step's clean-up of removed replicas' metadata.
    { from: from("clickhouse", "schema"), ports: [port(coord.ports.client)] },
    { from: from(kind), ports: [port(coord.ports.client), port(coord.ports.peer), ...("election" in coord.ports ? [port(coord.ports.election)] : [])] },
  ]);
  if (t.config.postgres.mode === "in-stack") {
    policy("allow-postgres", "postgres", [{ from: from("app", "schema"), ports: [port(t.config.postgres.port)] }]);
  }
}
