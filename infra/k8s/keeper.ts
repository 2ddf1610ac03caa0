// ClickHouse Keeper on Kubernetes, the alternative to ZooKeeper (coordination.ts builds the StatefulSet,
// Services and PDB): the rendered keeper_config.xml for every pod, server_id from the pod's ordinal.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Topology } from "../model/topology.ts";
import { KEEPER_SERVER_ID_ENV, renderKeeperConfig } from "../render/keeper.ts";
import { coordinationNodes } from "./coordination.ts";
import type { Shapes } from "./guard.ts";
import { image } from "./pods.ts";

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
    const nodes = coordinationNodes(name, t, {
      ports: [{ name: "client", port: c.ports.client }, { name: "raft", port: c.ports.peer }],
      uid: 101, // the image's clickhouse user
      configFile: "keeper_config.xml",
      configText: renderKeeperConfig(t),
      configDir: "/etc/clickhouse-keeper",
      dataDir: "/var/lib/clickhouse-keeper",
      container: {
        name: "keeper",
        ...image(t.config, c.image),
        // server_id from the pod's ordinal (chk-<cluster>-<i> is server i + 1).
        command: ["bash", "-c", `export ${KEEPER_SERVER_ID_ENV}=$(( \${HOSTNAME##*-} + 1 )) && exec clickhouse-keeper --config-file=/etc/clickhouse-keeper/keeper_config.xml`],
        readinessProbe: { tcpSocket: { port: c.ports.client }, periodSeconds: 10 },
        livenessProbe: { tcpSocket: { port: c.ports.client }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
      },
    }, this);
    this.statefulSet = nodes.statefulSet;
    this.shapes = nodes.shapes;
    this.clientAddress = nodes.clientAddress;
    this.registerOutputs({ clientAddress: this.clientAddress });
  }
}
