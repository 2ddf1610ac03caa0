// What the collectors gather (facts), and what the evaluation makes of them (checks, a verdict). Plain
// data, JSON as it is: `chstack status --json` prints the report under `health` (docs/health.md).

/** One replicated table on one host, from system.replicas. */
export interface ReplicaFacts {
  /** `database.table`. */
  readonly table: string;
  readonly zookeeperPath: string;
  readonly isReadonly: boolean;
  readonly isSessionExpired: boolean;
  readonly queueSize: number;
  /** Seconds the replica is behind (system.replicas.absolute_delay). */
  readonly absoluteDelay: number;
  /** From ZooKeeper, through the host: absent when that part of the query did not answer in time. */
  readonly totalReplicas?: number;
  readonly activeReplicas?: number;
  /** Replication log entries not yet pulled into the queue (log_max_index + 1 - log_pointer). */
  readonly logLag?: number;
}

export interface ClickHouseFacts {
  readonly host: string;
  readonly shard: number;
  readonly replica: number;
  /** Answered a query within the timeout. */
  readonly reachable: boolean;
  /** Why not: `not running` (a loopback process the state says is down), a timeout, a refused connection. */
  readonly error?: string;
  readonly version?: string;
  readonly uptimeSeconds?: number;
  /** The server's ZooKeeperSession metric: 1 while it holds a session, 0 without one. */
  readonly zookeeperSessions?: number;
  readonly replicas?: readonly ReplicaFacts[];
  /** The ZooKeeper part of system.replicas (total and active replicas, log pointer) did not answer. */
  readonly replicasZooKeeperError?: string;
  /** Active parts and their bytes on disk (every database). */
  readonly parts?: { readonly active: number; readonly bytesOnDisk: number };
  /** Rows in active parts, per `database.table`. */
  readonly tableRows?: Readonly<Record<string, number>>;
  /** Replication queue entries whose last attempt failed, per table (a fetch that cannot write, a part that cannot be read). */
  readonly replicationErrors?: readonly { readonly table: string; readonly entries: number; readonly lastException: string }[];
  /**
   * Free and total bytes of the data disk: system.disks (ClickHouse 19.15+), else the caller's probe (loopback: statfs).
   * `writeError`: the probe could not write there (loopback: a file created and removed in the data directory).
   */
  readonly disk?: { readonly free: number; readonly total: number; readonly source: string; readonly writeError?: string };
}

export interface ZooKeeperFacts {
  readonly node: string;
  readonly reachable: boolean;
  readonly error?: string;
  /** `srvr`'s Mode: leader, follower, observer, standalone; absent when it answers but does not serve (no quorum). */
  readonly mode?: string;
  readonly connections?: number;
  readonly outstanding?: number;
  readonly version?: string;
  readonly nodeCount?: number;
  readonly latencyAvgMs?: number;
}

export type PostgresFacts =
  | { readonly checked: false }
  | { readonly checked: true; readonly reachable: boolean; readonly version?: string; readonly error?: string };

export type AppFacts =
  | { readonly checked: false }
  | { readonly checked: true; readonly url: string; readonly ready: boolean; readonly status?: number; readonly error?: string };

/** Schema parity, from the schema introspection and the planner (schema/apply.ts observe, schema/plan.ts). */
export interface SchemaFacts {
  readonly declarationHash: string;
  /** The introspection or the planner failed as a whole (not one host): nothing below is known. */
  readonly error?: string;
  readonly hosts: readonly {
    readonly host: string;
    readonly reachable: boolean;
    /** Statements the planner would run on this host (replicated ALTERs count on the host that runs them). */
    readonly pending: number;
    /** Drift naming this host (undeclared tables or columns, type changes, needed migrations). */
    readonly drift: number;
    /** Up to a few of them, one line each. */
    readonly details: readonly string[];
  }[];
  /** Per declared table: the hosts that have it, those that lack it, and those not introspected (down). */
  readonly tables: readonly {
    readonly table: string;
    readonly kind: "local" | "distributed";
    readonly hosts: readonly string[];
    readonly missing: readonly string[];
    readonly unknown: readonly string[];
  }[];
}

export interface HealthFacts {
  readonly cluster: string;
  readonly coordination: "zookeeper" | "keeper";
  readonly clickhouse: readonly ClickHouseFacts[];
  readonly zookeeper: readonly ZooKeeperFacts[];
  readonly postgres: PostgresFacts;
  readonly app: AppFacts;
  /** Absent: not checked (no declaration given, as in the schema Job, which applies it next). */
  readonly schema?: SchemaFacts;
  /** When the collection started, and how long it took. */
  readonly collectedAt: string;
  readonly elapsedMs: number;
}

export type CheckStatus = "ok" | "warn" | "fail" | "skip";
export type Verdict = "healthy" | "degraded" | "down";

export interface Check {
  /** `clickhouse.up`, `clickhouse.readonly`, `zookeeper.quorum`, ...: the rules of docs/health.md. */
  readonly id: string;
  /** The host, node, table or service it is about. */
  readonly subject: string;
  readonly status: CheckStatus;
  /** What was seen, one line, naming the subject. */
  readonly reason: string;
}

export interface Thresholds {
  /** A replica's replication queue longer than this is degraded. */
  readonly maxQueue: number;
  /** A replica further behind than this many seconds is degraded (ClickHouse's own max_replica_delay_for_distributed_queries default). */
  readonly maxDelaySeconds: number;
  /** A data disk with less than this share free is degraded. */
  readonly minFreeDiskRatio: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { maxQueue: 100, maxDelaySeconds: 300, minFreeDiskRatio: 0.1 };

/** Rows of one replicated table in one replication group (the hosts sharing its ZooKeeper path). */
export interface ReplicaGroupRows {
  readonly table: string;
  readonly zookeeperPath: string;
  /** `shard 0`, or `every host` for a table replicated beyond a shard (PostHog's `noshard`). */
  readonly group: string;
  readonly shard: number | null;
  readonly replicas: readonly { readonly host: string; readonly rows: number; readonly queue: number }[];
  /** The replicas hold different row counts with nothing queued or unread in the replication log. */
  readonly disagree: boolean;
}

export interface HealthReport {
  readonly verdict: Verdict;
  /** 0 healthy, 3 degraded, 4 down. */
  readonly exitCode: 0 | 3 | 4;
  /** One line: the verdict and why. */
  readonly summary: string;
  /** Every check that is not ok, one line each; the ones that make it down first. */
  readonly reasons: readonly string[];
  readonly checks: readonly Check[];
  readonly thresholds: Thresholds;
  readonly rows: readonly ReplicaGroupRows[];
  readonly facts: HealthFacts;
}

export const EXIT_CODES: Readonly<Record<Verdict, 0 | 3 | 4>> = { healthy: 0, degraded: 3, down: 4 };
