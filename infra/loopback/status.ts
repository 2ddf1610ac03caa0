// `chstack status`: every server of the stack with its ports, pid and state. The JSON shape is documented
// in docs/cli.md and stable for scripts.
import { loopbackTarget } from "../model/targets.ts";
import { buildTopology } from "../model/topology.ts";
import type { StackConfig } from "../config/schema.ts";
import { isOurs } from "./procs.ts";
import { POSTGRES_NAME, readState, secretsFile, stateDir, type Role } from "./state.ts";

export interface HostStatus {
  readonly name: string;
  readonly role: Role;
  readonly shard: number | null;
  readonly replica: number | null;
  readonly ports: Readonly<Record<string, number>>;
  readonly pid: number | null;
  readonly state: "up" | "down";
}

export interface StackStatus {
  readonly stack: string;
  readonly cluster: string;
  readonly stateDir: string;
  /** Postgres's own directory, its data directory `data` inside (outside the state dir when run as root); null before the first `up`. */
  readonly postgresHome: string | null;
  readonly hosts: readonly HostStatus[];
  readonly secretsFile: string;
}

export function status(opts: { stack: string; config: StackConfig; cwd?: string }): StackStatus {
  const t = buildTopology(opts.config, loopbackTarget(opts.config), opts.stack);
  const dir = stateDir(opts.stack, opts.cwd);
  const state = readState(dir);
  const of = (name: string) => {
    const p = state?.processes[name];
    const up = Boolean(p && isOurs(p));
    return { pid: up ? p!.pid : null, state: up ? ("up" as const) : ("down" as const) };
  };
  const hosts: HostStatus[] = [
    ...t.coordination.nodes.map((n) => ({ name: n.name, role: "zookeeper" as const, shard: null, replica: null, ports: { ...n.endpoint.ports }, ...of(n.name) })),
    ...t.hosts.map((h) => ({ name: h.name, role: "clickhouse" as const, shard: h.address.shardIndex, replica: h.address.replicaIndex, ports: { ...h.endpoint.ports }, ...of(h.name) })),
    { name: POSTGRES_NAME, role: "postgres" as const, shard: null, replica: null, ports: { tcp: t.postgres.port }, ...of(POSTGRES_NAME) },
  ];
  return { stack: opts.stack, cluster: t.cluster, stateDir: dir, postgresHome: state?.postgresHome ?? null, hosts, secretsFile: secretsFile(opts.stack, opts.cwd) };
}
