// `chstack status`: every server of the stack with its ports, pid and state. The JSON shape is documented
// in docs/cli.md and stable for scripts. `statusWithHealth` adds the health report (health/, docs/health.md)
// under `health`.
import { rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StackConfig } from "../config/schema.ts";
import type { Topology } from "../model/topology.ts";
import { collectHealth } from "../../health/collect.ts";
import { evaluate } from "../../health/evaluate.ts";
import type { HealthReport, Thresholds } from "../../health/facts.ts";
import { collectPostgres } from "../../health/postgres.ts";
import type { Declaration } from "../../schema/declare.ts";
import { loadDeclaration } from "../declaration.ts";
import { appUrl } from "./app.ts";
import { loopbackHosts } from "./hosts.ts";
import { isOurs } from "./procs.ts";
import { membersOf } from "./kinds.ts";
import { readSecrets } from "./secrets.ts";
import { readState, secretsFile, stateDir, type Role } from "./state.ts";

export interface HostStatus {
  readonly name: string;
  readonly role: Role;
  readonly shard: number | null;
  readonly replica: number | null;
  readonly ports: Readonly<Record<string, number>>;
  readonly pid: number | null;
  readonly state: "up" | "down";
  /** ClickHouse hosts: listed in remote_servers (a new host is not until its schema converged and it caught up). */
  readonly published?: boolean;
  /** ClickHouse hosts: false for a host the config no longer has, still to retire. */
  readonly wanted?: boolean;
}

export interface StackStatus {
  readonly stack: string;
  readonly cluster: string;
  readonly stateDir: string;
  /** Postgres's own directory, its data directory `data` inside (outside the state dir when run as root); null before the first `up`. */
  readonly postgresHome: string | null;
  readonly hosts: readonly HostStatus[];
  readonly secretsFile: string;
  /** Removed hosts whose replica metadata is still in ZooKeeper (the next `up` retries), with the last error. */
  readonly pendingCleanup: readonly { host: string; since: string; lastError?: string }[];
  /** The app's URL, when the stack has one; its dev team's API key is `app.apiKey` in the secrets file. */
  readonly app: { readonly url: string } | null;
}

export function status(opts: { stack: string; config: StackConfig; cwd?: string }): StackStatus {
  return statusAndTopology(opts).status;
}

function statusAndTopology(opts: { stack: string; config: StackConfig; cwd?: string }): { status: StackStatus; topology: Topology } {
  const dir = stateDir(opts.stack, opts.cwd);
  const state = readState(dir);
  const lh = loopbackHosts(opts.config, opts.stack, state);
  const t = lh.topology;
  const published = new Set(state ? lh.published.map((h) => h.name) : []);
  const wanted = new Set(t.hosts.map((h) => h.name));
  const leaving = lh.published.filter((h) => !wanted.has(h.name)).map((h) => lh.byName.get(h.name)!);
  const of = (name: string) => {
    const p = state?.processes[name];
    const up = Boolean(p && isOurs(p));
    return { pid: up ? p!.pid : null, state: up ? ("up" as const) : ("down" as const) };
  };
  const hosts: HostStatus[] = membersOf(t, [...t.hosts, ...leaving]).map((m) => ({
    ...m, ...of(m.name), ...(m.role === "clickhouse" ? { published: published.has(m.name), wanted: wanted.has(m.name) } : {}),
  }));
  const url = appUrl(t);
  return {
    topology: t,
    status: {
      stack: opts.stack, cluster: t.cluster, stateDir: dir, postgresHome: state?.postgresHome ?? null, hosts,
      secretsFile: secretsFile(opts.stack, opts.cwd), pendingCleanup: state?.cleanup ?? [], app: url ? { url } : null,
    },
  };
}

export interface StackHealthStatus extends StackStatus {
  /** The health report: verdict, exit code, summary, reasons, every check and the facts (docs/health.md). */
  readonly health: HealthReport;
}

export interface HealthOptions {
  readonly stack: string;
  readonly config: StackConfig;
  readonly cwd?: string;
  /** Per collector (default 2 s). */
  readonly timeoutMs?: number;
  /** The declaration to compare with (default: the stack's, as `schema plan` reads it). */
  readonly declaration?: Declaration;
  readonly thresholds?: Thresholds;
}

/**
 * The status and the health of every server of the wanted topology, checked in parallel. A server the state
 * records as not running is reported down at once, never waited for: a stopped stack answers as fast as
 * `status` alone. Hosts still to retire are listed by the status, not checked.
 */
export async function statusWithHealth(opts: HealthOptions): Promise<StackHealthStatus> {
  const { status: st, topology: t } = statusAndTopology(opts);
  const down = new Map(st.hosts.filter((h) => h.state === "down").map((h) => [h.name, "not running"]));
  const anyRunning = st.hosts.some((h) => h.state === "up");
  const secrets = anyRunning ? readSecrets(st.secretsFile) : undefined;
  const admin = secrets?.clickhouse.admin;
  const pg = secrets?.postgres;
  // No ClickHouse host runs: nothing to compare, the declaration is not even loaded. A declaration that
  // does not load is reported as a failed check, beside everything else.
  let declaration = opts.declaration;
  let declarationError: string | undefined;
  if (!declaration && t.hosts.some((h) => !down.has(h.name))) {
    try {
      declaration = await loadDeclaration(t.database, opts.config.schema.declaration, opts.cwd ?? process.cwd());
    } catch (e) {
      declarationError = (e as Error).message;
    }
  }
  const facts = await collectHealth(t, {
    clickhouse: { username: admin?.user ?? "default", password: admin?.password ?? "" },
    timeoutMs: opts.timeoutMs,
    down,
    declaration,
    postgres: (a, ms) => collectPostgres({ ...a, user: pg?.user ?? "postgres", password: pg?.password ?? "", database: pg?.database ?? "postgres" }, ms),
    // 18.16 cannot tell its free disk space: the data directory's file system, seen from here.
    // A disk that turned read-only (the kernel remounts a file system on I/O errors) shows only on a write.
    disk: async (h) => {
      const dir = join(st.stateDir, h.paths.data);
      const s = await statfs(dir);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize, source: "statfs", ...await writeProbe(dir) };
    },
  });
  const schema = declarationError ? { declarationHash: "", error: declarationError, hosts: [], tables: [] } : facts.schema;
  return { ...st, health: evaluate({ ...facts, schema }, opts.thresholds) };
}

/** Create and remove an empty file in a directory: the error's code and message when that fails. */
async function writeProbe(dir: string): Promise<{ writeError?: string }> {
  const probe = join(dir, ".chstack-write-probe");
  try {
    await writeFile(probe, "");
    await rm(probe, { force: true });
    return {};
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code === "ENOSPC" ? {} : { writeError: `${err.code ?? "error"}: ${err.message.split(",")[0]!.replace(/^\w+: /, "")}` };
  }
}
