// Servers an `up` spawned and never recorded: it was killed (SIGKILL cannot be handled) in the moment between
// starting a server and writing its pid to state.json. The next `up` finds them by exactly what it would
// start, the same command line in the same directory, and stops them before it starts that server again.
import { readdirSync, readlinkSync } from "node:fs";
import { kindOf, type KindContext } from "./kinds.ts";
import { cmdlineOf, startTimeOf, stopServer, type ProcessRecord } from "./procs.ts";
import type { Server } from "./plan.ts";

const key = (cwd: string, argv: readonly string[]) => [cwd, ...argv].join("\0");

/** Processes running a server's exact command line in its directory, whose pid is not in `recorded`. */
export function findStrays(c: KindContext, servers: readonly Server[], recorded: ReadonlySet<number>): { server: Server; rec: ProcessRecord }[] {
  const wanted = new Map(servers.map((s) => {
    const spec = kindOf(s.role).spec(c, s);
    return [key(spec.cwd, [spec.command, ...spec.args]), s] as const;
  }));
  const out: { server: Server; rec: ProcessRecord }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || recorded.has(Number(entry))) continue;
    const pid = Number(entry);
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue; // gone, or not ours to read
    }
    const argv = cmdlineOf(pid);
    const server = argv && wanted.get(key(cwd, argv));
    if (server) out.push({ server, rec: { pid, startTime: startTimeOf(pid) ?? 0, argv } });
  }
  return out;
}

/** Stop each stray, saying which and why. */
export async function stopStrays(c: KindContext, servers: readonly Server[], recorded: ReadonlySet<number>): Promise<void> {
  for (const { server, rec } of findStrays(c, servers, recorded)) {
    c.log(`  ${server.name.padEnd(22)} stopping pid ${rec.pid}: started by an interrupted run that never recorded it`);
    await stopServer(rec, 15_000);
  }
}
