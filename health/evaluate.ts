// The health rules: facts in, checks and a verdict out. Pure (no I/O, no clock), so every rule is unit-tested
// (test/unit/health-evaluate.test.ts) and reads the same on loopback and in the cluster. docs/health.md
// lists the rules; keep the two together.
import {
  DEFAULT_THRESHOLDS, EXIT_CODES, type Check, type ClickHouseFacts, type HealthFacts, type HealthReport, type ReplicaGroupRows,
  type Thresholds, type Verdict,
} from "./facts.ts";

/** ZooKeeper modes that count towards a quorum (an observer serves but does not vote). */
const VOTING = new Set(["leader", "follower", "standalone"]);

/** Checks whose failure makes the stack down, not only degraded. */
const DOWN_CHECKS = new Set(["clickhouse.any", "zookeeper.quorum"]);

export function evaluate(f: HealthFacts, th: Thresholds = DEFAULT_THRESHOLDS): HealthReport {
  const checks: Check[] = [];
  const add = (id: string, subject: string, status: Check["status"], reason: string) => checks.push({ id, subject, status, reason });

  // ClickHouse, per host.
  const reachable = f.clickhouse.filter((h) => h.reachable);
  if (f.clickhouse.length > 0) {
    if (reachable.length === 0) add("clickhouse.any", "clickhouse", "fail", `ClickHouse: no host answers (${f.clickhouse.length} of ${f.clickhouse.length} down)`);
    else add("clickhouse.any", "clickhouse", "ok", `ClickHouse: ${reachable.length} of ${f.clickhouse.length} hosts answer`);
  }
  const schemaOf = new Map((f.schema?.hosts ?? []).map((s) => [s.host, s]));
  for (const h of f.clickhouse) {
    if (!h.reachable) {
      add("clickhouse.up", h.host, "fail", `${h.host}: down (${h.error ?? "no answer"})`);
      continue;
    }
    add("clickhouse.up", h.host, "ok", `${h.host}: up${h.version ? `, ${h.version}` : ""}`);
    const replicas = h.replicas ?? [];
    const readonly = replicas.filter((r) => r.isReadonly).map((r) => r.table);
    add("clickhouse.readonly", h.host, readonly.length ? "fail" : "ok",
      readonly.length ? `${h.host}: read-only replica of ${list(readonly)}` : `${h.host}: no read-only replica`);
    const expired = replicas.filter((r) => r.isSessionExpired).map((r) => r.table);
    const noSession = h.zookeeperSessions === 0 && replicas.length > 0;
    add("clickhouse.zookeeper-session", h.host, expired.length || noSession ? "fail" : "ok",
      expired.length ? `${h.host}: ZooKeeper session expired (${list(expired)})`
        : noSession ? `${h.host}: no ZooKeeper session (it holds ${replicas.length} replicated table(s))` : `${h.host}: ZooKeeper session alive`);
    const longest = maxBy(replicas, (r) => r.queueSize);
    add("clickhouse.queue", h.host, longest && longest.queueSize > th.maxQueue ? "warn" : "ok",
      longest && longest.queueSize > th.maxQueue
        ? `${h.host}: replication queue of ${longest.table} holds ${longest.queueSize} entries (more than ${th.maxQueue})`
        : `${h.host}: replication queues at most ${longest?.queueSize ?? 0}`);
    const behind = maxBy(replicas, (r) => r.absoluteDelay);
    add("clickhouse.delay", h.host, behind && behind.absoluteDelay > th.maxDelaySeconds ? "warn" : "ok",
      behind && behind.absoluteDelay > th.maxDelaySeconds
        ? `${h.host}: ${behind.table} is ${behind.absoluteDelay} s behind (more than ${th.maxDelaySeconds} s)`
        : `${h.host}: replicas at most ${behind?.absoluteDelay ?? 0} s behind`);
    const failing = h.replicationErrors ?? [];
    add("clickhouse.replication", h.host, failing.length ? "warn" : "ok", failing.length
      ? `${h.host}: replication failing on ${failing.map((e) => `${e.table} (${e.entries} entr${e.entries === 1 ? "y" : "ies"})`).join(", ")}: ${clip(failing[0]!.lastException)}`
      : `${h.host}: no failing replication entry`);
    if (h.disk?.writeError) {
      add("clickhouse.disk", h.host, "fail", `${h.host}: data disk not writable (${h.disk.writeError})`);
    } else if (h.disk && h.disk.total > 0) {
      const ratio = h.disk.free / h.disk.total;
      add("clickhouse.disk", h.host, ratio < th.minFreeDiskRatio ? "warn" : "ok",
        `${h.host}: ${ratio < th.minFreeDiskRatio ? "disk nearly full: " : ""}${bytes(h.disk.free)} free of ${bytes(h.disk.total)} (${Math.floor(ratio * 100)}%)`);
    } else {
      add("clickhouse.disk", h.host, "skip", `${h.host}: free disk space unknown`);
    }
    const s = schemaOf.get(h.host);
    if (!f.schema || f.schema.error) add("clickhouse.schema", h.host, "skip", `${h.host}: schema not checked`);
    else if (!s || !s.reachable) add("clickhouse.schema", h.host, "skip", `${h.host}: schema not introspected`);
    else if (s.pending > 0 || s.drift > 0) {
      const what = [s.pending ? `${s.pending} statement(s) pending` : "", s.drift ? `${s.drift} drift` : ""].filter(Boolean).join(", ");
      add("clickhouse.schema", h.host, "fail", `${h.host}: schema differs from declaration ${f.schema.declarationHash}: ${what}${s.details.length ? ` (${s.details[0]})` : ""}`);
    } else add("clickhouse.schema", h.host, "ok", `${h.host}: schema matches declaration ${f.schema.declarationHash}`);
  }

  if (f.schema?.error) add("schema.plan", "schema", "fail", `schema: not compared with the declaration (${f.schema.error})`);

  // Rows of each replicated table, per replication group.
  const rows = replicaGroupRows(f.clickhouse);
  for (const g of rows) {
    const subject = `${g.table} ${g.group}`;
    add("rows.replicas", subject, g.disagree ? "warn" : "ok", g.disagree
      ? `${subject}: replicas disagree on rows with nothing queued (${g.replicas.map((r) => `${r.host} ${r.rows}`).join(", ")})`
      : `${subject}: ${g.replicas.map((r) => r.rows).join(" / ")} rows`);
  }

  // ZooKeeper (or Keeper), per node, and its quorum.
  const zkName = f.coordination === "keeper" ? "Keeper" : "ZooKeeper";
  for (const z of f.zookeeper) {
    if (!z.reachable) add("zookeeper.node", z.node, "fail", `${z.node}: down (${z.error ?? "no answer"})`);
    else if (!z.mode) add("zookeeper.node", z.node, "fail", `${z.node}: answers but does not serve requests${z.error ? ` (${z.error})` : ""}`);
    else add("zookeeper.node", z.node, "ok", `${z.node}: ${z.mode}`);
  }
  if (f.zookeeper.length > 0) {
    const serving = f.zookeeper.filter((z) => z.reachable && z.mode && VOTING.has(z.mode)).length;
    const need = Math.floor(f.zookeeper.length / 2) + 1;
    add("zookeeper.quorum", zkName, serving >= need ? "ok" : "fail", serving >= need
      ? `${zkName}: ${serving} of ${f.zookeeper.length} node(s) serving`
      : serving === 0 && f.zookeeper.every((z) => !z.reachable)
        ? `${zkName}: all ${f.zookeeper.length} node(s) down`
        : `${zkName}: no quorum (${serving} of ${f.zookeeper.length} node(s) serving, ${need} needed)`);
  }

  if (f.postgres.checked) {
    add("postgres.up", "postgres", f.postgres.reachable ? "ok" : "fail",
      f.postgres.reachable ? `postgres: up${f.postgres.version ? `, ${f.postgres.version}` : ""}` : `postgres: down (${f.postgres.error ?? "no answer"})`);
  }
  if (f.app.checked) {
    add("app.ready", "app", f.app.ready ? "ok" : "fail",
      f.app.ready ? `app: ready (${f.app.url}/readyz)` : `app: not ready (${f.app.error ?? `/readyz answered ${f.app.status}`})`);
  }

  const down = checks.filter((c) => DOWN_CHECKS.has(c.id) && c.status === "fail");
  const failed = checks.filter((c) => c.status === "fail" && !DOWN_CHECKS.has(c.id));
  const warned = checks.filter((c) => c.status === "warn");
  const verdict: Verdict = down.length ? "down" : failed.length || warned.length ? "degraded" : "healthy";
  const reasons = [...down, ...failed, ...warned].map((c) => c.reason);
  return { verdict, exitCode: EXIT_CODES[verdict], summary: summaryLine(verdict, f, reasons, down.map((c) => c.reason)), reasons, checks, thresholds: th, rows, facts: f };
}

