// Reaching a cluster's servers from outside it: one `kubectl port-forward` per member (each ClickHouse pod,
// each ZooKeeper pod, the Postgres and app Services), each onto a free local port that kubectl picks, and
// an `address` map for the collectors. Every kubectl started here is stopped here, by its pid.
import { spawn, type ChildProcess } from "node:child_process";
import { hostPodName, postgresName } from "../infra/model/names.ts";
import type { Topology } from "../infra/model/topology.ts";
import { POSTGRES, type Address, type ServiceKind } from "./collect.ts";

export interface ForwardTarget {
  readonly kind: ServiceKind;
  /** The member's name in the topology (and in the report). */
  readonly name: string;
  /** What kubectl forwards to: `pod/<name>` or `service/<name>`. */
  readonly resource: string;
  readonly port: number;
}

/** Every member the health checks reach, as kubectl names it (pure). */
export function forwardTargets(t: Topology, opts: { postgres: boolean; app: boolean }): ForwardTarget[] {
  return [
    ...t.hosts.map((h) => ({ kind: "clickhouse" as const, name: h.name, resource: `pod/${hostPodName(h.name)}`, port: h.endpoint.ports.http })),
    ...t.coordination.nodes.map((n) => ({ kind: "zookeeper" as const, name: n.name, resource: `pod/${n.name}`, port: n.endpoint.ports.client })),
    ...(opts.postgres ? [{ kind: "postgres" as const, name: POSTGRES, resource: `service/${postgresName(t.cluster)}`, port: t.postgres.port }] : []),
    ...(opts.app && t.app ? [{ kind: "app" as const, name: t.app.name, resource: `service/${t.app.name}`, port: t.app.endpoint.ports.http }] : []),
  ];
}

/** kubectl's line for a forward it has set up: `Forwarding from 127.0.0.1:41234 -> 8123`. */
export function forwardedPort(output: string): number | undefined {
  const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(output);
  return m ? Number(m[1]) : undefined;
}

export interface Forwards {
  readonly address: (kind: ServiceKind, name: string, a: Address) => Address;
  /** Members whose forward could not be set up, with kubectl's words. */
  readonly failed: ReadonlyMap<string, string>;
  stop(): Promise<void>;
}

export interface ForwardOptions {
  readonly namespace: string;
  readonly kubectl?: string;
  /** kubectl's `--context` (default: its current context). */
  readonly context?: string;
  /** How long kubectl may take to set up one forward. */
  readonly timeoutMs?: number;
}

export async function startForwards(targets: readonly ForwardTarget[], o: ForwardOptions): Promise<Forwards> {
  const children: ChildProcess[] = [];
  const local = new Map<string, number>();
  const failed = new Map<string, string>();
  await Promise.all(targets.map(async (f) => {
    const args = [...(o.context ? ["--context", o.context] : []), "-n", o.namespace, "port-forward", f.resource, `:${f.port}`, "--address", "127.0.0.1"];
    const child = spawn(o.kubectl ?? "kubectl", args, { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    try {
      local.set(f.name, await new Promise<number>((resolve, reject) => {
        let out = "";
        let err = "";
        const timer = setTimeout(() => reject(new Error(`kubectl port-forward ${f.resource}: no forward in ${(o.timeoutMs ?? 15_000) / 1000} s`)), o.timeoutMs ?? 15_000);
        child.stdout!.on("data", (d) => {
          out += d;
          const port = forwardedPort(out);
          if (port !== undefined) (clearTimeout(timer), resolve(port));
        });
        child.stderr!.on("data", (d) => (err += d));
        child.on("error", (e) => (clearTimeout(timer), reject(new Error(`kubectl: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not found on PATH" : e.message}`))));
        child.on("exit", () => (clearTimeout(timer), reject(new Error(`kubectl port-forward ${f.resource}: ${err.trim().split("\n")[0] || "exited"}`))));
      }));
    } catch (e) {
      failed.set(f.name, (e as Error).message);
    }
  }));
  return {
    address: (kind, name, a) => {
      const port = local.get(name);
      return port === undefined ? a : { host: "127.0.0.1", port };
    },
    failed,
    async stop() {
      await Promise.all(children.map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return resolve();
        c.once("exit", () => resolve());
        c.kill("SIGTERM");
      })));
    },
  };
}
