// The one seam between targets: where each server is reached, where it keeps its files, and which
// networks may log in. Everything else (names, macros, ZooKeeper paths, the rendered files) is shared.
import type { StackConfig, UserRole } from "../config/schema.ts";
import {
  appName, coordinationHeadlessServiceName, coordinationNodeName, kubeCluster, podFqdn, postgresName, serviceFqdn,
} from "./names.ts";
import {
  loopbackAppPort, loopbackClickHousePorts, loopbackCoordinationPorts, loopbackPostgresPort, type ClickHousePorts, type CoordinationPorts,
} from "./ports.ts";

export type TargetKind = "loopback" | "kubernetes";

/** Directories end in `/`, as ClickHouse expects. Loopback paths are relative to the stack's state dir. */
export interface ClickHousePaths {
  readonly data: string;
  readonly tmp: string;
  readonly userFiles: string;
  readonly formatSchemas: string;
  readonly log: string;
  readonly errorLog: string;
}

export interface Endpoint<P> {
  /** The address peers and clients use. */
  readonly host: string;
  /** The address the server binds. */
  readonly listenHost: string;
  readonly ports: P;
}

/** Networks a ClickHouse user may log in from (users.xml `<networks>`). */
export interface Networks {
  readonly ip: readonly string[];
  readonly hostRegexp: readonly string[];
}

export interface Target {
  readonly kind: TargetKind;
  clickhouse(host: { name: string; index: number }): { endpoint: Endpoint<ClickHousePorts>; paths: ClickHousePaths };
  coordination(node: { name: string; index: number }): { endpoint: Endpoint<CoordinationPorts>; dataDir: string };
  postgres(): { host: string; port: number };
  /** Where the app is reached (its Service on Kubernetes). */
  app(): Endpoint<{ http: number }>;
  networks(role: UserRole): Networks;
}

/** Where a loopback host's config.xml and its config.d/, users.d/ live, relative to the state dir. */
export const loopbackConfigDir = (host: string) => `clickhouse/${host}/config`;

/**
 * Real local processes on 127.0.0.1, each host in its own directory under the stack's state dir. A host's
 * ports come from its slot: by default its index in the flat host list; a running stack keeps each host's
 * recorded slot (infra/loopback/hosts.ts), so scaling never moves a running host to other ports.
 */
export function loopbackTarget(config: StackConfig, slotOf: (host: string, index: number) => number = (_, i) => i): Target {
  const base = config.loopback.portBase;
  const local: Networks = { ip: ["127.0.0.1"], hostRegexp: [] };
  return {
    kind: "loopback",
    clickhouse: ({ name, index }) => ({
      endpoint: { host: "127.0.0.1", listenHost: "127.0.0.1", ports: loopbackClickHousePorts(base, slotOf(name, index)) },
      paths: {
        data: `clickhouse/${name}/data/`,
        tmp: `clickhouse/${name}/data/tmp/`,
        userFiles: `clickhouse/${name}/data/user_files/`,
        formatSchemas: `clickhouse/${name}/data/format_schemas/`,
        log: `clickhouse/${name}/log/clickhouse-server.log`,
        errorLog: `clickhouse/${name}/log/clickhouse-server.err.log`,
      },
    }),
    coordination: ({ name, index }) => ({
      endpoint: { host: "127.0.0.1", listenHost: "127.0.0.1", ports: loopbackCoordinationPorts(base, index) },
      dataDir: `zookeeper/${name}/data`,
    }),
    postgres: () => ({ host: "127.0.0.1", port: loopbackPostgresPort(base) }),
    app: () => ({ host: "127.0.0.1", listenHost: "127.0.0.1", ports: { http: loopbackAppPort(base) } }),
    // The servers listen on 127.0.0.1 only, so that is the only network there is.
    networks: () => local,
  };
}

/** Pods in one namespace, reached by their Services' cluster DNS names on the standard ports. */
export function kubernetesTarget(config: StackConfig): Target {
  const ns = config.kubernetes.namespace;
  const cluster = config.clickhouse.cluster;
  const kind = config.coordination.kind;
  const cp = config.coordination.ports;
  const kc = kubeCluster(cluster).replaceAll(".", "\\.");
  const nsRe = ns.replaceAll(".", "\\.");
  return {
    kind: "kubernetes",
    clickhouse: ({ name }) => ({
      endpoint: { host: serviceFqdn(name, ns), listenHost: "0.0.0.0", ports: config.clickhouse.ports },
      paths: {
        data: "/var/lib/clickhouse/",
        tmp: "/var/lib/clickhouse/tmp/",
        userFiles: "/var/lib/clickhouse/user_files/",
        formatSchemas: "/var/lib/clickhouse/format_schemas/",
        log: "/var/log/clickhouse-server/clickhouse-server.log",
        errorLog: "/var/log/clickhouse-server/clickhouse-server.err.log",
      },
    }),
    coordination: ({ index }) => ({
      endpoint: {
        host: podFqdn(coordinationNodeName(cluster, kind, index), coordinationHeadlessServiceName(cluster, kind), ns),
        listenHost: "0.0.0.0",
        ports: { client: cp.client, peer: cp.peer, election: "election" in cp ? cp.election : 0 },
      },
      dataDir: "/data",
    }),
    postgres: () => ({ host: serviceFqdn(postgresName(cluster), ns), port: config.postgres.mode === "in-stack" ? config.postgres.port : 5432 }),
    app: () => ({ host: serviceFqdn(appName(cluster), ns), listenHost: "0.0.0.0", ports: { http: config.app?.port ?? 8000 } }),
    networks: (role) => {
      const configured = config.clickhouse.users[role].networks;
      if (configured) return { ip: configured, hostRegexp: [] };
      if (role !== "interserver") return { ip: ["::/0"], hostRegexp: [] }; // NetworkPolicies decide who reaches the pods
      // Only this cluster's own pods, by the reverse DNS name of the pod's IP. A pod is an endpoint of its
      // host's Service and of the shard and cluster Services, which select this cluster's ClickHouse pods
      // only; its IP may have a name under each, returned in any order, and 18.16 checks the first only:
      // seen on a real cluster (CoreDNS answered `<ip>.clickhouse-<cluster>...` for 1 lookup in 6, and
      // that share of inter-server logins was refused).
      const host = `chi-${kc}-\\d+-\\d+`;
      const svc = `${nsRe}\\.svc\\.cluster\\.local$`;
      return { ip: [], hostRegexp: [`^${host}-0\\.${host}\\.${svc}`, `^\\d+-\\d+-\\d+-\\d+\\.(shard-${kc}-\\d+|clickhouse-${kc})\\.${svc}`] };
    },
  };
}

export function targetFor(kind: TargetKind, config: StackConfig): Target {
  return kind === "loopback" ? loopbackTarget(config) : kubernetesTarget(config);
}
