// `chstack up`: converge the loopback stack to its config. ZooKeeper first (ready by `srvr`), its root
// znodes, then ClickHouse with exactly the rendered files (ready by /ping and a query), then Postgres.
// Healthy servers are left alone. Any failure, or Ctrl-C, stops what this run started.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { StackConfig } from "../config/schema.ts";
import { zookeeperRootChain } from "../model/names.ts";
import { loopbackPortRange } from "../model/ports.ts";
import { loopbackTarget } from "../model/targets.ts";
import { buildTopology, type Topology } from "../model/topology.ts";
import { hashPasswords } from "../render/clickhouse/index.ts";
import { renderLoopback } from "../render/loopback.ts";
import { ensurePackages } from "./packages.ts";
import { fingerprint, planUp, serversOf, topologyChange, type Action, type Server } from "./plan.ts";
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
  /** Runs once every server is healthy, still under the stack's lock (the schema step). */
  readonly afterStart?: (t: Topology, secrets: StackSecrets) => Promise<void>;
  readonly log: (line: string) => void;
}

export interface UpResult {
  readonly topology: Topology;
  readonly dir: string;
  readonly actions: readonly Action[];
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
    const t = buildTopology(config, loopbackTarget(config), stack);
    const state = readState(dir);
    const alive = (name: string) => Boolean(state?.processes[name] && isOurs(state.processes[name]));
    const refused = topologyChange(t, state, Object.keys(state?.processes ?? {}).some(alive));
    if (refused) throw new StartError(refused);
    checkPortClash(stack, t, opts.cwd);

    const secrets = ensureSecrets(dir, stack, config, t, opts.cwd);
    const pgHome = postgresHome(dir, postgresIdentity(), state?.postgresHome);
    const files = renderLoopback(t, hashPasswords(clickhousePasswords(secrets)));
    const servers = serversOf(t, files, {
      zookeeper: zookeeperSpec(t, t.coordination.nodes[0]!, dir).args.filter((a) => a.startsWith("-X")).join(" "),
      postgres: postgresSpec(t, pgHome).args.join(" "),
    });
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

    const run = new Run(dir, t, secrets, state, pgHome, log);
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
    await opts.afterStart?.(t, secrets);
    return { topology: t, dir, actions, postgres: { user: secrets.postgres.user, database: secrets.postgres.database } };
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

function checkPortClash(stack: string, t: Topology, cwd?: string): void {
  const mine = loopbackPortRange(t.config.loopback.portBase, t.hosts.length);
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
    private readonly pgHome: string, private readonly log: (l: string) => void,
  ) {
    const range = loopbackPortRange(t.config.loopback.portBase, t.hosts.length);
    this.state = {
      stack: t.stack, cluster: t.cluster, shards: t.shards.length, replicas: t.shards[0]!.hosts.length,
      coordinationSize: t.coordination.nodes.length, portRange: range, processes: { ...prev?.processes }, postgresHome: pgHome,
    };
    writeState(dir, this.state);
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
