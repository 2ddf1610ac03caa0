// The result as people read it: one table of queries with both timings and the ratio, then the storage.
import type { CompareResult } from "./run.ts";

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 2 : 1)} MiB`;
const msText = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
export const ratioText = (r: number) => (Number.isFinite(r) ? `${r < 10 ? r.toFixed(1) : r.toFixed(0)}x` : "-");

/** Columns padded to their widest cell; by default the first left-aligned (text), the others right-aligned (numbers). */
export function table(rows: readonly (readonly string[])[], align?: readonly ("left" | "right")[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const left = (c: number) => (align ? align[c] === "left" : c === 0);
  return rows.map((r) => r.map((cell, c) => (left(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd()).join("\n");
}

export function formatResult(r: CompareResult): string {
  const lines: string[] = [];
  lines.push(`compare on stack ${r.stack}: ${r.events.toLocaleString("en-US")} events (seed ${r.seed}, 90 days before ${r.reference}); ClickHouse ${r.versions.clickhouse}, ${r.cluster.shards} shards x ${r.cluster.replicas} replicas; Postgres ${r.versions.postgres}`);
  lines.push(`queries on team ${r.team}; median of ${r.timing.runs} runs after 1 warm-up, each database in turn, wall time from this client`);
  lines.push("");
  const rows: string[][] = [["QUERY", "ROWS", "POSTGRES MS", "CLICKHOUSE MS", "RATIO", "SAME RESULT"]];
  for (const q of r.queries) {
    rows.push([q.title, String(q.rows.postgres === q.rows.clickhouse ? q.rows.postgres : `${q.rows.postgres}/${q.rows.clickhouse}`), msText(q.postgresMs.median), msText(q.clickhouseMs.median), ratioText(q.ratio), q.identical ? "yes" : "NO"]);
  }
  lines.push(table(rows));
  lines.push("");
  const pg = r.storage.postgres;
  const ch = r.storage.clickhouse;
  lines.push(table([
    ["STORAGE", "ON DISK", "WHAT IT COUNTS"],
    ["Postgres", mib(pg.bytes), `pg_total_relation_size(${r.design.postgresTable}): table ${mib(pg.tableBytes)} + indexes ${mib(pg.indexBytes)} (${Object.entries(pg.indexes).map(([k, v]) => `${k} ${mib(v)}`).join(", ")})`],
    ["ClickHouse, every host", mib(ch.bytesAllHosts), `system.parts bytes_on_disk over all ${ch.hosts.length} hosts: ${ch.countsReplicas ? `counts each of the ${ch.replicas} replicas' copies` : "one copy (no replicas)"}, ${ch.hosts.reduce((s, h) => s + h.parts, 0)} active parts`],
    ["ClickHouse, one copy", mib(ch.bytesOneCopy), `the first replica of each shard: ${ratioText(pg.bytes / Math.max(1, ch.bytesOneCopy))} smaller than Postgres`],
  ], ["left", "right", "left"]));
  lines.push("");
  const l = r.load;
  if (l.reused) lines.push(`load: ${l.reason}`);
  else {
    lines.push(`load: ${l.reason}`);
    if (l.clickhouse) lines.push(`  clickhouse: ${(l.clickhouse.ms / 1000).toFixed(1)} s (${Math.round(l.clickhouse.rowsPerSecond).toLocaleString("en-US")} rows/s, ${l.clickhouse.format} through the Distributed table), replica sync ${(l.clickhouse.syncMs / 1000).toFixed(1)} s, OPTIMIZE FINAL ${(l.clickhouse.optimizeMs / 1000).toFixed(1)} s`);
    if (l.postgres) {
      const idx = Object.values(l.postgres.indexMs).reduce((s, v) => s + v, 0);
      lines.push(`  postgres:   ${(l.postgres.copyMs / 1000).toFixed(1)} s COPY (${Math.round(l.postgres.rowsPerSecond).toLocaleString("en-US")} rows/s), ${(idx / 1000).toFixed(1)} s indexes, ${(l.postgres.vacuumMs / 1000).toFixed(1)} s VACUUM ANALYZE`);
    }
  }
  if (r.identical) lines.push(`every query returned the same rows on both databases`);
  else for (const q of r.queries.filter((x) => !x.identical)) lines.push(`DIFFERENT: ${q.difference}`);
  return lines.join("\n");
}
