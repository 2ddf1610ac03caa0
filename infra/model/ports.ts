// The loopback target's port layout: every port of a stack is derived from `loopback.portBase`, so a
// stack owns one contiguous range [base, last] and two stacks clash exactly when their ranges overlap.
//
//   base + 0                 Postgres
//   base + 1 + 3i .. +2      coordination node i (client, peer, election); 5 nodes at most (schema)
//   base + 16                the app (HTTP)
//   base + 20 + 3h .. +2     ClickHouse host slot h (tcp, http, interserver): shard * replicas + replica
//                            on a first `up`; a host keeps its slot for life, new hosts take free ones

const COORDINATION_OFFSET = 1;
const CLICKHOUSE_OFFSET = 20;
const STRIDE = 3;

export interface ClickHousePorts {
  readonly tcp: number;
  readonly http: number;
  readonly interserver: number;
}

export interface CoordinationPorts {
  readonly client: number;
  /** ZooKeeper quorum port, or Keeper's Raft port. */
  readonly peer: number;
  /** ZooKeeper leader election port (unused by Keeper). */
  readonly election: number;
}

export const loopbackPostgresPort = (base: number) => base;
export const loopbackAppPort = (base: number) => base + 16;

export function loopbackCoordinationPorts(base: number, node: number): CoordinationPorts {
  const first = base + COORDINATION_OFFSET + STRIDE * node;
  return { client: first, peer: first + 1, election: first + 2 };
}

export function loopbackClickHousePorts(base: number, hostIndex: number): ClickHousePorts {
  const first = base + CLICKHOUSE_OFFSET + STRIDE * hostIndex;
  return { tcp: first, http: first + 1, interserver: first + 2 };
}

/** The inclusive port range a loopback stack of this size uses. */
export function loopbackPortRange(base: number, slots: number): { first: number; last: number } {
  return { first: base, last: loopbackClickHousePorts(base, slots - 1).interserver };
}