/**
 * What the schema Job refuses to apply on: a down verdict, or any replica that is read-only or without its
 * ZooKeeper session (a replicated ALTER or CREATE would fail or hang there). Empty: go ahead.
 */
export function applyBlockers(r: HealthReport): string[] {
  const blocking = (c: Check) => c.status === "fail" && (DOWN_CHECKS.has(c.id) || c.id === "clickhouse.readonly" || c.id === "clickhouse.zookeeper-session");
  return r.checks.filter(blocking).map((c) => c.reason);
}

/** Replicated tables grouped by ZooKeeper path (a shard, or every host for a `noshard` table), with each replica's rows. */
export function replicaGroupRows(hosts: readonly ClickHouseFacts[]): ReplicaGroupRows[] {
  const groups = new Map<string, { table: string; members: { host: ClickHouseFacts; rows: number; queue: number; logLag?: number }[] }>();
  for (const h of hosts) {
    if (!h.reachable) continue;
    for (const r of h.replicas ?? []) {
      const g = groups.get(r.zookeeperPath) ?? { table: r.table, members: [] };
      g.members.push({ host: h, rows: h.tableRows?.[r.table] ?? 0, queue: r.queueSize, logLag: r.logLag });
      groups.set(r.zookeeperPath, g);
    }
  }
  const out: ReplicaGroupRows[] = [];
  for (const [path, g] of groups) {
    const members = [...g.members].sort((a, b) => a.host.shard - b.host.shard || a.host.replica - b.host.replica);
    const shards = new Set(members.map((m) => m.host.shard));
    const shard = shards.size === 1 ? members[0]!.host.shard : null;
    const differ = new Set(members.map((m) => m.rows)).size > 1;
    // Rows still on their way (queued, or in the log not yet pulled) excuse a difference; an unknown log position does too.
    const settled = members.every((m) => m.queue === 0 && m.logLag === 0);
    out.push({
      table: g.table, zookeeperPath: path, group: shard === null ? "every host" : `shard ${shard}`, shard,
      replicas: members.map((m) => ({ host: m.host.host, rows: m.rows, queue: m.queue })),
      disagree: members.length > 1 && differ && settled,
    });
  }
  return out.sort((a, b) => a.table.localeCompare(b.table) || (a.shard ?? -1) - (b.shard ?? -1));
}

