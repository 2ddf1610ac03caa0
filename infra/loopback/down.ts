// `chstack down`: stop every server of the stack by its recorded pid (ClickHouse, then Postgres, then
// ZooKeeper), gracefully then forcefully. Works from state.json alone, so a broken config cannot block it.
import { existsSync, rmSync } from "node:fs";
import { STOP_ORDER } from "./kinds.ts";
import { removablePostgresHome } from "./postgres.ts";
import { cmdlineOf, isUnder, processesByCwd, stopServer } from "./procs.ts";
import { readState, stateDir, withStackLock, writeState } from "./state.ts";

export interface DownResult {
  readonly stopped: readonly string[];
  readonly killed: readonly string[];
  readonly notRunning: readonly string[];
  readonly purged: boolean;
}

export async function down(opts: { stack: string; cwd?: string; purge?: boolean; graceMs?: number; log: (line: string) => void }): Promise<DownResult> {
  const dir = stateDir(opts.stack, opts.cwd);
  if (!existsSync(dir)) return { stopped: [], killed: [], notRunning: [], purged: false };
  const result = await withStackLock(dir, "down", async () => {
    const state = readState(dir);
    const out = { stopped: [] as string[], killed: [] as string[], notRunning: [] as string[], postgresHome: state?.postgresHome };
    if (!state) return out;
    for (const role of STOP_ORDER) {
      const procs = Object.entries(state.processes).filter(([, p]) => p.role === role);
      await Promise.all(
        procs.map(async ([name, p]) => {
          const how = await stopServer(p, opts.graceMs ?? 30_000);
          (how === "stopped" ? out.stopped : how === "killed" ? out.killed : out.notRunning).push(name);
          opts.log(`  ${name.padEnd(22)} ${how === "not-running" ? "was not running" : how === "killed" ? `killed (pid ${p.pid}) after the grace period` : `stopped (pid ${p.pid})`}`);
          delete state.processes[name];
        }),
      );
      writeState(dir, state);
    }
    // A server an interrupted `up` spawned and never recorded (a SIGKILL between the two) is not ours to
    // judge by directory alone: name it. `up` recognises it by its exact command line and stops it.
    const dirs = [dir, state.postgresHome].filter((d): d is string => Boolean(d));
    for (const { pid } of processesByCwd((cwd) => dirs.some((d) => isUnder(cwd, d)))) {
      opts.log(`  warning: pid ${pid} (${cmdlineOf(pid)?.[0] ?? "?"}) still runs in the stack's directory and is not one of its recorded servers; if an interrupted up left it, \`chstack up\` stops it`);
    }
    return out;
  });
  // The lock lives inside the directory: purge once it is released. Postgres's directory may be outside it.
  const { postgresHome, ...stopped } = result;
  if (opts.purge) {
    rmSync(dir, { recursive: true, force: true });
    if (removablePostgresHome(postgresHome)) rmSync(postgresHome, { recursive: true, force: true });
  }
  return { ...stopped, purged: Boolean(opts.purge) };
}

