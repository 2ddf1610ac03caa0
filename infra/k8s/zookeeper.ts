// ZooKeeper on Kubernetes: a StatefulSet of 1, 3 or 5 started in parallel (ordered start and quorum
// readiness would deadlock), a headless Service that publishes not-ready pods (peers must find each other
// before any is ready), a client Service, a PodDisruptionBudget that keeps a quorum, and the renderer's
// zoo.cfg (the same for every pod; each pod writes its myid from its ordinal).
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { coordinationHeadlessServiceName, coordinationStatefulSetName } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { renderZooCfg } from "../render/zookeeper.ts";
import { shapeOf, type Shapes } from "./guard.ts";
import { coordinationServices } from "./coordination.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, keepVolumes, podSecurity, resources, spreadApart } from "./pods.ts";

export interface ZooKeeperArgs {
  /** The Kubernetes topology (coordination.kind must be zookeeper). */
  readonly topology: Topology;
}

/** The official image runs as uid 1000 (zookeeper). */
const ZK_UID = 1000;

export class ZooKeeper extends pulumi.ComponentResource {
  /** `host:port` of the client Service, for ClickHouse's zookeeper config and init containers. */
  public readonly clientAddress: string;
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  /** The immutable fields of its StatefulSet (see guard.ts). */
  public readonly shapes: Shapes;

  constructor(name: string, args: ZooKeeperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:ZooKeeper", name, {}, opts);
    const t = args.topology;
    const c = t.config.coordination;
    if (c.kind !== "zookeeper") throw new Error(`ZooKeeper: coordination.kind is ${c.kind}`);
    const ns = t.config.kubernetes.namespace;
    const sts = coordinationStatefulSetName(t.cluster, "zookeeper");
    const headless = coordinationHeadlessServiceName(t.cluster, "zookeeper");
    const lbl = labels(t, "zookeeper");
    const sel = selectorLabels(t, "zookeeper");
    const parent = { parent: this };
    const ports = [
      { name: "client", port: c.ports.client },
      { name: "peer", port: c.ports.peer },
      { name: "election", port: c.ports.election },
    ];

    const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
      metadata: { name: `${sts}-config`, namespace: ns, labels: lbl },
      data: { "zoo.cfg": renderZooCfg(t, t.coordination.nodes[0]!) },
    }, parent);




    const stsArgs: k8s.apps.v1.StatefulSetArgs = {
      metadata: { name: sts, namespace: ns, labels: lbl },
      spec: {
        serviceName: headless,
        replicas: c.size,
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "RollingUpdate" },
        selector: { matchLabels: sel },
        persistentVolumeClaimRetentionPolicy: keepVolumes,
        template: {
          metadata: { labels: lbl, annotations: { "chstack.dev/config-checksum": config.data.apply((d) => checksum(JSON.stringify(d))) } },
          spec: {
            securityContext: podSecurity(ZK_UID),
            ...spreadApart(sel),
            containers: [{
              name: "zookeeper",
              image: c.image,
              // myid from the pod's ordinal (zk-<cluster>-<i> holds id i + 1), then the server in the foreground.
              command: ["bash", "-c", 'echo $(( ${HOSTNAME##*-} + 1 )) > /data/myid && exec zkServer.sh --config /conf start-foreground'],
              env: [{ name: "JVMFLAGS", value: `-Xmx${c.heapMb}m -Xms${Math.min(64, c.heapMb)}m` }, { name: "ZOO_LOG4J_PROP", value: "INFO,CONSOLE" }],
              ports: ports.map((p) => ({ name: p.name, containerPort: p.port })),
              resources: resources(c.resources),
              securityContext: containerSecurity,
              // `srvr` answers only once the server serves (`ruok` answers before).
              readinessProbe: { exec: { command: ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${c.ports.client} && echo srvr >&3 && grep -q Mode <&3`] }, periodSeconds: 10, timeoutSeconds: 5 },
              livenessProbe: { tcpSocket: { port: c.ports.client }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
              volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "config", mountPath: "/conf" }],
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

export function volumeClaim(name: string, storage: { size: string; className?: string }): k8s.types.input.core.v1.PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: storage.size } }, ...(storage.className ? { storageClassName: storage.className } : {}) },
  };
}

/** A pod annotation that changes with the files a server only reads at start: a change rolls the pod. */
export const checksum = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);
