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
import { shapeProblems, type Shapes } from "./guard.ts";
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
  /** Resolves once the StatefulSet guard has compared this run with the previous one (it rejects on a change). */
  readonly guard: pulumi.Output<string>;
}

/** `declaration`: the tables the schema step converges (see infra/declaration.ts). */
export function createStack(config: StackConfig, stack: string, declaration: Declaration): StackOutputs {
  const t = buildTopology(config, kubernetesTarget(config), stack);
  const ns = config.kubernetes.namespace;
  const namespace = config.kubernetes.createNamespace
    ? new k8s.core.v1.Namespace("namespace", { metadata: { name: ns, labels: labels(t, "clickhouse") } }, { protect: true })
    : undefined;
  const after = namespace ? [namespace] : [];

  const coordination = config.coordination.kind === "zookeeper"
    ? new ZooKeeper("zookeeper", { topology: t }, { dependsOn: after })
    : new Keeper("keeper", { topology: t }, { dependsOn: after });
  const creds = credentials("chstack", t);
  const clickhouse = new ClickHouseCluster("clickhouse", { topology: t, credentials: creds }, { dependsOn: [coordination, ...after] });
  const postgres = new Postgres("postgres", { topology: t, password: creds.postgres }, { dependsOn: after });
  // After every ClickHouse host is ready (Pulumi waits for each StatefulSet's rollout), before the app.
  const schema = new Schema("schema", { topology: t, declaration, credentialsSecret: clickhouse.credentialsSecret }, { dependsOn: [clickhouse] });
  const app = config.app
    ? new App("app", {
      topology: t,
      clickhouse: { host: clickhouse.host, httpPort: clickhouse.ports.http, credentialsSecret: clickhouse.credentialsSecret },
      postgresSecret: postgres.secretName,
    }, { dependsOn: [schema, postgres] })
    : undefined;
  networkPolicies("network", t, after);

  const shapes: Shapes = { ...coordination.shapes, ...clickhouse.shapes, ...postgres.shapes };
  // This stack's own previous outputs: what its StatefulSets were.
  const self = new pulumi.StackReference("previous-run", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}` });
  const guard = self.getOutput("statefulSetShapes").apply((previous) => {
    const problems = shapeProblems(previous as Shapes | undefined, shapes);
    if (problems.length > 0) throw new pulumi.RunError(`refused, nothing changed:\n  ${problems.join("\n  ")}`);
    return "ok";
  });

  return { topology: t, clickhouse: { host: clickhouse.host, ports: clickhouse.ports }, postgresHost: postgres.host, appUrl: app?.url, schemaJob: schema.jobName, statefulSetShapes: shapes, guard };
}
