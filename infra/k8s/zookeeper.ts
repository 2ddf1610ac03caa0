// ZooKeeper on Kubernetes: an ensemble of 1, 3 or 5 (coordination.ts builds the StatefulSet, Services and
// PDB) with the renderer's zoo.cfg, the same for every pod; each pod writes its myid from its ordinal.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Topology } from "../model/topology.ts";
import { renderZooCfg } from "../render/zookeeper.ts";
import { coordinationNodes } from "./coordination.ts";
import type { Shapes } from "./guard.ts";
import { image } from "./pods.ts";

export interface ZooKeeperArgs {
  /** The Kubernetes topology (coordination.kind must be zookeeper). */
  readonly topology: Topology;
}

export class ZooKeeper extends pulumi.ComponentResource {
  /** `host:port` of the client Service. */
  public readonly clientAddress: string;
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  /** The immutable fields of its StatefulSet (see guard.ts). */
  public readonly shapes: Shapes;

  constructor(name: string, args: ZooKeeperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:ZooKeeper", name, {}, opts);
    const t = args.topology;
    const c = t.config.coordination;
    if (c.kind !== "zookeeper") throw new Error(`ZooKeeper: coordination.kind is ${c.kind}`);
    const nodes = coordinationNodes(name, t, {
      ports: [{ name: "client", port: c.ports.client }, { name: "peer", port: c.ports.peer }, { name: "election", port: c.ports.election }],
      uid: 1000, // the official image's zookeeper user
      configFile: "zoo.cfg",
      configText: renderZooCfg(t, t.coordination.nodes[0]!),
      configDir: "/conf",
      dataDir: "/data",
      container: {
        name: "zookeeper",
        ...image(t.config, c.image),
        // myid from the pod's ordinal (zk-<cluster>-<i> holds id i + 1), then the server in the foreground.
        command: ["bash", "-c", 'echo $(( ${HOSTNAME##*-} + 1 )) > /data/myid && exec zkServer.sh --config /conf start-foreground'],
        env: [{ name: "JVMFLAGS", value: `-Xmx${c.heapMb}m -Xms${Math.min(64, c.heapMb)}m` }, { name: "ZOO_LOG4J_PROP", value: "INFO,CONSOLE" }],
        // `srvr` answers only once the server serves (`ruok` answers before).
        readinessProbe: { exec: { command: ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${c.ports.client} && echo srvr >&3 && grep -q Mode <&3`] }, periodSeconds: 10, timeoutSeconds: 5 },
        livenessProbe: { tcpSocket: { port: c.ports.client }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
      },
    }, this);
    this.statefulSet = nodes.statefulSet;
    this.shapes = nodes.shapes;
    this.clientAddress = nodes.clientAddress;
    this.registerOutputs({ clientAddress: this.clientAddress });
  }
}
