// The Kubernetes program: the stack config's topology as Pulumi components, in order (coordination, then
// ClickHouse, Postgres beside it, then the app), with NetworkPolicies and the StatefulSet guard.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema.ts";
import { kubernetesTarget } from "../model/targets.ts";
import { buildTopology, type Topology } from "../model/topology.ts";
import { App } from "./app.ts";
import { ClickHouseCluster } from "./clickhouse.ts";
import { credentials } from "./credentials.ts";
import { hostsOf, planChange } from "../model/change.ts";
import { clickhouseHostsOf, readmitProblems, shapeProblems, type Shapes } from "./guard.ts";
import { Keeper } from "./keeper.ts";
import { labels } from "./labels.ts";
import { networkPolicies } from "./network.ts";
import { Postgres } from "./postgres.ts";
import { Schema } from "./schema.ts";
import type { Declaration } from "../../schema/declare.ts";
import { ZooKeeper } from "./zookeeper.ts";

export interface StackOutputs {
  readonly topology: Topology;
  readonly clickhouse: { host: string; ports: { tcp: number; http: number } };
  readonly postgresHost: string;
  readonly appUrl: string | undefined;
  readonly schemaJob: string;
  readonly statefulSetShapes: Shapes;
  /** ClickHouse hosts removed by this run or earlier ones: their StatefulSets stay at 0 replicas. */
  readonly retiredHosts: pulumi.Output<string[]>;
  /** Resolves once the StatefulSet guard has compared this run with the previous one (it rejects on a change). */
  readonly guard: pulumi.Output<string>;
}

/**
 * The Kubernetes provider every object uses: the cluster the stack's `kubernetes:` config names (context,
 * cluster, kubeconfig, as for the default provider), with ConfigMaps and Secrets updated in place. The
 * provider's default replaces a changed ConfigMap or Secret, and since their names are fixed it deletes
 * first and then replaces every object that references them: on a real cluster, adding a replica (a new
 * remote_servers) tried to replace the protected StatefulSets of every host.
 */
function kubernetesProvider(): k8s.Provider {
  const cfg = new pulumi.Config("kubernetes");
  const pick = (key: "context" | "cluster" | "kubeconfig") => (cfg.get(key) === undefined ? {} : { [key]: cfg.get(key) });
  return new k8s.Provider("kubernetes", { ...pick("context"), ...pick("cluster"), ...pick("kubeconfig"), enableConfigMapMutable: true, enableSecretMutable: true });
}

