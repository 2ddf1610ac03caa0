// `chstack up`: converge the loopback stack to its config. ZooKeeper first (ready by `srvr`), its root
// znodes, then ClickHouse with exactly the rendered files (ready by /ping and a query), then Postgres.
// Healthy servers are left alone. Any failure, or Ctrl-C, stops what this run started. A changed host
// list runs the steps of infra/model/change.ts: new hosts start unpublished, get the schema and catch up,
// then remote_servers is published by hot reload, then removed hosts retire and leave ZooKeeper.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { StackConfig } from "../config/schema.ts";
import { describeChange, planChange, type TopologyChange } from "../model/change.ts";
import { zookeeperRootChain } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { hashPasswords } from "../render/clickhouse/index.ts";
import { renderLoopback } from "../render/loopback.ts";
import { ensurePackages } from "./packages.ts";
import { catchUpAll, ChangeRefused, cleanUp, guardShardRemoval, retire, waitPublished, type ChangeContext } from "./change.ts";
import { loopbackHosts, publishedShards, type LoopbackHosts } from "./hosts.ts";
import { fingerprint, planUp, serversOf, topologyChange, type Action, type Server } from "./plan.ts";
import type { CatchUp } from "./replicas.ts";
import { initPostgres, postgresHome, postgresIdentity, postgresLog } from "./postgres.ts";
import { isOurs, portIsFree, sleep, startServer, stopServer, tailOf, type ProcessRecord } from "./procs.ts";
import {
  clickhousePasswords, generateSecrets, readSecrets, renderClientConfig, renderPgpass, type StackSecrets,
} from "./secrets.ts";
import {
  clickhouseReady, clickhouseSpec, clickhouseStdout, ensurePostgresApp, ensureZnodes, postgresReady, postgresSpec,
  zookeeperLog, zookeeperMode, zookeeperSpec,
} from "./servers.ts";
import { otherStacks, readState, secretsFile, stateDir, withStackLock, writePrivateFile, writeState, type StackState } from "./state.ts";

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

export class StartError extends Error {
  constructor(message: string, readonly server?: string) {
    super(message);
  }
}

