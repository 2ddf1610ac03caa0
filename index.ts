// The Pulumi program. It reads the stack config (the same schema as `chstack validate`), builds the
// Kubernetes topology and exports it. The components for ZooKeeper, ClickHouse, Postgres and the app are
// built on this model (see the README's roadmap).
import { loadPulumiStackConfig } from "./infra/config/pulumi.ts";
import { buildTopology } from "./infra/model/topology.ts";
import { kubernetesTarget } from "./infra/model/targets.ts";

const { config, stack } = loadPulumiStackConfig();
const topology = buildTopology(config, kubernetesTarget(config), stack);

export const cluster = topology.cluster;
export const namespace = config.kubernetes.namespace;
export const shards = topology.shards.map((s) => ({ shard: s.index, hosts: s.hosts.map((h) => h.endpoint.host) }));
export const coordination = { kind: topology.coordination.kind, nodes: topology.coordination.nodes.map((n) => n.endpoint.host) };
