// The kinds of server a loopback stack runs, as one table that every command loops over: which members a
// topology has, how each is started, when it is ready, where it logs, what must hold once they run, and
// in which order they start and stop. A new kind (the app) is a new row, not a branch in five files.
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { zookeeperRootChain } from "../model/names.ts";
import { loopbackConfigDir } from "../model/targets.ts";
import type { ClickHouseHost, Topology } from "../model/topology.ts";
import { reloadsInPlace } from "../render/clickhouse/index.ts";
import type { Files } from "../render/files.ts";
import { appLog, appReady, appSpec } from "./app.ts";
import { initPostgres, postgresIdentity, postgresLog } from "./postgres.ts";
import { sleep, type SpawnSpec } from "./procs.ts";
import type { StackSecrets } from "./secrets.ts";
import {
  clickhouseReady, clickhouseSpec, clickhouseStdout, ensurePostgresApp, ensureZnodes, postgresReady, postgresSpec,
  zookeeperLog, zookeeperMode, zookeeperSpec,
} from "./servers.ts";
import { POSTGRES_NAME, type Role } from "./state.ts";

/** One server of a kind, as the topology describes it. */
export interface Member {
  readonly name: string;
  readonly role: Role;
  readonly shard: number | null;
  readonly replica: number | null;
  readonly ports: Readonly<Record<string, number>>;
}

/** What starting a kind needs of the running `up`. */
export interface KindContext {
  readonly t: Topology;
  readonly dir: string;
  readonly secrets: StackSecrets;
  /** Postgres's own directory. */
  readonly pgHome: string;
  readonly log: (line: string) => void;
}

export interface ServerKind {
  readonly role: Role;
  /** The members a topology has, in start order. `hosts`: the ClickHouse hosts to run (default the topology's). */
  members(t: Topology, hosts?: readonly ClickHouseHost[]): Member[];
  /** This member's rendered files, among all of the stack's. */
  files(t: Topology, m: Member, all: Files): Files;
  /** Whether a running member picks up a change of this file by itself. */
  reloads(m: Member, path: string): boolean;
  spec(c: KindContext, m: Member): Omit<SpawnSpec, "logFile">;
  /** Where its stdout and stderr go, relative to the state dir. */
  stdout(c: KindContext, m: Member): string;
  /** The log a failure message shows the end of, relative to the state dir. */
  errorLog(c: KindContext, m: Member): string;
  ready(c: KindContext, m: Member): Promise<boolean>;
  /** Before any member starts (Postgres: initdb on the first run). */
  beforeStart?(c: KindContext): void;
  /** Once every member runs (`started`: whether this run started any): what must hold beyond their files. */
  converge?(c: KindContext, started: boolean): Promise<void>;
}

const pick = (all: Files, prefix: string) => Object.fromEntries(Object.entries(all).filter(([p]) => p.startsWith(prefix)));
const node = (t: Topology, m: Member) => t.coordination.nodes.find((n) => n.name === m.name)!;
const host = (t: Topology, m: Member) => t.hosts.find((h) => h.name === m.name)!;

const zookeeper: ServerKind = {
  role: "zookeeper",
  members: (t) => t.coordination.nodes.map((n) => ({ name: n.name, role: "zookeeper", shard: null, replica: null, ports: { ...n.endpoint.ports } })),
  files: (t, m, all) => ({ ...pick(all, `zookeeper/${m.name}/`), ...pick(all, `${node(t, m).dataDir}/`) }),
  reloads: () => false,
  spec: (c, m) => zookeeperSpec(c.t, node(c.t, m), c.dir),
  stdout: (c, m) => zookeeperLog(node(c.t, m)),
  errorLog: (_, m) => `zookeeper/${m.name}/zookeeper.log`,
  ready: async (_, m) => (await zookeeperMode(m.ports.client!)) !== undefined,
  async converge(c, started) {
    // An ensemble serves once every node reports leader or follower (one node: standalone).
    if (started) {
      const deadline = Date.now() + 60_000;
      const ports = c.t.coordination.nodes.map((n) => n.endpoint.ports.client);
      for (;;) {
        const modes = await Promise.all(ports.map(zookeeperMode));
        if (modes.every((x) => x !== undefined)) break;
        if (Date.now() > deadline) throw new Error(`the ZooKeeper ensemble did not form in 60 s (modes: ${modes.map((x) => x ?? "down").join(", ")})`);
        await sleep(200);
      }
    }
    // ClickHouse refuses to start without its chroot.
    await ensureZnodes(c.t.coordination.nodes[0]!.endpoint.ports.client, zookeeperRootChain(c.t.zookeeper.root));
  },
};