function summaryLine(verdict: Verdict, f: HealthFacts, reasons: readonly string[], down: readonly string[]): string {
  if (verdict === "down") return `down: ${down.join("; ")}`;
  if (verdict === "degraded") return `degraded: ${reasons[0]}${reasons.length > 1 ? ` (and ${reasons.length - 1} more)` : ""}`;
  const parts = [`${f.clickhouse.length} ClickHouse host(s) up`];
  if (f.zookeeper.length) {
    const modes = [...new Set(f.zookeeper.map((z) => z.mode))].join("/");
    parts.push(`${f.coordination === "keeper" ? "Keeper" : "ZooKeeper"} ${modes}`);
  }
  if (f.postgres.checked) parts.push("Postgres up");
  if (f.app.checked) parts.push("app ready");
  if (f.schema) parts.push(`schema ${f.schema.declarationHash} on every host`);
  return `healthy: ${parts.join(", ")}`;
}

function maxBy<T>(items: readonly T[], key: (t: T) => number): T | undefined {
  let best: T | undefined;
  for (const i of items) if (best === undefined || key(i) > key(best)) best = i;
  return best;
}

/** A server's exception, short enough for one line of the report. */
const clip = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
};

const list = (names: readonly string[]) => (names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", "));

/** 1.2 GiB, 340 MiB, 12 KiB, 5 B. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
