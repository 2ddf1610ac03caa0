// What ZooKeeper and Keeper share on Kubernetes: a headless Service that publishes not-ready pods (peers
// must find each other before any is ready), a client Service, and a PDB that keeps a quorum.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { coordinationHeadlessServiceName, coordinationStatefulSetName, serviceFqdn } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { labels, selectorLabels } from "./labels.ts";

export function coordinationServices(name: string, t: Topology, ports: readonly { name: string; port: number }[], parent: pulumi.Resource): string {
  const kind = t.config.coordination.kind;
  const ns = t.config.kubernetes.namespace;
  const sts = coordinationStatefulSetName(t.cluster, kind);
  const lbl = labels(t, kind);
  const sel = selectorLabels(t, kind);
  const client = ports.find((p) => p.name === "client")!;
  new k8s.core.v1.Service(`${name}-headless`, {
    metadata: { name: coordinationHeadlessServiceName(t.cluster, kind), namespace: ns, labels: lbl },
    spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: sel, ports: ports.map((p) => ({ ...p, targetPort: p.port })) },
  }, { parent });
  new k8s.core.v1.Service(`${name}-client`, {
    metadata: { name: sts, namespace: ns, labels: lbl },
    spec: { selector: sel, ports: [{ name: "client", port: client.port, targetPort: client.port }] },
  }, { parent });
  // A quorum must survive a voluntary disruption: at most (n - 1) / 2 pods away; one node allows none.
  new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
    metadata: { name: sts, namespace: ns, labels: lbl },
    spec: { selector: { matchLabels: sel }, minAvailable: Math.floor(t.config.coordination.size / 2) + 1 },
  }, { parent });
  return `${serviceFqdn(sts, ns)}:${client.port}`;
}
