// ClickHouse S x R on Kubernetes. Layout: one StatefulSet (one pod) and one headless Service per host, as
// the operators do. A new replica or shard is a new StatefulSet: existing pods are not touched. Within a
// shard each host's StatefulSet depends on the previous replica's, and Pulumi waits for a StatefulSet's
// rollout, so an image or config change restarts one replica of a shard at a time (shards in parallel).
import { basename as base } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  clusterServiceName, commonConfigMapName, hostConfigMapName, kubeCluster, remoteServersConfigMapName, serviceFqdn, shardServiceName, usersSecretName,
} from "../model/names.ts";
import type { TopologyChange } from "../model/change.ts";
import type { ClickHouseHost, Topology } from "../model/topology.ts";
import type { RetireInput } from "../../jobs/retire-job.ts";
import {
  CLICKHOUSE_FILES, clickhouseFiles, hashPasswords, interserverPasswordForEnv, renderClickHouseHost, renderClickHouseShared, renderUsers,
} from "../render/clickhouse/index.ts";
import type { Credentials } from "./credentials.ts";
import { hostService, hostStatefulSet, shardSelector } from "./clickhouse-host.ts";
import { shapeOf, type Shapes } from "./guard.ts";
import { labels, selectorLabels } from "./labels.ts";
import { checksum } from "./volumes.ts";
import { nodeJob } from "./node-job.ts";
import { buildRetireBundle } from "./schema-bundle.ts";

export interface ClickHouseClusterArgs {
  /** The Kubernetes topology. */
  readonly topology: Topology;
  readonly credentials: Credentials;
  /** The hosts the previous run had (its StatefulSet shapes); undefined on a first install. */
  readonly previousHosts: Promise<ReadonlySet<string> | undefined>;
  /**
   * On an existing install, what the new remote_servers also waits for: the schema Job, so that no
   * Distributed query is routed to a new host before its tables exist (infra/model/change.ts, publish).
   */
  readonly publishAfter?: Promise<readonly pulumi.Resource[]>;
  /**
   * Hosts this run removes (infra/model/change.ts, retire): a Job checks first that no removed shard holds
   * rows (unless `allowDropShard`) and that a replica that stays holds each removed replica's rows; then
   * remote_servers drops them, then their StatefulSets scale to 0 (volumes kept), then a Job removes their
   * replica metadata from ZooKeeper.
   */
  readonly retiring?: { readonly hosts: readonly ClickHouseHost[]; readonly change: TopologyChange; readonly allowDropShard: boolean };
  /** Hosts removed by earlier runs: their StatefulSets stay at 0 replicas, protected, their volumes kept. */
  readonly retired?: readonly ClickHouseHost[];
}

const F = CLICKHOUSE_FILES;

export class ClickHouseCluster extends pulumi.ComponentResource {
  /** The cluster Service's in-cluster DNS name. */
  public readonly host: string;
  public readonly ports: { readonly tcp: number; readonly http: number };
  /** Name of the Secret holding each role's password (keys `<role>-password`). */
  public readonly credentialsSecret: string;
  public readonly statefulSets: readonly k8s.apps.v1.StatefulSet[];
  /** The hosts this run removed, once their clean-up Job has succeeded (never for a run that failed before). */
  public readonly retiredNow: pulumi.Output<string[]>;
  /** The immutable fields of each host's StatefulSet (see guard.ts). */
  public readonly shapes: Shapes;

