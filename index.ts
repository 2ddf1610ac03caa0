// The Pulumi program: the stack config (the same schema as `chstack validate`) as Kubernetes objects.
// Stack outputs carry no secret: passwords live in Secrets only.
import { loadPulumiStackConfig } from "./infra/config/pulumi.ts";
import { loadDeclaration } from "./infra/declaration.ts";
import { createStack } from "./infra/k8s/stack.ts";

const { config, stack } = loadPulumiStackConfig();
const out = await createStack(config, stack, await loadDeclaration(config.clickhouse.database, config.schema.declaration));

export const clickhouse = out.clickhouse;
export const postgresHost = out.postgresHost;
export const appUrl = out.appUrl ?? null;
export const schemaJob = out.schemaJob;
export const topology = {
  cluster: out.topology.cluster,
  namespace: config.kubernetes.namespace,
  shards: out.topology.shards.length,
  replicas: out.topology.shards[0]!.hosts.length,
  hosts: out.topology.hosts.map((h) => h.endpoint.host),
  coordination: out.topology.coordination.nodes.map((n) => n.endpoint.host),
};
/** Read by the next run's StatefulSet guard. */
export const statefulSetShapes = out.statefulSetShapes;
/** Read by the next run: ClickHouse hosts removed, whose StatefulSets stay at 0 replicas. */
export const retiredHosts = out.retiredHosts;
export const guard = out.guard;
