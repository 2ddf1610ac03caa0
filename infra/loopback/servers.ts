// How each kind of server is started on loopback and how we know it is ready. Pure descriptions (argv, env,
// readiness probes); procs.ts does the starting and stopping.
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import zookeeper from "node-zookeeper-client";
import pg from "pg";
import { collectZooKeeper } from "../../health/zookeeper.ts";
import type { ClickHouseHost, CoordinationNode, Topology } from "../model/topology.ts";
import { loopbackConfigDir } from "../model/targets.ts";
import { interserverPasswordForEnv } from "../render/clickhouse/index.ts";
import { BINARIES } from "./packages.ts";
import type { SpawnSpec } from "./procs.ts";
import type { StackSecrets } from "./secrets.ts";

export const zookeeperLog = (node: CoordinationNode) => `zookeeper/${node.name}/zookeeper.log`;
export const clickhouseStdout = (host: ClickHouseHost) => `clickhouse/${host.name}/log/stdout.log`;


export function zookeeperSpec(t: Topology, node: CoordinationNode, stateDir: string): Omit<SpawnSpec, "logFile"> {
  const heap = t.config.coordination.kind === "zookeeper" ? t.config.coordination.heapMb : 256;
  return {
    command: BINARIES.java,
    // QuorumPeerMain runs a standalone server for a one-node zoo.cfg and an ensemble member otherwise.
    args: [`-Xmx${heap}m`, `-Xms${Math.min(64, heap)}m`, "-XX:+UseSerialGC", "-cp", `${BINARIES.zookeeperJar}:${BINARIES.slf4jSimple}`,
      "org.apache.zookeeper.server.quorum.QuorumPeerMain", `zookeeper/${node.name}/zoo.cfg`],
    cwd: stateDir,
  };
}

export function clickhouseSpec(t: Topology, host: ClickHouseHost, secrets: StackSecrets, stateDir: string): Omit<SpawnSpec, "logFile"> {
  const password = secrets.clickhouse.interserver.password;
  // An unset variable would give an empty password and inter-server logins failing far from the cause.
  if (!password) throw new Error("the inter-server password is empty");
  return {
    command: BINARIES.clickhouseServer,
    args: [`--config-file=${loopbackConfigDir(host.name)}/config.xml`],
    cwd: stateDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", [t.interserverPasswordEnv]: interserverPasswordForEnv(password) },
  };
}

/**
 * TCP on 127.0.0.1 only: no Unix socket (its path length and directory rights are not worth the trouble).
 * `home` is Postgres's own directory (postgres.ts, postgresHome), its data directory `data` inside.
 */
export function postgresSpec(t: Topology, home: string): Omit<SpawnSpec, "logFile"> {
  return {
    command: BINARIES.postgres,
    args: ["-D", `${home}/data`, "-c", "listen_addresses=127.0.0.1", "-c", `port=${t.postgres.port}`,
      "-c", "unix_socket_directories=", "-c", "shared_buffers=32MB", "-c", "max_connections=50", "-c", "work_mem=4MB"],
    cwd: home,
  };
}

/** ZooKeeper serves once `srvr` reports a mode (`ruok` answers before it serves); the health collector asks it. */
export async function zookeeperMode(port: number): Promise<string | undefined> {
  return (await collectZooKeeper("", { host: "127.0.0.1", port }, 1000)).mode;
}

/** Create the ZooKeeper root chain (ClickHouse refuses to start without its chroot). */
export async function ensureZnodes(port: number, paths: readonly string[]): Promise<void> {
  const client = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 10_000, retries: 3 });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ZooKeeper on port ${port} did not accept a session in 10 s`)), 10_000);
      client.once("connected", () => (clearTimeout(timer), resolve()));
      client.connect();
    });
    for (const path of paths) {
      await new Promise<void>((resolve, reject) => client.mkdirp(path, (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    client.close();
  }
}

/** ClickHouse is ready when /ping answers and the admin can run a query. */
export async function clickhouseReady(host: ClickHouseHost, secrets: StackSecrets): Promise<boolean> {
  try {
    const ping = await fetch(`http://127.0.0.1:${host.endpoint.ports.http}/ping`, { signal: AbortSignal.timeout(1000) });
    if (!ping.ok) return false;
    const client = clickhouseClient(host, secrets, "admin");
    try {
      const rows = await (await client.query({ query: "SELECT 1 AS ok", format: "JSONEachRow" })).json<{ ok: number }>();
      return rows[0]?.ok === 1;
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

export function clickhouseClient(host: ClickHouseHost, secrets: StackSecrets, role: "admin" | "writer" | "readonly") {
  const user = secrets.clickhouse[role];
  return createClient({
    url: `http://127.0.0.1:${host.endpoint.ports.http}`, username: user.user, password: user.password, request_timeout: 30_000,
    log: { level: ClickHouseLogLevel.OFF }, // a probe of a starting server fails by design; callers report errors
  });
}

export function postgresClient(t: Topology, secrets: StackSecrets, as: "superuser" | "app"): pg.Client {
  const s = secrets.postgres;
  return new pg.Client({
    host: "127.0.0.1",
    port: t.postgres.port,
    user: as === "superuser" ? s.superuser : s.user,
    password: as === "superuser" ? s.superuserPassword : s.password,
    database: as === "superuser" ? "postgres" : s.database,
    connectionTimeoutMillis: 2000,
  });
}

export async function postgresReady(t: Topology, secrets: StackSecrets): Promise<boolean> {
  const client = postgresClient(t, secrets, "superuser");
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The app's role and database, owned by it; created once, identifiers quoted, the password a literal. */
export async function ensurePostgresApp(t: Topology, secrets: StackSecrets): Promise<void> {
  const s = secrets.postgres;
  const client = postgresClient(t, secrets, "superuser");
  await client.connect();
  try {
    const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [s.user]);
    const pw = client.escapeLiteral(s.password);
    const ident = client.escapeIdentifier(s.user);
    await client.query(role.rowCount ? `ALTER ROLE ${ident} WITH LOGIN PASSWORD ${pw}` : `CREATE ROLE ${ident} WITH LOGIN PASSWORD ${pw}`);
    const db = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [s.database]);
    if (!db.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(s.database)} OWNER ${ident}`);
  } finally {
    await client.end();
  }
}
