// A loopback stack's state under `.chstack/<stack>/` (git-ignored): generated files, data, logs,
// credentials, and state.json, the record of what runs (pids, the files each server was started with).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";

/** Write a file only its owner can read, atomically (never a moment with wider permissions). */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

export const STATE_ROOT = ".chstack";

export function stateDir(stack: string, cwd = process.cwd()): string {
  return resolve(cwd, STATE_ROOT, stack);
}

/** The generated credentials (0600), for scripts: `chstack status --json` names it as `secretsFile`. */
export function secretsFile(stack: string, cwd = process.cwd()): string {
  return join(stateDir(stack, cwd), "secrets.json");
}

const processSchema = z.object({
  role: z.enum(["clickhouse", "zookeeper", "postgres", "app"]),
  pid: z.number().int(),
  startTime: z.number(),
  argv: z.array(z.string()),
  /** Hash of each file the server was started with (path -> sha256), to tell what a config change touches. */
  files: z.record(z.string(), z.string()),
  startedAt: z.string(),
});
export type ProcessState = z.infer<typeof processSchema>;
export type Role = ProcessState["role"];
/** The loopback stack's one Postgres server. */
export const POSTGRES_NAME = "postgres";

const stateSchema = z.object({
  stack: z.string(),
  cluster: z.string(),
  shards: z.number().int(),
  replicas: z.number().int(),
  coordinationSize: z.number().int(),
  portRange: z.object({ first: z.number().int(), last: z.number().int() }),
  processes: z.record(z.string(), processSchema),
  /** Postgres's own directory (its data directory is `data` inside), chosen on the first `up`. */
  postgresHome: z.string().optional(),
  /** Every ClickHouse host the stack has, with the port slot it keeps for life (infra/loopback/hosts.ts). */
  hosts: z.record(z.string(), z.object({ shard: z.number().int(), replica: z.number().int(), slot: z.number().int() })).optional(),
  /** The hosts in remote_servers: the cluster as queries see it. */
  published: z.array(z.string()).optional(),
  /** Removed hosts whose replica metadata is still in ZooKeeper: retried by every `up` until it is gone. */
  cleanup: z.array(z.object({ host: z.string(), since: z.string(), lastError: z.string().optional() })).optional(),
  /** Removed hosts and where their data was kept (null: purged). */
  retired: z.array(z.object({ host: z.string(), at: z.string(), keptIn: z.string().nullable() })).optional(),
});
export type StackState = z.infer<typeof stateSchema>;

export const stateFile = (dir: string) => join(dir, "state.json");

export function readState(dir: string): StackState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new Error(`${file} is damaged (${parsed.error.issues[0]?.message}); stop its servers by hand and move the file aside`);
  return parsed.data;
}

export function writeState(dir: string, state: StackState): void {
  writePrivateFile(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}

/** Every other stack's state under the same root, for port clash checks. */
export function otherStacks(stack: string, cwd = process.cwd()): { stack: string; dir: string; state: StackState }[] {
  const root = resolve(cwd, STATE_ROOT);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== stack)
    .flatMap((e) => {
      const dir = join(root, e.name);
      try {
        const state = readState(dir);
        return state ? [{ stack: e.name, dir, state }] : [];
      } catch {
        return [];
      }
    });
}

/**
 * Serialise commands on one stack: `up`, `down` and schema apply take this lock. The holder's pid sits beside
 * it (`lock.owner`, removed on release and on exit): a holder that was killed is seen dead and its lock taken
 * over at once; otherwise a lock without updates for 30 s counts as stale.
 */
export async function withStackLock<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const lockPath = join(dir, "lock");
  const owner = `${lockPath}.owner`;
  const options = { lockfilePath: lockPath, stale: 30_000, update: 5_000 };
  const waiting = { ...options, retries: { retries: 40, minTimeout: 250, maxTimeout: 1000 } };
  let unlock: () => Promise<void>;
  try {
    unlock = await lockfile.lock(dir, options).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ELOCKED") throw e;
      takeOverDeadHolder(lockPath, owner);
      return lockfile.lock(dir, waiting);
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new Error(`another chstack command is working on this stack (${lockPath}); waited 30 s for it before ${what}`);
    }
    throw e;
  }
  // The owner record is a help, not the lock: if it cannot be written, a dead holder is waited out instead.
  const dropOwner = () => rmSync(owner, { force: true });
  try {
    writeFileSync(owner, `${process.pid} ${hostname()}\n`);
  } catch {
    // no record
  }
  process.once("exit", dropOwner); // process.exit (Ctrl-C) skips the finally below
  try {
    return await fn();
  } finally {
    process.removeListener("exit", dropOwner);
    dropOwner();
    await unlock().catch(() => undefined);
  }
}

/**
 * The lock's holder ran on this machine and is gone (killed): remove its lock and its owner record. One
 * process at a time decides (an exclusive `lock.takeover` directory), reading the record again under it, so
 * two waiters never both remove a lock, and a lock just taken (its record not yet written) is never removed.
 */
function takeOverDeadHolder(lockPath: string, owner: string): void {
  const guard = `${lockPath}.takeover`;
  try {
    mkdirSync(guard);
  } catch {
    try {
      if (Date.now() - statSync(guard).mtimeMs > 10_000) rmSync(guard, { recursive: true, force: true }); // its taker died
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const [pid, host] = readFileSync(owner, "utf8").trim().split(" ");
    if (host !== hostname() || !/^\d+$/.test(pid ?? "") || pidAlive(Number(pid))) return;
    rmSync(lockPath, { recursive: true, force: true });
    rmSync(owner, { force: true });
    console.error(`chstack: took over the stack's lock from pid ${pid}, which is no longer running`);
  } catch {
    // no owner recorded: wait, as for a live holder
  } finally {
    rmSync(guard, { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
