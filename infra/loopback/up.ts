// `chstack up`: converge the loopback stack to its config. ZooKeeper first (ready by `srvr`), its root
// znodes, then ClickHouse with exactly the rendered files (ready by /ping and a query), then Postgres.
// Healthy servers are left alone. Any failure, or Ctrl-C, stops what this run started. A changed host
// list runs the steps of infra/model/change.ts: new hosts start unpublished, get the schema and catch up,
// then remote_servers is published by hot reload, then removed hosts retire and leave ZooKeeper.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../config/schema.ts";
import { describeChange, planChange, type TopologyChange } from "../model/change.ts";
import type { Topology } from "../model/topology.ts";
import { hashPasswords } from "../render/clickhouse/index.ts";
import { renderLoopback } from "../render/loopback.ts";
import { ensurePackages } from "./packages.ts";
import { catchUpAll, ChangeRefused, cleanUp, guardShardRemoval, retire, waitPublished } from "./change.ts";
import { appLaunch } from "./app.ts";
import { loopbackHosts, publishedShards } from "./hosts.ts";
import { planUp, serversOf, topologyChange, type Action, type Server } from "./plan.ts";
import { changes, Run, StartError } from "./run.ts";
import type { CatchUp } from "../../schema/replicas.ts";
import { postgresHome, postgresIdentity } from "./postgres.ts";
import { isOurs, portIsFree } from "./procs.ts";
import {
  appSecrets, clickhousePasswords, generateSecrets, readSecrets, renderClientConfig, renderPgpass, type StackSecrets,
} from "./secrets.ts";
import { postgresSpec, zookeeperSpec } from "./servers.ts";
import { stopStrays } from "./strays.ts";
import { otherStacks, readState, secretsFile, stateDir, withStackLock, writePrivateFile } from "./state.ts";

export interface UpOptions {
  readonly stack: string;
  readonly config: StackConfig;
  readonly cwd?: string;
  /** Allow restarting running servers whose files changed (one at a time). */
  readonly restart?: boolean;
  /** Remove shards that hold rows (`--allow drop-shard`). */
  readonly allowDropShard?: boolean;
  /** Delete the data of removed hosts instead of keeping it under retired/. */
  readonly purgeRemoved?: boolean;
  /**
   * Runs once every server is healthy, still under the stack's lock: the schema step, on every wanted host.
   * Resolves whether it converged; new hosts are published only when it did.
   */
  readonly schema?: (t: Topology, secrets: StackSecrets) => Promise<boolean>;
  readonly log: (line: string) => void;
}

