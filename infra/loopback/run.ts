// One `up` run: the servers it starts, kind by kind (infra/loopback/kinds.ts), the state file it keeps
// current, and the undo of what it started when it fails or is interrupted.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TopologyChange } from "../model/change.ts";
import type { Topology } from "../model/topology.ts";
import type { ChangeContext } from "./change.ts";
import type { LoopbackHosts } from "./hosts.ts";
import { SERVER_KINDS, type KindContext, type ServerKind } from "./kinds.ts";
import { fingerprint, type Action, type Server } from "./plan.ts";
import { isOurs, sleep, startServer, stopServer, tailOf, type ProcessRecord } from "./procs.ts";
import type { StackSecrets } from "./secrets.ts";
import { writeState, type StackState } from "./state.ts";

export class StartError extends Error {
  constructor(message: string, readonly server?: string) {
    super(message);
  }
}

/** A changed file as people read it: its name, or "launch arguments". */
export const changes = (changed: readonly string[]) => [...new Set(changed.map((c) => (c === "#launch" ? "launch arguments" : c.split("/").at(-1))))].join(", ");

/** One `up` run: what it started (to undo on failure) and the state file it keeps current. */
export class Run {
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

  private kindContext(): KindContext {
    return { t: this.t, dir: this.dir, secrets: this.secrets, pgHome: this.pgHome, log: this.log };
  }

  /** Kind by kind, in start order: start what needs it, then what must hold once they run. */
  async converge(actions: readonly Action[]): Promise<void> {
    const c = this.kindContext();
    if (actions.every((a) => a.kind === "keep" || a.kind === "reload")) {
      // Nothing to start: the idempotent checks of what servers need beyond their files, side by side.
      await Promise.all(SERVER_KINDS.map((k) => k.converge?.(c, false)));
      return;
    }
    for (const kind of SERVER_KINDS) {
      const mine = actions.filter((a) => a.server.role === kind.role && (a.kind === "start" || a.kind === "restart"));
      if (mine.length > 0) kind.beforeStart?.(c);
      await this.startAll(kind, mine);
      await kind.converge?.(c, mine.length > 0);
    }
  }

  /** Restarts go one server at a time; fresh starts of one kind go together. */
  private async startAll(kind: ServerKind, actions: readonly Action[]): Promise<void> {
    for (const a of actions) {
      if (a.kind !== "restart") continue;
      this.log(`  ${a.server.name.padEnd(22)} restarting (pid ${a.pid}) for ${changes(a.changed)}`);
      await stopServer(this.state.processes[a.server.name]!);
      await this.startOne(kind, a.server, "restarted");
    }
    await Promise.all(actions.filter((a) => a.kind === "start").map((a) => this.startOne(kind, a.server, a.kind === "start" && a.why === "not running" ? "restarted (was not running)" : "up")));
  }

  private async startOne(kind: ServerKind, server: Server, verb: string): Promise<void> {
    const began = Date.now();
    const c = this.kindContext();
    this.writeFiles(server);
    const ports = Object.entries(server.ports).map(([k, v]) => `${k} ${v}`).join(", ");
    this.log(`  ${server.name.padEnd(22)} starting (${ports})`);
    const spec = kind.spec(c, server);
    if (this.aborting) throw new StartError("interrupted");
    const logFile = join(this.dir, kind.stdout(c, server));
    const errorLog = join(this.dir, kind.errorLog(c, server));
    mkdirSync(dirname(logFile), { recursive: true });
    const rec = startServer({ ...spec, logFile });
    this.started.push({ server, rec });
    this.record(server, rec);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (await kind.ready(c, server)) break;
      if (!isOurs(rec)) {
        const extra = errorLog === logFile ? "" : `\n${tailOf(logFile, 5)}`;
        throw new StartError(`${server.name} exited while starting; the end of its log (${errorLog}):\n${tailOf(errorLog)}${extra}`, server.name);
      }
      if (Date.now() > deadline) throw new StartError(`${server.name} was not ready after 90 s; the end of its log (${errorLog}):\n${tailOf(errorLog)}`, server.name);
      await sleep(200);
    }
    this.log(`  ${server.name.padEnd(22)} ${verb} in ${((Date.now() - began) / 1000).toFixed(1)} s (pid ${rec.pid})`);
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
