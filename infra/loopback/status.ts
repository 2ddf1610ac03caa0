// `chstack status`: every server of the stack with its ports, pid and state. The JSON shape is documented
// in docs/cli.md and stable for scripts.
import type { StackConfig } from "../config/schema.ts";
import { appUrl } from "./app.ts";
import { loopbackHosts } from "./hosts.ts";
import { isOurs } from "./procs.ts";
import { membersOf } from "./kinds.ts";
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
    stack: opts.stack, cluster: t.cluster, stateDir: dir, postgresHome: state?.postgresHome ?? null, hosts,
    secretsFile: secretsFile(opts.stack, opts.cwd), pendingCleanup: state?.cleanup ?? [], app: url ? { url } : null,
  };
}
