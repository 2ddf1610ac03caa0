// The health report as people read it: a table per kind of server, the declared tables with their hosts
// and rows, the problems, and last the summary line. Pure.
import { bytes } from "./evaluate.ts";
import type { HealthReport, ReplicaGroupRows } from "./facts.ts";

export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

/** 42s, 5m 2s, 2h 5m, 3d 4h. */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

const dash = "-";

export function formatHealth(r: HealthReport): string {
  const f = r.facts;
  const out: string[] = [];
  const schemaOf = new Map((f.schema?.hosts ?? []).map((s) => [s.host, s]));

  if (f.clickhouse.length) {
    const rows = [["CLICKHOUSE", "STATE", "VERSION", "UPTIME", "QUEUE", "DELAY", "READ-ONLY", "ZK SESSION", "PARTS", "DISK USED", "DISK FREE", "SCHEMA", "NOTE"]];
    for (const h of f.clickhouse) {
      if (!h.reachable) {
        rows.push([h.host, "down", dash, dash, dash, dash, dash, dash, dash, dash, dash, dash, h.error ?? ""]);
        continue;
      }
      const replicas = h.replicas ?? [];
      const ro = replicas.filter((x) => x.isReadonly).length;
      const expired = replicas.filter((x) => x.isSessionExpired).length;
      const s = schemaOf.get(h.host);
      rows.push([
        h.host, "up", h.version ?? dash, h.uptimeSeconds === undefined ? dash : duration(h.uptimeSeconds),
        String(replicas.reduce((n, x) => n + x.queueSize, 0)), `${Math.max(0, ...replicas.map((x) => x.absoluteDelay))}s`,
        ro ? `yes (${ro} of ${replicas.length})` : "no",
        expired ? `expired (${expired})` : h.zookeeperSessions === 0 ? (replicas.length ? "none" : "-") : "ok",
        String(h.parts?.active ?? dash), h.parts ? bytes(h.parts.bytesOnDisk) : dash,
        h.disk ? `${bytes(h.disk.free)} (${Math.floor((h.disk.free / h.disk.total) * 100)}%)` : dash,
        !f.schema || f.schema.error || !s?.reachable ? dash : s.pending || s.drift ? "differs" : "ok",
        h.replicasZooKeeperError ? `replica counts: ${h.replicasZooKeeperError}` : "",
      ]);
    }
    out.push(...table(rows), "");
  }

  if (f.zookeeper.length) {
    const rows = [[f.coordination === "keeper" ? "KEEPER" : "ZOOKEEPER", "STATE", "MODE", "CONNECTIONS", "OUTSTANDING", "VERSION", "NOTE"]];
    for (const z of f.zookeeper) {
      rows.push([z.node, z.reachable ? (z.mode ? "up" : "not serving") : "down", z.mode ?? dash, z.connections?.toString() ?? dash,
        z.outstanding?.toString() ?? dash, z.version ?? dash, z.error ?? ""]);
    }
    out.push(...table(rows), "");
  }

  const services: string[][] = [];
  if (f.postgres.checked) {
    services.push(["POSTGRES", f.postgres.reachable ? "up" : "down",
      f.postgres.reachable ? (/^PostgreSQL \S+/.exec(f.postgres.version ?? "")?.[0] ?? f.postgres.version ?? "") : f.postgres.error ?? ""]);
  }
  if (f.app.checked) services.push(["APP", f.app.ready ? "ready" : "not ready", f.app.ready ? f.app.url : `${f.app.url}: ${f.app.error ?? `/readyz answered ${f.app.status}`}`]);
  if (services.length) out.push(...table(services), "");

  const tables = tableLines(r);
  if (tables.length) out.push(...tables, "");

  const problems = r.reasons.length > 1 ? ["problems:", ...r.reasons.map((x) => `  - ${x}`)] : [];
  out.push(...problems, `health: ${r.summary} [exit ${r.exitCode}, ${f.elapsedMs} ms]`);
  return out.join("\n");
}

/** Per declared table (or, without a declaration, per replicated table): kind, hosts that have it, rows per shard and replica. */
function tableLines(r: HealthReport): string[] {
  const f = r.facts;
  const byTable = new Map<string, ReplicaGroupRows[]>();
  for (const g of r.rows) byTable.set(g.table, [...(byTable.get(g.table) ?? []), g]);
  const declared = f.schema && !f.schema.error ? f.schema.tables : [];
  const names = [...declared.map((d) => d.table), ...[...byTable.keys()].filter((n) => !declared.some((d) => d.table === n) && !n.startsWith("chstack."))];
  if (names.length === 0) return [];
  const rowsOf = (name: string) => (byTable.get(name) ?? []).map((g) => `${g.group}: ${g.replicas.map((x) => x.rows).join(" / ")}${g.disagree ? " (disagree)" : ""}`).join("; ");
  const lines = [["TABLE", "KIND", "HOSTS", "ROWS (per shard: each replica)"]];
  for (const name of names) {
    const d = declared.find((x) => x.table === name);
    const hosts = d ? [`${d.hosts.length} of ${d.hosts.length + d.missing.length + d.unknown.length}`,
      d.missing.length ? `missing on ${d.missing.join(", ")}` : "", d.unknown.length ? `${d.unknown.length} not introspected` : ""].filter(Boolean).join(", ") : dash;
    lines.push([name, d?.kind ?? "replicated", hosts, rowsOf(name) || dash]);
  }
  return table(lines);
}
