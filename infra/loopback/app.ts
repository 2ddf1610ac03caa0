// The reference app (app/) as a loopback server: run from this package's sources with tsx, wired to the
// stack by the app contract (docs/app-contract.md) through its environment, never its command line.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SECRET_ENV } from "../../app/env.ts";
import type { Topology } from "../model/topology.ts";
import { packageRoot } from "../package-root.ts";
import type { SpawnSpec } from "./procs.ts";
import type { StackSecrets } from "./secrets.ts";

export const appLog = "app/app.log";

/** The app's base URL on 127.0.0.1. */
export const appUrl = (t: Topology) => (t.app ? `http://${t.app.endpoint.host}:${t.app.endpoint.ports.http}` : undefined);

/**
 * Every ClickHouse host's HTTP endpoint (the app round-robins batches and fails over: there is no load
 * balancer on loopback), the writer's credentials, the stack's Postgres, and the dev team's API key.
 */
export function appEnv(t: Topology, secrets: StackSecrets): Record<string, string> {
  if (!t.app) throw new Error("the stack config has no app");
  if (!secrets.app) throw new Error("the secrets file has no app API key");
  const pg = secrets.postgres;
  const database = new URL(`postgres://127.0.0.1:${t.postgres.port}/`);
  database.username = pg.user;
  database.password = pg.password;
  database.pathname = `/${encodeURIComponent(pg.database)}`;
  return {
    CLICKHOUSE_URL: t.hosts.map((h) => `http://${h.endpoint.host}:${h.endpoint.ports.http}`).join(","),
    CLICKHOUSE_HOST: t.hosts[0]!.endpoint.host,
    CLICKHOUSE_DATABASE: t.database,
    CLICKHOUSE_CLUSTER: t.cluster,
    CLICKHOUSE_USER: secrets.clickhouse.writer.user,
    CLICKHOUSE_PASSWORD: secrets.clickhouse.writer.password,
    DATABASE_URL: database.toString(),
    HOST: t.app.endpoint.listenHost,
    PORT: String(t.app.endpoint.ports.http),
    APP_BOOTSTRAP_TEAM_NAME: secrets.app.team,
    APP_BOOTSTRAP_TEAM_TOKEN: secrets.app.apiKey,
    ...t.config.app?.env,
  };
}

export function appSpec(t: Topology, secrets: StackSecrets, stateDir: string): Omit<SpawnSpec, "logFile"> {
  const root = packageRoot();
  const tsx = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href;
  return {
    command: process.execPath,
    // A larger young generation: garbage collection fell from 21% to 10% of the app's CPU under load.
    args: ["--max-semi-space-size=64", "--import", tsx, join(root, "app", "main.ts")],
    cwd: stateDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", ...appEnv(t, secrets) },
  };
}

/**
 * What the app runs with beyond its secrets, for `up` to tell a change that needs a restart: its arguments,
 * the environment that is not a credential, and a hash of its sources (a new checkout restarts it).
 */
export function appLaunch(t: Topology, secrets: StackSecrets, stateDir: string): string {
  const spec = appSpec(t, secrets, stateDir);
  const env = Object.entries(spec.env ?? {}).filter(([k]) => !SECRET_ENV.has(k) && k !== "PATH").sort();
  const sources = createHash("sha256");
  const dir = join(packageRoot(), "app");
  for (const f of readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).sort()) {
    sources.update(f).update(readFileSync(join(dir, f)));
  }
  return JSON.stringify({ args: spec.args, env, sources: sources.digest("hex") });
}

/** Ready: /readyz answers 200 (the process serves and reaches both databases). */
export async function appReady(t: Topology): Promise<boolean> {
  try {
    const r = await fetch(`${appUrl(t)}/readyz`, { signal: AbortSignal.timeout(1000) });
    return r.ok;
  } catch {
    return false;
  }
}