export interface UpResult {
  readonly topology: Topology;
  readonly dir: string;
  readonly actions: readonly Action[];
  /** The host-list change this run made, or found already made. */
  readonly change: TopologyChange;
  /** Whether remote_servers now lists the wanted hosts (false: new hosts wait, unpublished, for their schema). */
  readonly published: boolean;
  readonly catchUps: readonly CatchUp[];
  /** The stack's own Postgres user and database (their password is in the secrets file). */
  readonly postgres: { readonly user: string; readonly database: string };
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const { config, stack, log } = opts;
  if (config.coordination.kind !== "zookeeper") {
    throw new StartError("coordination.kind: the loopback target runs ZooKeeper only (ClickHouse 18.16 has no Keeper); use kind: zookeeper");
  }
  const dir = stateDir(stack, opts.cwd);
  return withStackLock(dir, "up", async () => {
    const began = Date.now();
    ensurePackages(log);
    const state = readState(dir);
    const lh = loopbackHosts(config, stack, state);
    const t = lh.topology;
    const alive = (name: string) => Boolean(state?.processes[name] && isOurs(state.processes[name]));
    const refused = topologyChange(t, state, Object.keys(state?.processes ?? {}).some(alive));
    if (refused) throw new StartError(refused);
    if (lh.portRange.last > 65535) throw new StartError(`loopback.portBase: the hosts' ports would run to ${lh.portRange.last}, past 65535; choose a lower portBase`);
    checkPortClash(stack, lh.portRange, opts.cwd);
    const ephemeral = ephemeralOverlap(lh.portRange);
    if (ephemeral) log(`warning: loopback.portBase: ports ${lh.portRange.first}-${lh.portRange.last} overlap the kernel's ephemeral ports ${ephemeral} (net.ipv4.ip_local_port_range): an outgoing connection may hold one of them, and a server then cannot start; a portBase below ${ephemeral.split("-")[0]} avoids it`);
    const change = planChange(lh.published, lh.wanted);
    if (change.steps.length > 0) log(`topology change: ${describeChange(change)}`);

    const secrets = ensureSecrets(dir, stack, config, t, opts.cwd);
    if (change.steps.some((s) => s.kind === "guard")) {
      try {
        await guardShardRemoval({ secrets, byName: lh.byName, state: state!, log }, change, Boolean(opts.allowDropShard));
      } catch (e) {
        throw new StartError(e instanceof ChangeRefused ? e.message : `cannot tell whether the shards to remove hold rows: ${(e as Error).message}`);
      }
    }
    const pgHome = postgresHome(dir, postgresIdentity(), state?.postgresHome);
    const hashes = hashPasswords(clickhousePasswords(secrets));
    const launch = {
      zookeeper: zookeeperSpec(t, t.coordination.nodes[0]!, dir).args.filter((a) => a.startsWith("-X")).join(" "),
      postgres: postgresSpec(t, pgHome).args.join(" "),
      ...(t.app ? { app: appLaunch(t, secrets, dir) } : {}),
    };
    // Until the publish step, every host (new ones too) lists the hosts published before.
    const published = change.steps.length > 0 ? publishedShards(lh.byName, change.published.before) : undefined;
    const servers = serversOf(t, renderLoopback(t, hashes, { published }), launch);
    const actions = planUp(servers, state, alive);
    const restarts = actions.filter((a) => a.kind === "restart");
    if (restarts.length > 0 && !opts.restart) {
      throw new StartError(
        `the config changes files that need a restart of ${restarts.map((a) => a.server.name).join(", ")} ` +
          `(${changes(restarts.flatMap((a) => (a.kind === "restart" ? a.changed : [])))}); ` +
          "run `chstack up --restart` to restart them one at a time, or restore the config",
      );
    }
    const starting = actions.filter((a) => a.kind === "start").map((a) => a.server);
    await stopStrays({ t, dir, secrets, pgHome, log }, starting, new Set(Object.values(state?.processes ?? {}).map((p) => p.pid)));
    await checkPortsFree(starting);

    const run = new Run(dir, t, secrets, state, pgHome, lh, change, log);
    const onSigint = () => void run.abort("interrupted").finally(() => process.exit(130));
    process.once("SIGINT", onSigint);
    try {
      for (const a of actions) {
        if (a.kind === "keep") log(`  ${a.server.name.padEnd(22)} running (pid ${a.pid}), unchanged`);
        if (a.kind === "reload") {
          run.writeFiles(a.server);
          run.record(a.server, run.current(a.server.name)!);
          log(`  ${a.server.name.padEnd(22)} running (pid ${a.pid}), reloads ${changes(a.changed)}`);
        }
      }
      await run.converge(actions);
    } catch (e) {
      await run.abort(e instanceof StartError && e.server ? `${e.server} failed` : "failed");
      throw e;
    } finally {
      process.off("SIGINT", onSigint);
    }
    const started = actions.filter((a) => a.kind === "start" || a.kind === "restart").length;
    const seconds = ((Date.now() - began) / 1000).toFixed(1);
    log(started === 0
      ? `all ${actions.length} servers were already running; nothing restarted (${seconds} s)`
      : `${started} of ${actions.length} servers started in ${seconds} s`);
    // The servers are healthy and stay up whatever the schema step says.
    const converged = opts.schema ? await opts.schema(t, secrets) : undefined;
    const result = { topology: t, dir, actions, change, postgres: { user: secrets.postgres.user, database: secrets.postgres.database } };
    const ctx = run.context();
    if (change.steps.length === 0) {
      await cleanUp(ctx); // what an earlier run could not clean is retried
      return { ...result, published: true, catchUps: [] };
    }
    if (change.steps.some((s) => s.kind === "schema") && converged !== true) {
      log(`the new hosts are running but not published in remote_servers: their schema ${converged === false ? "did not converge" : "was not applied (--no-schema)"}; no query reaches them. Fix that and run \`chstack up\` again`);
      return { ...result, published: false, catchUps: [] };
    }
    const catchUps = await catchUpAll(ctx, change);
    run.publish(serversOf(t, renderLoopback(t, hashes), launch));
    await waitPublished(ctx, change.published.after);
    const n = change.published.after.length;
    log(`  remote_servers now lists ${n} host${n === 1 ? "" : "s"} on every host (hot reload, no restart)`);
    await retire(ctx, change, change.published.after, Boolean(opts.purgeRemoved));
    const cleaned = await cleanUp(ctx);
    if (cleaned.failed) process.exitCode = 1;
    return { ...result, published: true, catchUps };
  });
}

function ensureSecrets(dir: string, stack: string, config: StackConfig, t: Topology, cwd?: string): StackSecrets {
  const file = secretsFile(stack, cwd);
  let secrets = readSecrets(file);
  if (!secrets || !secrets.app) {
    secrets = secrets ? { ...secrets, app: appSecrets() } : generateSecrets(config);
    writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
  }
  writePrivateFile(join(dir, "clickhouse-client.xml"), renderClientConfig(secrets));
  writePrivateFile(join(dir, "pgpass"), renderPgpass(secrets, t.postgres.port));
  return secrets;
}

function checkPortClash(stack: string, mine: { first: number; last: number }, cwd?: string): void {
  for (const other of otherStacks(stack, cwd)) {
    const running = Object.values(other.state.processes).some((p) => isOurs(p));
    const r = other.state.portRange;
    if (running && r.first <= mine.last && mine.first <= r.last) {
      throw new StartError(`ports ${mine.first}-${mine.last} of stack ${stack} overlap ports ${r.first}-${r.last} of the running stack ${other.stack}; choose another loopback.portBase`);
    }
  }
}

async function checkPortsFree(servers: readonly Server[]): Promise<void> {
  for (const s of servers) {
    for (const [kind, port] of Object.entries(s.ports)) {
      if (!(await portIsFree(port))) throw new StartError(`cannot start ${s.name}: its ${kind} port ${port} on 127.0.0.1 is already in use`, s.name);
    }
  }
}

/** The kernel's ephemeral port range ("32768-60999") when the stack's ports overlap it. */
function ephemeralOverlap(range: { first: number; last: number }): string | undefined {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number) as [number, number];
    return range.last >= low && range.first <= high ? `${low}-${high}` : undefined;
  } catch {
    return undefined; // not Linux, or not readable: nothing to say
  }
}
