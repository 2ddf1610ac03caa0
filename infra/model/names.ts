// Every naming pattern of the project, in one place (as the operator's namer/patterns.go): host and
// Kubernetes object names, ZooKeeper paths, macros. Pure functions of the cluster name and indexes.
// Shard and replica indexes are 0-based and stable: a host keeps its name, and so its replica name
// in ZooKeeper, for life.

/** The cluster name as it appears in Kubernetes names (`_` is not allowed there). */
export function kubeCluster(cluster: string): string {
  return cluster.replaceAll("_", "-");
}

/** A ClickHouse host: StatefulSet, its headless Service and the `replica` macro. */
export const hostName = (cluster: string, shard: number, replica: number) =>
  `chi-${kubeCluster(cluster)}-${shard}-${replica}`;
/** The single pod of a host's StatefulSet. */
export const hostPodName = (host: string) => `${host}-0`;
export const hostConfigMapName = (host: string) => `${host}-config`;
export const shardServiceName = (cluster: string, shard: number) => `shard-${kubeCluster(cluster)}-${shard}`;
export const clusterServiceName = (cluster: string) => `clickhouse-${kubeCluster(cluster)}`;
export const commonConfigMapName = (cluster: string) => `chi-${kubeCluster(cluster)}-common`;
export const remoteServersConfigMapName = (cluster: string) => `chi-${kubeCluster(cluster)}-remote-servers`;
export const usersSecretName = (cluster: string) => `chi-${kubeCluster(cluster)}-users`;

/** Coordination (ZooKeeper or Keeper): one StatefulSet, pods `<sts>-<i>`. */
export const coordinationStatefulSetName = (cluster: string, kind: "zookeeper" | "keeper") =>
  `${kind === "zookeeper" ? "zk" : "chk"}-${kubeCluster(cluster)}`;
export const coordinationNodeName = (cluster: string, kind: "zookeeper" | "keeper", index: number) =>
  `${coordinationStatefulSetName(cluster, kind)}-${index}`;
export const coordinationHeadlessServiceName = (cluster: string, kind: "zookeeper" | "keeper") =>
  `${coordinationStatefulSetName(cluster, kind)}-headless`;

export const postgresName = (cluster: string) => `pg-${kubeCluster(cluster)}`;
export const appName = (cluster: string) => `app-${kubeCluster(cluster)}`;

/** In-cluster DNS name of a Service, or of a pod behind a headless Service. */
export const serviceFqdn = (service: string, namespace: string) => `${service}.${namespace}.svc.cluster.local`;
export const podFqdn = (pod: string, headlessService: string, namespace: string) =>
  `${pod}.${serviceFqdn(headlessService, namespace)}`;

/** ClickHouse macros of a host: what `{cluster}`, `{shard}`, `{replica}` expand to in DDL. */
export const hostMacros = (cluster: string, shard: number, replica: number) => ({
  cluster,
  shard: String(shard),
  replica: hostName(cluster, shard, replica),
});

/** users.xml profile of a role; `default` stays the server's own default profile. */
export const profileName = (role: "admin" | "writer" | "readonly") => `chstack_${role}`;

/**
 * ZooKeeper layout. Every ClickHouse server of a cluster uses `root` as its chroot, so the paths below
 * are relative to it and two clusters sharing one ensemble never meet.
 */
export const zookeeperPaths = (cluster: string) => ({
  root: `/clickhouse/${cluster}`,
  distributedDdl: "/clickhouse/task_queue/ddl",
  /** Default prefix of ReplicatedMergeTree paths: `<tables>/<db>.<table>`. */
  tables: "/clickhouse/tables/{shard}",
});

/** The znodes to create, parent first, before a server with `root` as chroot can start (it refuses otherwise). */
export function zookeeperRootChain(root: string): string[] {
  const parts = root.split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

/** Kubernetes limits: DNS-1123 labels are 63; StatefulSets 52, since the controller-revision-hash label adds a suffix. */
export const STATEFULSET_NAME_MAX = 52;
export const DNS_LABEL_MAX = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface NamedObject {
  readonly kind: string;
  readonly name: string;
  readonly max: number;
}

/**
 * The Kubernetes names of a topology that could be too long: with the largest indexes, since names grow
 * with the digit count. Checked by the config schema and by the model tests for the largest topology.
 */
export function longestKubernetesNames(cluster: string, shards: number, replicas: number, coordinationSize: number): NamedObject[] {
  const host = hostName(cluster, shards - 1, replicas - 1);
  const objects: NamedObject[] = [
    { kind: "StatefulSet", name: host, max: STATEFULSET_NAME_MAX },
    { kind: "Service", name: host, max: DNS_LABEL_MAX },
    { kind: "Pod", name: hostPodName(host), max: DNS_LABEL_MAX },
    { kind: "Service", name: shardServiceName(cluster, shards - 1), max: DNS_LABEL_MAX },
    { kind: "Service", name: clusterServiceName(cluster), max: DNS_LABEL_MAX },
    { kind: "Service", name: postgresName(cluster), max: DNS_LABEL_MAX },
    { kind: "Service", name: appName(cluster), max: DNS_LABEL_MAX },
  ];
  for (const kind of ["zookeeper", "keeper"] as const) {
    objects.push(
      { kind: "StatefulSet", name: coordinationStatefulSetName(cluster, kind), max: STATEFULSET_NAME_MAX },
      { kind: "Service", name: coordinationHeadlessServiceName(cluster, kind), max: DNS_LABEL_MAX },
      { kind: "Pod", name: coordinationNodeName(cluster, kind, coordinationSize - 1), max: DNS_LABEL_MAX },
    );
  }
  return objects;
}

export function isDnsLabel(name: string): boolean {
  return name.length <= DNS_LABEL_MAX && DNS_LABEL.test(name);
}

/** The first name that breaks its limit, if any. */
export function tooLongName(cluster: string, shards: number, replicas: number, coordinationSize: number): NamedObject | undefined {
  return longestKubernetesNames(cluster, shards, replicas, coordinationSize).find((o) => o.name.length > o.max || !isDnsLabel(o.name));
}
