// Starting and stopping the stack's servers. Each server is exec'd directly (no shell), detached, so its pid
// is the server itself; we record that pid with its start time and command line, and only ever signal a
// process whose /proc entry still matches that record: never one we did not start.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

export interface ProcessRecord {
  readonly pid: number;
  /** Kernel start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a reused pid apart. */
  readonly startTime: number;
  readonly argv: readonly string[];
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here (appended). */
  readonly logFile: string;
  readonly uid?: number;
  readonly gid?: number;
}

export function startServer(spec: SpawnSpec): ProcessRecord {
  const log = openSync(spec.logFile, "a");
  try {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ["ignore", log, log],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.on("error", () => undefined); // exit is detected through /proc, not here
    child.unref();
    const argv = [spec.command, ...spec.args];
    return { pid: child.pid, startTime: startTimeOf(child.pid) ?? 0, argv };
  } finally {
    closeSync(log);
  }
}

export function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Processes whose working directory `match` accepts (those gone or unreadable meanwhile are left out). */
export function processesByCwd(match: (cwd: string) => boolean): { pid: number; cwd: string }[] {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).flatMap((e) => {
    try {
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      return match(cwd) ? [{ pid: Number(e), cwd }] : [];
    } catch {
      return [];
    }
  });
}

/** `cwd` is `dir` or inside it. */
export const isUnder = (cwd: string, dir: string): boolean => cwd === dir || cwd.startsWith(`${dir}/`);

export function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Is this record's process still running, and still the one we started? */
export function isOurs(rec: ProcessRecord): boolean {
  if (isZombie(rec.pid)) return false;
  const start = startTimeOf(rec.pid);
  if (start === undefined || (rec.startTime !== 0 && start !== rec.startTime)) return false;
  const argv = cmdlineOf(rec.pid);
  // A server may rewrite its title; its executable path stays first.
  return argv !== undefined && argv[0] === rec.argv[0];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Never signals another process. */
export async function stopServer(rec: ProcessRecord, graceMs = 30_000): Promise<"stopped" | "killed" | "not-running"> {
  if (!isOurs(rec)) return "not-running";
  signal(rec.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return "stopped";
    await sleep(100);
  }
  if (isOurs(rec)) signal(rec.pid, "SIGKILL");
  while (isOurs(rec)) await sleep(50);
  return "killed";
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** Is a TCP port free on 127.0.0.1 (can we bind it right now)? */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The last lines of a log file, for a failure message. */
export function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
