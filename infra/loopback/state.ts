// A loopback stack's state under `.chstack/<stack>/` (git-ignored): generated files, data, logs,
// credentials, and state.json, the record of what runs (pids, the files each server was started with).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
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
 * Serialise commands on one stack: `up`, `down` and (later) schema apply take this lock. A holder that died
 * leaves a stale lock that is taken over after 30 s without updates.
 */
export async function withStackLock<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, { lockfilePath: join(dir, "lock"), stale: 30_000, update: 5_000, retries: { retries: 40, minTimeout: 250, maxTimeout: 1000 } });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new Error(`another chstack command is working on this stack (${join(dir, "lock")}); waited 30 s for it before ${what}`);
    }
    throw e;
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
