// One ClickHouse host as Kubernetes objects: its StatefulSet (one pod, its own PVC) and headless Service.
// config.d and users.d are projected volumes of whole ConfigMaps and a Secret (no subPath, so the kubelet
// delivers changes: remote_servers and users are hot-reloaded). The image keeps its own config.xml.
import { basename as base } from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { clickhouseFiles } from "../render/clickhouse/index.ts";
import type { ClickHouseHost, Topology } from "../model/topology.ts";
import { coordinationStatefulSetName, serviceFqdn, zookeeperRootChain } from "../model/names.ts";
import { HOST_LABEL, labels, REPLICA_LABEL, selectorLabels, SHARD_LABEL } from "./labels.ts";
import { containerSecurity, image, keepVolumes, podSecurity, resources, spreadApart } from "./pods.ts";
import { volumeClaim } from "./volumes.ts";

/** The ClickHouse image runs as uid 101 (clickhouse). */
const CH_UID = 101;

export interface HostObjects {
  readonly commonConfigMap: pulumi.Input<string>;
  readonly remoteServersConfigMap: pulumi.Input<string>;
  readonly hostConfigMap: pulumi.Input<string>;
  readonly usersSecret: pulumi.Input<string>;
  readonly credentialsSecret: pulumi.Input<string>;
  /** Restart-requiring config (host files, zookeeper, settings): a change rolls this host's pod. */
  readonly checksum: pulumi.Input<string>;
}

export const shardSelector = (t: Topology, shard: number) => selectorLabels(t, "clickhouse", { [SHARD_LABEL]: String(shard) });
export const hostSelector = (t: Topology, h: ClickHouseHost) => selectorLabels(t, "clickhouse", { [HOST_LABEL]: h.name });
export const hostLabels = (t: Topology, h: ClickHouseHost) =>
  labels(t, "clickhouse", { [SHARD_LABEL]: String(h.address.shardIndex), [REPLICA_LABEL]: String(h.address.replicaIndex), [HOST_LABEL]: h.name });

export function hostService(t: Topology, h: ClickHouseHost): k8s.core.v1.ServiceArgs {
  const p = h.endpoint.ports;
  return {
    metadata: { name: h.name, namespace: t.config.kubernetes.namespace, labels: hostLabels(t, h) },
    spec: {
      clusterIP: "None",
      // Replicas fetch parts from a replica that is still catching up.
      publishNotReadyAddresses: true,
      selector: hostSelector(t, h),
      ports: [
        { name: "tcp", port: p.tcp, targetPort: p.tcp },
        { name: "http", port: p.http, targetPort: p.http },
        { name: "interserver", port: p.interserver, targetPort: p.interserver },
      ],
    },
  };
}

export function hostStatefulSet(t: Topology, h: ClickHouseHost, o: HostObjects): k8s.apps.v1.StatefulSetArgs {
  const ch = t.config.clickhouse;
  const p = h.endpoint.ports;
  const lbl = hostLabels(t, h);
  const shard = shardSelector(t, h.address.shardIndex);
  const coordination = `${serviceFqdn(coordinationStatefulSetName(t.cluster, t.coordination.kind), t.config.kubernetes.namespace)}:${t.config.coordination.ports.client}`;
  const item = (path: string) => ({ key: base(path), path: base(path) });
  return {
    metadata: { name: h.name, namespace: t.config.kubernetes.namespace, labels: lbl },
    spec: {
      serviceName: h.name,
      replicas: 1,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      selector: { matchLabels: hostSelector(t, h) },
      persistentVolumeClaimRetentionPolicy: keepVolumes,
      template: {
        metadata: { labels: lbl, annotations: { "chstack.dev/config-checksum": o.checksum } },
        spec: {
          securityContext: podSecurity(CH_UID),
          // Replicas of one shard never share a node.
          ...spreadApart(shard),
          initContainers: [zookeeperRoot(t, coordination)],
          containers: [{
            name: "clickhouse",
            ...image(t.config, ch.image),
            env: [
              { name: t.interserverPasswordEnv, valueFrom: { secretKeyRef: { name: o.credentialsSecret, key: "interserver-password-xml" } } },
              // The image must not write its own default-user file into users.d (ours removes that user).
              { name: "CLICKHOUSE_SKIP_USER_SETUP", value: "1" },
            ],
            ports: [
              { name: "tcp", containerPort: p.tcp },
              { name: "http", containerPort: p.http },
              { name: "interserver", containerPort: p.interserver },
            ],
            resources: resources(ch.resources),
            securityContext: containerSecurity,
            // Ready once its replicated tables are not lagging; alive while it answers /ping.
            readinessProbe: { httpGet: { path: "/replicas_status", port: p.http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            livenessProbe: { httpGet: { path: "/ping", port: p.http }, initialDelaySeconds: 60, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 8 },
            volumeMounts: [
              { name: "data", mountPath: "/var/lib/clickhouse" },
              { name: "logs", mountPath: "/var/log/clickhouse-server" },
              { name: "config-d", mountPath: "/etc/clickhouse-server/config.d", readOnly: true },
              { name: "users-d", mountPath: "/etc/clickhouse-server/users.d", readOnly: true },
            ],
          }],
          volumes: [
            { name: "logs", emptyDir: {} },
            {
              name: "config-d",
              projected: {
                sources: [
                  { configMap: { name: o.commonConfigMap, items: clickhouseFiles({ scope: "common", dir: "config.d" }).map(item) } },
                  { configMap: { name: o.remoteServersConfigMap, items: clickhouseFiles({ scope: "topology" }).map(item) } },
                  { configMap: { name: o.hostConfigMap, items: clickhouseFiles({ scope: "host" }).map(item) } },
                ],
              },
            },
            {
              name: "users-d",
              projected: {
                sources: [
                  { configMap: { name: o.commonConfigMap, items: clickhouseFiles({ scope: "common", dir: "users.d" }).map(item) } },
                  { secret: { name: o.usersSecret, items: clickhouseFiles({ scope: "secret" }).map(item) } },
                ],
              },
            },
          ],
        },
      },
      volumeClaimTemplates: [volumeClaim("data", ch.storage)],
    },
  };
}

/** ClickHouse refuses to start while its ZooKeeper chroot is missing: create it (idempotent) first. */
function zookeeperRoot(t: Topology, address: string): k8s.types.input.core.v1.Container {
  const c = t.config.coordination;
  const chain = zookeeperRootChain(t.zookeeper.root);
  const command = c.kind === "zookeeper"
    ? chain.map((p) => `zkCli.sh -server ${address} create ${p} '' >/dev/null 2>&1 || zkCli.sh -server ${address} stat ${p} >/dev/null`).join(" && ")
    : chain.map((p) => `clickhouse keeper-client -h ${address.split(":")[0]} -p ${c.ports.client} -q "touch '${p}'"`).join(" && ");
  return {
    name: "zookeeper-root",
    ...image(t.config, c.kind === "zookeeper" ? c.image : t.config.clickhouse.image),
    command: ["bash", "-c", `set -e; ${command}`],
    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    securityContext: containerSecurity,
  };
}
