// The schema library wired to a loopback stack: one kept connection per host, as the admin user.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { Topology } from "../model/topology.ts";
import { connect, type HostConnection } from "../../schema/connection.ts";
import type { Declaration } from "../../schema/declare.ts";
import { posthogSchema } from "../../schema/posthog.ts";
import type { StackSecrets } from "./secrets.ts";

export function connectAll(t: Topology, secrets: StackSecrets): Map<string, HostConnection> {
  const admin = secrets.clickhouse.admin;
  return new Map(t.hosts.map((h) => [h.name, connect({ host: h.name, url: `http://127.0.0.1:${h.endpoint.ports.http}`, username: admin.user, password: admin.password })]));
}

export async function closeAll(conns: ReadonlyMap<string, HostConnection>): Promise<void> {
  await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
}

/**
 * The declaration to converge: a module's default export (a Declaration, or a function of the database
 * name returning one), or the built-in PostHog events schema.
 */
export async function loadDeclaration(database: string, module?: string): Promise<Declaration> {
  if (!module) return posthogSchema(database);
  const mod = (await import(pathToFileURL(resolve(module)).href)) as { default?: unknown };
  const d = typeof mod.default === "function" ? (mod.default as (db: string) => Declaration)(database) : mod.default;
  if (!d || typeof d !== "object" || !Array.isArray((d as Declaration).tables)) {
    throw new Error(`${module}: its default export must be a declaration from defineSchema(...) or a function (database) => declaration`);
  }
  return d as Declaration;
}
