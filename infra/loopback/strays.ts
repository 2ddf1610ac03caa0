// Servers an `up` spawned and never recorded: it was killed (SIGKILL cannot be handled) in the moment between
// starting a server and writing its pid to state.json. The next `up` finds them by exactly what it would
// start, the same command line in the same directory, and stops them before it starts that server again.
import { kindOf, type KindContext } from "./kinds.ts";
import { cmdlineOf, processesByCwd, startTimeOf, stopServer, type ProcessRecord } from "./procs.ts";
import type { Server } from "./plan.ts";

const key = (cwd: string, argv: readonly string[]) => [cwd, ...argv].join("\0");

/** Processes running a server's exact command line in its directory, whose pid is not in `recorded`. */
export function findStrays(c: KindContext, servers: readonly Server[], recorded: ReadonlySet<number>): { server: Server; rec: ProcessRecord }[] {
  const specs = servers.map((s) => ({ server: s, spec: kindOf(s.role).spec(c, s) }));
  const wanted = new Map(specs.map(({ server, spec }) => [key(spec.cwd, [spec.command, ...spec.args]), server] as const));
  const cwds = new Set(specs.map(({ spec }) => spec.cwd));
  return processesByCwd((cwd) => cwds.has(cwd)).flatMap(({ pid, cwd }) => {
    const argv = cmdlineOf(pid);
    const server = !recorded.has(pid) && argv ? wanted.get(key(cwd, argv)) : undefined;
    return server ? [{ server, rec: { pid, startTime: startTimeOf(pid) ?? 0, argv: argv! } }] : [];
  });
}

/** Stop each stray, saying which and why. */
export async function stopStrays(c: KindContext, servers: readonly Server[], recorded: ReadonlySet<number>): Promise<void> {
  for (const { server, rec } of findStrays(c, servers, recorded)) {
    c.log(`  ${server.name.padEnd(22)} stopping pid ${rec.pid}: started by an interrupted run that never recorded it`);
    await stopServer(rec, 15_000);
  }
}
