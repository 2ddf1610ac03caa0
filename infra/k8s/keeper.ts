// ClickHouse Keeper on Kubernetes, the alternative to ZooKeeper: a StatefulSet of 1, 3 or 5 started in
// parallel, a headless Service publishing not-ready pods, a client Service, a quorum-keeping PDB.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { coordinationHeadlessServiceName, coordinationStatefulSetName } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { KEEPER_SERVER_ID_ENV, renderKeeperConfig } from "../render/keeper.ts";
import { shapeOf, type Shapes } from "./guard.ts";
import { coordinationServices } from "./coordination.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, keepVolumes, podSecurity, resources, spreadApart } from "./pods.ts";
import { checksum, volumeClaim } from "./zookeeper.ts";

export interface KeeperArgs {
  /** The Kubernetes topology (coordination.kind must be keeper). */
  readonly topology: Topology;
}

export class Keeper extends pulumi.ComponentResource {
  public readonly clientAddress: string;
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  /** The immutable fields of its StatefulSet (see guard.ts). */
  public readonly shapes: Shapes;

  constructor(name: string, args: KeeperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:Keeper", name, {}, opts);
    const t = args.topology;
    const c = t.config.coordination;
    if (c.kind !== "keeper") throw new Error(`Keeper: coordination.kind is ${c.kind}`);
    const ns = t.config.kubernetes.namespace;
    const sts = coordinationStatefulSetName(t.cluster, "keeper");
    const headless = coordinationHeadlessServiceName(t.cluster, "keeper");
    const lbl = labels(t, "keeper");
    const sel = selectorLabels(t, "keeper");
    const parent = { parent: this };
    const ports = [{ name: "client", port: c.ports.client }, { name: "raft", port: c.ports.peer }];
    const xml = renderKeeperConfig(t);

    const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
      metadata: { name: `${sts}-config`, namespace: ns, labels: lbl },
      data: { "keeper_config.xml": xml },
    }, parent);
    const stsArgs: k8s.apps.v1.StatefulSetArgs = {
      metadata: { name: sts, namespace: ns, labels: lbl },
      spec: {
        serviceName: headless,
        replicas: c.size,
        podManagementPolicy: "Parallel",
        selector: { matchLabels: sel },
        persistentVolumeClaimRetentionPolicy: keepVolumes,
        template: {
          metadata: { labels: lbl, annotations: { "chstack.dev/config-checksum": checksum(xml) } },
          spec: {
            securityContext: podSecurity(101),
            ...spreadApart(sel),
            containers: [{
              name: "keeper",
              image: c.image,
              // server_id from the pod's ordinal (chk-<cluster>-<i> is server i + 1).
              command: ["bash", "-c", `export ${KEEPER_SERVER_ID_ENV}=$(( \${HOSTNAME##*-} + 1 )) && exec clickhouse-keeper --config-file=/etc/clickhouse-keeper/keeper_config.xml`],
              ports: ports.map((p) => ({ name: p.name, containerPort: p.port })),
              resources: resources(c.resources),
              securityContext: containerSecurity,
              readinessProbe: { tcpSocket: { port: c.ports.client }, periodSeconds: 10 },
              livenessProbe: { tcpSocket: { port: c.ports.client }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
              volumeMounts: [{ name: "data", mountPath: "/var/lib/clickhouse-keeper" }, { name: "config", mountPath: "/etc/clickhouse-keeper" }],
            }],
            volumes: [{ name: "config", configMap: { name: config.metadata.name } }],
          },
        },
        volumeClaimTemplates: [volumeClaim("data", c.storage)],
      },
    };
    this.statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, stsArgs, { parent: this, protect: true });
    this.shapes = { [sts]: shapeOf(stsArgs) };
    this.clientAddress = coordinationServices(name, t, ports, this);
    this.registerOutputs({ clientAddress: this.clientAddress });
  }
}