/** A changed file as people read it: its name, or "launch arguments". */
const changes = (changed: readonly string[]) => [...new Set(changed.map((c) => (c === "#launch" ? "launch arguments" : c.split("/").at(-1))))].join(", ");

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
    await checkPortsFree(actions.filter((a) => a.kind === "start").map((a) => a.server));

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
  if (!secrets) {
    secrets = generateSecrets(config);
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

/** One `up` run: what it started (to undo on failure) and the state file it keeps current. */
class Run {
  private readonly started: { server: Server; rec: ProcessRecord }[] = [];
  private aborting = false;
  private state: StackState;

  constructor(
    private readonly dir: string, private readonly t: Topology, private readonly secrets: StackSecrets, prev: StackState | undefined,
    private readonly pgHome: string, private readonly hosts: LoopbackHosts, change: TopologyChange, private readonly log: (l: string) => void,
  ) {
    this.state = {
      ...prev,
      stack: t.stack, cluster: t.cluster, shards: t.shards.length, replicas: t.shards[0]!.hosts.length,
      coordinationSize: t.coordination.nodes.length, portRange: hosts.portRange, processes: { ...prev?.processes }, postgresHome: pgHome,
      hosts: { ...hosts.slots },
      published: (change.steps.length > 0 ? change.published.before : change.published.after).map((h) => h.name),
    };
    writeState(dir, this.state);
  }

  /** The change steps' view of this run. */
  context(): ChangeContext {
    return {
      dir: this.dir, t: this.t, secrets: this.secrets, byName: this.hosts.byName, state: this.state,
      save: () => writeState(this.dir, this.state), log: this.log,
    };
  }

  /** Write remote_servers of the wanted hosts to each of them (ClickHouse reloads it) and record it. */
  publish(servers: readonly Server[]): void {
    for (const s of servers.filter((x) => x.role === "clickhouse")) {
      this.writeFiles(s);
      this.record(s, this.current(s.name)!);
    }
    this.state.published = this.hosts.wanted.map((h) => h.name);
    writeState(this.dir, this.state);
  }

  current(name: string) {
    return this.state.processes[name];
  }

  writeFiles(server: Server): void {
    for (const [path, content] of Object.entries(server.files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), content);
    }
  }

  record(server: Server, rec: ProcessRecord): void {
    this.state.processes[server.name] = {
      role: server.role, pid: rec.pid, startTime: rec.startTime, argv: [...rec.argv], files: fingerprint(server),
      startedAt: this.state.processes[server.name]?.startedAt ?? new Date().toISOString(),
    };
    writeState(this.dir, this.state);
  }

  async converge(actions: readonly Action[]): Promise<void> {
    const byRole = (role: Server["role"]) => actions.filter((a) => a.server.role === role && (a.kind === "start" || a.kind === "restart"));
    const zk = byRole("zookeeper");
    const chroot = () => ensureZnodes(this.t.coordination.nodes[0]!.endpoint.ports.client, zookeeperRootChain(this.t.zookeeper.root));
    if (actions.every((a) => a.kind === "keep" || a.kind === "reload")) {
      // Nothing to start: the two idempotent checks of what servers need beyond their files, side by side.
      await Promise.all([chroot(), ensurePostgresApp(this.t, this.secrets)]);
      return;
    }
    await this.startAll(zk, async (s) => (await zookeeperMode(s.ports.client!)) !== undefined, (s) => join(this.dir, `zookeeper/${s.name}/zookeeper.log`));
    if (zk.length > 0) await this.waitEnsemble();
    await chroot();
    const hosts = new Map(this.t.hosts.map((h) => [h.name, h]));
    await this.startAll(byRole("clickhouse"), (s) => clickhouseReady(hosts.get(s.name)!, this.secrets), (s) => join(this.dir, `clickhouse/${s.name}/log/clickhouse-server.err.log`));
    const pg = byRole("postgres");
    if (pg.length > 0) initPostgres(this.dir, this.pgHome, this.secrets, postgresIdentity(), this.log);
    await this.startAll(pg, () => postgresReady(this.t, this.secrets), () => join(this.dir, postgresLog));
    await ensurePostgresApp(this.t, this.secrets);
  }

  /** Restarts go one server at a time; fresh starts of one role go together. */
  private async startAll(actions: readonly Action[], ready: (s: Server) => Promise<boolean>, logOf: (s: Server) => string): Promise<void> {
    const restarts = actions.filter((a) => a.kind === "restart");
    for (const a of restarts) {
      if (a.kind !== "restart") continue;
      this.log(`  ${a.server.name.padEnd(22)} restarting (pid ${a.pid}) for ${changes(a.changed)}`);
      await stopServer(this.state.processes[a.server.name]!);
      await this.startOne(a.server, ready, logOf, "restarted");
    }
    await Promise.all(actions.filter((a) => a.kind === "start").map((a) => this.startOne(a.server, ready, logOf, a.kind === "start" && a.why === "not running" ? "restarted (was not running)" : "up")));
  }

  private async startOne(server: Server, ready: (s: Server) => Promise<boolean>, logOf: (s: Server) => string, verb: string): Promise<void> {
    const began = Date.now();
    this.writeFiles(server);
    const ports = Object.entries(server.ports).map(([k, v]) => `${k} ${v}`).join(", ");
    this.log(`  ${server.name.padEnd(22)} starting (${ports})`);
    const spec = this.specOf(server);
    if (this.aborting) throw new StartError("interrupted");
    const logFile = join(this.dir, server.role === "zookeeper" ? zookeeperLog(this.node(server)) : server.role === "clickhouse" ? clickhouseStdout(this.t.hosts.find((h) => h.name === server.name)!) : postgresLog);
    mkdirSync(dirname(logFile), { recursive: true });
    const rec = startServer({ ...spec, logFile });
    this.started.push({ server, rec });
    this.record(server, rec);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (await ready(server)) break;
      if (!isOurs(rec)) {
        const extra = logOf(server) === logFile ? "" : `\n${tailOf(logFile, 5)}`;
        throw new StartError(`${server.name} exited while starting; the end of its log (${logOf(server)}):\n${tailOf(logOf(server))}${extra}`, server.name);
      }
      if (Date.now() > deadline) throw new StartError(`${server.name} was not ready after 90 s; the end of its log (${logOf(server)}):\n${tailOf(logOf(server))}`, server.name);
      await sleep(200);
    }
    this.log(`  ${server.name.padEnd(22)} ${verb} in ${((Date.now() - began) / 1000).toFixed(1)} s (pid ${rec.pid})`);
  }

  private node(server: Server) {
    return this.t.coordination.nodes.find((n) => n.name === server.name)!;
  }

  private specOf(server: Server) {
    if (server.role === "zookeeper") return zookeeperSpec(this.t, this.node(server), this.dir);
    if (server.role === "clickhouse") return clickhouseSpec(this.t, this.t.hosts.find((h) => h.name === server.name)!, this.secrets, this.dir);
    const who = postgresIdentity();
    return { ...postgresSpec(this.t, this.pgHome), uid: who.uid, gid: who.gid };
  }

  /** An ensemble serves once every node reports leader or follower (one node: standalone). */
  private async waitEnsemble(): Promise<void> {
    const deadline = Date.now() + 60_000;
    const ports = this.t.coordination.nodes.map((n) => n.endpoint.ports.client);
    for (;;) {
      const modes = await Promise.all(ports.map(zookeeperMode));
      if (modes.every((m) => m !== undefined)) return;
      if (Date.now() > deadline) throw new StartError(`the ZooKeeper ensemble did not form in 60 s (modes: ${modes.map((m) => m ?? "down").join(", ")})`);
      await sleep(200);
    }
  }

  private aborted: Promise<void> | undefined;

  /**
   * Stop, in reverse order, every server this run started, and forget them. Ctrl-C and a failing start
   * may both ask at once: they share one abort, so neither returns while the other is still stopping.
   */
  abort(why: string): Promise<void> {
    this.aborted ??= this.stopStarted(why);
    return this.aborted;
  }

  private async stopStarted(why: string): Promise<void> {
    this.aborting = true; // no new start from here on; one already spawned is in `started`
    if (this.started.length === 0) return;
    this.log(`${why}: stopping the ${this.started.length} server(s) this run started`);
    while (this.started.length > 0) {
      const { server, rec } = this.started.pop()!;
      await stopServer(rec, 15_000);
      delete this.state.processes[server.name];
      writeState(this.dir, this.state);
    }
  }
}