const clickhouse: ServerKind = {
  role: "clickhouse",
  members: (t, hosts = t.hosts) => hosts.map((h) => ({ name: h.name, role: "clickhouse", shard: h.address.shardIndex, replica: h.address.replicaIndex, ports: { ...h.endpoint.ports } })),
  files: (_, m, all) => pick(all, `${loopbackConfigDir(m.name)}/`),
  reloads: (m, path) => reloadsInPlace(path.slice(loopbackConfigDir(m.name).length + 1)),
  spec: (c, m) => clickhouseSpec(c.t, host(c.t, m), c.secrets, c.dir),
  stdout: (c, m) => clickhouseStdout(host(c.t, m)),
  errorLog: (_, m) => `clickhouse/${m.name}/log/clickhouse-server.err.log`,
  ready: (c, m) => clickhouseReady(host(c.t, m), c.secrets),
  // ClickHouse writes its merged config, the inter-server password resolved from the environment, to
  // data/preprocessed_configs/: each host's directory is its own (0700), as the credential files are 0600.
  beforeStart: (c) => {
    for (const h of c.t.hosts) {
      const d = join(c.dir, "clickhouse", h.name);
      mkdirSync(d, { recursive: true, mode: 0o700 });
      chmodSync(d, 0o700);
    }
  },
};

const postgres: ServerKind = {
  role: "postgres",
  members: (t) => [{ name: POSTGRES_NAME, role: "postgres", shard: null, replica: null, ports: { tcp: t.postgres.port } }],
  files: () => ({}),
  reloads: () => false,
  spec: (c) => {
    const who = postgresIdentity();
    return { ...postgresSpec(c.t, c.pgHome), uid: who.uid, gid: who.gid };
  },
  stdout: () => postgresLog,
  errorLog: () => postgresLog,
  ready: (c) => postgresReady(c.t, c.secrets),
  beforeStart: (c) => initPostgres(c.dir, c.pgHome, c.secrets, postgresIdentity(), c.log),
  converge: (c) => ensurePostgresApp(c.t, c.secrets),
};

/** The reference app, when the stack config has one: after both databases, first to stop (its buffer flushes on SIGTERM). */
const app: ServerKind = {
  role: "app",
  members: (t) => (t.app ? [{ name: t.app.name, role: "app", shard: null, replica: null, ports: { ...t.app.endpoint.ports } }] : []),
  files: () => ({}),
  reloads: () => false,
  spec: (c) => appSpec(c.t, c.secrets, c.dir),
  stdout: () => appLog,
  errorLog: () => appLog,
  ready: (c) => appReady(c.t),
};

/** In start order; `down` stops them in STOP_ORDER. */
export const SERVER_KINDS: readonly ServerKind[] = [zookeeper, clickhouse, postgres, app];
/** The app first (it writes to both databases), then ClickHouse (it holds ZooKeeper sessions and Postgres nothing), ZooKeeper last. */
export const STOP_ORDER: readonly Role[] = ["app", "clickhouse", "postgres", "zookeeper"];

export const kindOf = (role: Role): ServerKind => SERVER_KINDS.find((k) => k.role === role)!;

/** Every member of the stack, in start order. */
export const membersOf = (t: Topology, hosts?: readonly ClickHouseHost[]): Member[] => SERVER_KINDS.flatMap((k) => k.members(t, hosts));

export const logPath = (c: KindContext, file: string) => join(c.dir, file);
