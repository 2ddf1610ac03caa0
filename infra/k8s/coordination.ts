// What ZooKeeper and Keeper share on Kubernetes: their config in a ConfigMap; a protected StatefulSet
// started in Parallel (ordered start and quorum readiness would deadlock) with one node per host; a
// headless Service that publishes not-ready pods (peers must find each other before any is ready); a
// client Service; and a PDB that keeps a quorum. Each component supplies only its container.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { coordinationHeadlessServiceName, coordinationStatefulSetName, serviceFqdn } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { shapeOf, type Shapes } from "./guard.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, keepVolumes, podSecurity, resources, spreadApart } from "./pods.ts";
import { checksum, volumeClaim } from "./volumes.ts";

export interface CoordinationSpec {
  readonly ports: readonly { name: string; port: number }[];
  /** The image's own unprivileged user. */
  readonly uid: number;
  /** The config file's name and content; mounted at `configDir`. */
  readonly configFile: string;
  readonly configText: string;
  readonly configDir: string;
  readonly dataDir: string;
  /** The container, without ports, resources, security context or mounts (added here). */
  readonly container: k8s.types.input.core.v1.Container;
}

export interface CoordinationObjects {
  readonly statefulSet: k8s.apps.v1.StatefulSet;
  readonly shapes: Shapes;
  /** `host:port` of the client Service. */
  readonly clientAddress: string;
}

export function coordinationNodes(name: string, t: Topology, spec: CoordinationSpec, parent: pulumi.Resource): CoordinationObjects {
  const c = t.config.coordination;
  const kind = c.kind;
  const ns = t.config.kubernetes.namespace;
  const sts = coordinationStatefulSetName(t.cluster, kind);
  const lbl = labels(t, kind);
  const sel = selectorLabels(t, kind);
  const client = spec.ports.find((p) => p.name === "client")!;

  const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
    metadata: { name: `${sts}-config`, namespace: ns, labels: lbl },
    data: { [spec.configFile]: spec.configText },
  }, { parent });
  const stsArgs: k8s.apps.v1.StatefulSetArgs = {
    metadata: { name: sts, namespace: ns, labels: lbl },
    spec: {
      serviceName: coordinationHeadlessServiceName(t.cluster, kind),
      replicas: c.size,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      selector: { matchLabels: sel },
      persistentVolumeClaimRetentionPolicy: keepVolumes,
      template: {
        metadata: { labels: lbl, annotations: { "chstack.dev/config-checksum": checksum(spec.configText) } },
        spec: {
          securityContext: podSecurity(spec.uid),
          ...spreadApart(sel),
          containers: [{
            ...spec.container,
            ports: spec.ports.map((p) => ({ name: p.name, containerPort: p.port })),
            resources: resources(c.resources),
            securityContext: containerSecurity,
            volumeMounts: [{ name: "data", mountPath: spec.dataDir }, { name: "config", mountPath: spec.configDir }],
          }],
          volumes: [{ name: "config", configMap: { name: config.metadata.name } }],
        },
      },
      volumeClaimTemplates: [volumeClaim("data", c.storage)],
    },
  };
  const statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, stsArgs, { parent, protect: true });

  new k8s.core.v1.Service(`${name}-headless`, {
    metadata: { name: coordinationHeadlessServiceName(t.cluster, kind), namespace: ns, labels: lbl },
    spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: sel, ports: spec.ports.map((p) => ({ ...p, targetPort: p.port })) },
  }, { parent });
  new k8s.core.v1.Service(`${name}-client`, {
    metadata: { name: sts, namespace: ns, labels: lbl },
    spec: { selector: sel, ports: [{ name: "client", port: client.port, targetPort: client.port }] },
  }, { parent });
  // A quorum must survive a voluntary disruption: at most (n - 1) / 2 pods away; one node allows none.
  new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
    metadata: { name: sts, namespace: ns, labels: lbl },
    spec: { selector: { matchLabels: sel }, minAvailable: Math.floor(c.size / 2) + 1 },
  }, { parent });
  return { statefulSet, shapes: { [sts]: shapeOf(stsArgs) }, clientAddress: `${serviceFqdn(sts, ns)}:${client.port}` };
}