/** `declaration`: the tables the schema step converges (see infra/declaration.ts). */
export async function createStack(config: StackConfig, stack: string, declaration: Declaration): Promise<StackOutputs> {
  const t = buildTopology(config, kubernetesTarget(config), stack);
  // This stack's own previous outputs: what its StatefulSets were (the guard, and the hosts already there),
  // and which hosts earlier runs removed. Read before any object is registered: which StatefulSets this
  // run has depends on them.
  const self = new pulumi.StackReference("previous-run", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}` });
  const before = (await self.getOutputDetails("statefulSetShapes")).value as Shapes | undefined;
  const retiredBefore = ((await self.getOutputDetails("retiredHosts")).value as string[] | undefined) ?? [];
  const wanted = hostsOf(t.cluster, t.shards.length, t.shards[0]!.hosts.length);
  const change = planChange(clickhouseHostsOf(before, t.cluster).filter((h) => !retiredBefore.includes(h.name)), wanted);
  const removing = change.published.before.filter((h) => !wanted.some((w) => w.name === h.name));
  // Every host known, to describe the ones this config no longer has (ports and names are the target's).
  const span = [...change.published.before, ...wanted, ...clickhouseHostsOf(before, t.cluster)];
  const wide = { ...config, clickhouse: { ...config.clickhouse, shards: Math.max(...span.map((h) => h.shard)) + 1, replicas: Math.max(...span.map((h) => h.replica)) + 1 } };
  const known = new Map(buildTopology(wide, kubernetesTarget(wide), stack).hosts.map((h) => [h.name, h]));
  const readmit = readmitProblems(retiredBefore, wanted);
  // No Kubernetes object is registered before the StatefulSet guard has passed: each waits on this gate,
  // which opens once this run's shapes are compared with the previous run's, and fails every object (so
  // nothing changes) when the guard refuses. Seen on a real cluster: without it, the engine went on to
  // replace a StatefulSet beside the refusal, and only `protect` stopped it.
  let open!: () => void;
  let refuse!: (e: Error) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    refuse = reject;
  });
  gate.catch(() => undefined); // the guard's own output reports the refusal
  const provider = kubernetesProvider();
  const gated: pulumi.ResourceTransformation = (a) => {
    if (!a.type.startsWith("kubernetes:")) return undefined;
    const own = a.opts.dependsOn;
    const dependsOn = gate.then(async () => ([] as pulumi.Input<pulumi.Resource>[]).concat(((await own) ?? []) as pulumi.Input<pulumi.Resource>[]));
    return { props: a.props, opts: { ...a.opts, dependsOn, provider } };
  };
  // As an option of each resource and component below, it applies to them and all their children.
  const transformations = [gated];
  const ns = config.kubernetes.namespace;
  const namespace = config.kubernetes.createNamespace
    ? new k8s.core.v1.Namespace("namespace", { metadata: { name: ns, labels: labels(t, "clickhouse") } }, { protect: true, transformations })
    : undefined;
  const after = namespace ? [namespace] : [];

  const coordination = config.coordination.kind === "zookeeper"
    ? new ZooKeeper("zookeeper", { topology: t }, { dependsOn: after, transformations })
    : new Keeper("keeper", { topology: t }, { dependsOn: after, transformations });
  const previousShapes = self.getOutput("statefulSetShapes") as pulumi.Output<Shapes | undefined>;
  const previousHosts = Promise.resolve(before ? new Set(Object.keys(before)) : undefined);
  const creds = credentials("chstack", t);
  let schemaDone!: (r: pulumi.Resource[]) => void;
  const publishAfter = new Promise<pulumi.Resource[]>((resolve) => (schemaDone = resolve));
  const clickhouse = new ClickHouseCluster("clickhouse", {
    topology: t, credentials: creds, previousHosts, publishAfter,
    retiring: { hosts: removing.map((h) => known.get(h.name)!), change, allowDropShard: config.scaling.allowDropShard },
    retired: retiredBefore.filter((n) => known.has(n)).map((n) => known.get(n)!),
  }, { dependsOn: [coordination, ...after], transformations });
  const postgres = new Postgres("postgres", { topology: t, password: creds.postgres }, { dependsOn: after, transformations });
  // After every ClickHouse host is ready (Pulumi waits for each StatefulSet's rollout), before the app. On
  // an existing install that adds hosts, the new remote_servers waits for it in turn (publishAfter), so the
  // Job waits for the StatefulSets, not for the whole component.
  const schema = new Schema("schema", { topology: t, declaration, credentialsSecret: clickhouse.credentialsSecret }, { dependsOn: [...clickhouse.statefulSets], transformations });
  schemaDone([schema]);
  const app = config.app
    ? new App("app", {
      topology: t,
      clickhouse: { host: clickhouse.host, httpPort: clickhouse.ports.http, credentialsSecret: clickhouse.credentialsSecret },
      postgresSecret: postgres.secretName,
      teamKey: creds.appTeamKey!,
    }, { dependsOn: [schema, postgres], transformations })
    : undefined;
  networkPolicies("network", t, { dependsOn: after, transformations });

  const shapes: Shapes = { ...coordination.shapes, ...clickhouse.shapes, ...postgres.shapes };
  const guard = previousShapes.apply((previous) => {
    const problems = [...shapeProblems(previous, shapes), ...readmit];
    if (problems.length > 0) {
      const e = new pulumi.RunError(`refused, nothing changed:\n  ${problems.join("\n  ")}`);
      refuse(e);
      throw e;
    }
    open();
    return "ok";
  });

  return { topology: t, clickhouse: { host: clickhouse.host, ports: clickhouse.ports }, postgresHost: postgres.host, appUrl: app?.url, schemaJob: schema.jobName, statefulSetShapes: shapes, retiredHosts: clickhouse.retiredNow.apply((now) => [...retiredBefore, ...now]), guard };
}