  constructor(name: string, args: ClickHouseClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:ClickHouseCluster", name, {}, opts);
    const t = args.topology;
    const ns = t.config.kubernetes.namespace;
    const lbl = labels(t, "clickhouse");
    const parent = { parent: this };
    const shared = renderClickHouseShared(t);
    const pick = (paths: string[]) => Object.fromEntries(paths.map((p) => [base(p), shared[p]!]));

    const common = new k8s.core.v1.ConfigMap(`${name}-common`, {
      metadata: { name: commonConfigMapName(t.cluster), namespace: ns, labels: lbl },
      data: pick(clickhouseFiles({ scope: "common" })),
    }, parent);
    // Its own ConfigMap: a topology change touches this object alone, and ClickHouse reloads it in place.
    // On an existing install it changes only once the new hosts are ready: ClickHouse 18.16 resolves every
    // host of the new list when it reloads, and a name not yet in DNS fails the reload and leaves the server
    // with no cluster at all (seen on a real cluster, 2x2 -> 2x3). The StatefulSets name it by its fixed
    // name, not by its output, so that this order makes no cycle.
    const byHost = new Map<string, k8s.apps.v1.StatefulSet>(); // filled below, before the promise resolves
    let retireCheck: k8s.batch.v1.Job | undefined; // created below, before the promise resolves
    const newHostsReady = args.previousHosts.then(async (previous): Promise<pulumi.Resource[]> => {
      if (!previous) return [];
      const added = [...byHost].filter(([host]) => !previous.has(host)).map(([, sts]) => sts);
      return [...(added.length === 0 ? [] : [...added, ...((await args.publishAfter) ?? [])]), ...(retireCheck ? [retireCheck] : [])];
    });
    const remoteServers = new k8s.core.v1.ConfigMap(`${name}-remote-servers`, {
      metadata: { name: remoteServersConfigMapName(t.cluster), namespace: ns, labels: lbl },
      data: pick(clickhouseFiles({ scope: "topology" })),
    }, { parent: this, dependsOn: newHostsReady });

    const pw = args.credentials.clickhouse;
    this.credentialsSecret = `${usersSecretName(t.cluster)}-credentials`;
    const credentials = new k8s.core.v1.Secret(`${name}-credentials`, {
      metadata: { name: this.credentialsSecret, namespace: ns, labels: lbl },
      type: "Opaque",
      stringData: {
        "admin-password": pw.admin,
        "writer-password": pw.writer,
        "readonly-password": pw.readonly,
        "interserver-password": pw.interserver,
        "interserver-password-xml": pw.interserver.apply(interserverPasswordForEnv),
      },
    }, parent);
    const users = new k8s.core.v1.Secret(`${name}-users`, {
      metadata: { name: usersSecretName(t.cluster), namespace: ns, labels: lbl },
      type: "Opaque",
      stringData: {
        [base(F.users)]: pulumi.all([pw.admin, pw.writer, pw.readonly, pw.interserver]).apply(([admin, writer, readonly, interserver]) =>
          renderUsers(t, hashPasswords({ admin, writer, readonly, interserver }))),
      },
    }, parent);

    // Files read only at start: their checksum is in each pod template (remote_servers and users are not).
    const restartShared = clickhouseFiles({ scope: "common", delivery: "restart" }).map((p) => shared[p]).join("\n");
    // What a host's StatefulSet references; its host ConfigMap by the object's name output while it exists.
    const hostObjects = (h: ClickHouseHost, hostConfigMap: pulumi.Input<string>, files = renderClickHouseHost(h)) => ({
      commonConfigMap: common.metadata.name, remoteServersConfigMap: remoteServersConfigMapName(t.cluster), hostConfigMap,
      usersSecret: users.metadata.name, credentialsSecret: credentials.metadata.name,
      checksum: checksum(`${restartShared}\n${Object.values(files).join("\n")}`),
    });
    const statefulSets: k8s.apps.v1.StatefulSet[] = [];
    const shapes: Shapes = {};
    for (const shard of t.shards) {
      let previous: k8s.apps.v1.StatefulSet | undefined;
      for (const h of shard.hosts) {
        const files = renderClickHouseHost(h);
        const hostConfig = new k8s.core.v1.ConfigMap(`${name}-${h.name}-config`, {
          metadata: { name: hostConfigMapName(h.name), namespace: ns, labels: lbl },
          data: Object.fromEntries(Object.entries(files).map(([p, c]) => [base(p), c])),
        }, parent);
        new k8s.core.v1.Service(`${name}-${h.name}`, hostService(t, h), parent);
        const stsArgs = hostStatefulSet(t, h, hostObjects(h, hostConfig.metadata.name, files));
        const sts: k8s.apps.v1.StatefulSet = new k8s.apps.v1.StatefulSet(`${name}-${h.name}`, stsArgs, { parent: this, protect: true, dependsOn: previous ? [previous] : [] });
        shapes[h.name] = shapeOf(stsArgs);
        statefulSets.push(sts);
        byHost.set(h.name, sts);
        previous = sts;
      }
      // Headless: the shard's name resolves to every replica of it.
      new k8s.core.v1.Service(`${name}-shard-${shard.index}`, {
        metadata: { name: shardServiceName(t.cluster, shard.index), namespace: ns, labels: lbl },
        spec: { clusterIP: "None", selector: shardSelector(t, shard.index), ports: clientPorts(t) },
      }, parent);
      // One replica of a shard away at a time.
      new k8s.policy.v1.PodDisruptionBudget(`${name}-shard-${shard.index}-pdb`, {
        metadata: { name: shardServiceName(t.cluster, shard.index), namespace: ns, labels: lbl },
        spec: { selector: { matchLabels: shardSelector(t, shard.index) }, maxUnavailable: 1 },
      }, parent);
    }
    new k8s.core.v1.Service(`${name}-cluster`, {
      metadata: { name: clusterServiceName(t.cluster), namespace: ns, labels: lbl },
      spec: nodePortSpec(selectorLabels(t, "clickhouse"), clientPorts(t), "http", t.config.kubernetes.nodePorts?.clickhouseHttp),
    }, parent);

    // Removed hosts: checked, unpublished, stopped (0 replicas, volume kept), then forgotten by ZooKeeper.
    const stopped = (h: ClickHouseHost, dependsOn: pulumi.Resource[]) => {
      const a = hostStatefulSet(t, h, hostObjects(h, hostConfigMapName(h.name)));
      shapes[h.name] = shapeOf(a);
      return new k8s.apps.v1.StatefulSet(`${name}-${h.name}`, { ...a, spec: { ...(a.spec as object), replicas: 0 } as k8s.types.input.apps.v1.StatefulSetSpec }, { parent: this, protect: true, dependsOn });
    };
    for (const h of args.retired ?? []) stopped(h, []);
    const r = args.retiring;
    if (r && r.hosts.length > 0) {
      const kc = kubeCluster(t.cluster);
      const url = (h: ClickHouseHost) => ({ name: h.name, url: `http://${h.endpoint.host}:${h.endpoint.ports.http}` });
      const all = new Map([...t.hosts, ...r.hosts].map((h) => [h.name, h]));
      const stays = t.hosts.find((h) => !r.change.removed.shards.includes(h.address.shardIndex));
      const base: Omit<RetireInput, "mode"> = {
        removedShards: r.change.removed.shards.map((shard) => ({ shard, hosts: r.hosts.filter((h) => h.address.shardIndex === shard).map(url) })),
        staying: stays ? url(stays) : null,
        removedReplicas: r.change.removed.replicas.map((h) => ({ host: url(all.get(h.name)!), keeper: url(t.hosts.find((k) => k.address.shardIndex === h.shard)!) })),
        allowDropShard: r.allowDropShard,
        zookeeper: { connect: t.coordination.nodes.map((n) => `${n.endpoint.host}:${n.endpoint.ports.client}`).join(","), root: t.zookeeper.root },
        clean: r.hosts.map((h) => h.name),
      };
      const job = (mode: RetireInput["mode"], dependsOn: pulumi.Resource[]) => {
        const input = JSON.stringify({ mode, ...base });
        return nodeJob(`${name}-retire-${mode}`, t, {
          jobName: `retire-${kc}-${mode}-${checksum(input).slice(0, 10)}`,
          code: buildRetireBundle().code,
          labels: { "chstack.dev/job": `retire-${mode}` },
          activeDeadlineSeconds: 900,
          backoffLimit: mode === "check" ? 0 : 3, // a refusal is final; a clean-up may meet ZooKeeper restarting
          env: [
            { name: "CHSTACK_RETIRE_INPUT", value: input },
            { name: "CHSTACK_ADMIN_USER", value: t.users.admin.name },
            { name: "CHSTACK_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: credentials.metadata.name, key: "admin-password" } } },
          ],
        }, { parent: this, dependsOn });
      };
      retireCheck = job("check", statefulSets);
      const clean = job("clean", r.hosts.map((h) => stopped(h, [remoteServers])));
      // Found on a real cluster: a run refused by the check still exported its removed hosts, and the next
      // run took them as removed already and skipped the check and the clean-up.
      this.retiredNow = clean.metadata.apply(() => r.hosts.map((h) => h.name));
    } else {
      this.retiredNow = pulumi.output([]);
    }

    this.statefulSets = statefulSets;
    this.shapes = shapes;
    this.host = serviceFqdn(clusterServiceName(t.cluster), ns);
    this.ports = { tcp: t.config.clickhouse.ports.tcp, http: t.config.clickhouse.ports.http };
    this.registerOutputs({ host: this.host, ports: this.ports, credentialsSecret: this.credentialsSecret });
  }
}

/** A Service spec, of type NodePort when `nodePort` is set (for the named port). */
export function nodePortSpec(selector: Record<string, string>, ports: { name: string; port: number; targetPort: number }[], name: string, nodePort: number | undefined) {
  return nodePort === undefined
    ? { selector, ports }
    : { type: "NodePort", selector, ports: ports.map((p) => (p.name === name ? { ...p, nodePort } : p)) };
}

const clientPorts = (t: Topology) => [
  { name: "tcp", port: t.config.clickhouse.ports.tcp, targetPort: t.config.clickhouse.ports.tcp },
  { name: "http", port: t.config.clickhouse.ports.http, targetPort: t.config.clickhouse.ports.http },
];
