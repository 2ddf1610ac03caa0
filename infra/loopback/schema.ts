// The schema library wired to a loopback stack: one kept connection per host, as the admin user.
import type { Topology } from "../model/topology.ts";
import { connect, type HostConnection } from "../../schema/connection.ts";
import type { StackSecrets } from "./secrets.ts";

export function connectAll(t: Topology, secrets: StackSecrets): Map<string, HostConnection> {
  const admin = secrets.clickhouse.admin;
  return new Map(t.hosts.map((h) => [h.name, connect({ host: h.name, url: `http://127.0.0.1:${h.endpoint.ports.http}`, username: admin.user, password: admin.password })]));
}

export async function closeAll(conns: ReadonlyMap<string, HostConnection>): Promise<void> {
  await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
}
