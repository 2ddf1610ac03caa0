// Benchmark: what a schema apply costs on a real 2x2 loopback stack (ClickHouse 18.16) of its own, and how
// long each command takes to start.
// Prints the machine, the inputs and the timings measured in this one run, with ratios.
// Run: npm run bench   (starts stack bench-2x2 on ports 32000-32031 in a temporary directory, stops it after;
// then bench-catchup, bench-ingest and bench-compare, each a stack of its own). BENCH_ONLY=schema,catchup,
// ingest,compare picks sections; BENCH_INGEST_EVENTS, BENCH_COMPARE_EVENTS / BENCH_COMPARE_SWEEP size them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseStackFile } from "../infra/config/load.ts";
import { down } from "../infra/loopback/down.ts";
import { closeAll, connectAll } from "../infra/loopback/schema.ts";
import { readSecrets } from "../infra/loopback/secrets.ts";
import { secretsFile } from "../infra/loopback/state.ts";
import { up } from "../infra/loopback/up.ts";
import { apply, observe } from "../schema/apply.ts";
import { posthogSchema } from "../schema/posthog.ts";
import { commandStarts } from "./cli-start.ts";
import { benchDeclaration, onCluster, ours } from "./on-cluster.ts";
import { posthogFullSchema } from "../schema/posthog-full.ts";
import { catchUpBench } from "./catch-up.ts";
import { compareBench, formatBench } from "./compare.ts";
import { ingestBench } from "./ingest.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** BENCH_ONLY=schema,catchup,ingest,compare runs those sections (default: all, in that order). */
const ONLY = new Set((process.env.BENCH_ONLY ?? "schema,catchup,ingest,compare").split(",").map((x) => x.trim()));
const section = (name: string) => ONLY.has(name);
const INGEST_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 500_000);

const START_RUNS = Number(process.env.BENCH_START_RUNS ?? 7);
const ON_CLUSTER_TABLES = Number(process.env.BENCH_TABLES ?? 20);
const CATCHUP_ROWS = Number(process.env.BENCH_CATCHUP_ROWS ?? 10_000_000);
const stack = "bench-2x2";
const cwd = mkdtempSync(join(tmpdir(), "chstack-bench-"));
const yaml = "config:\n  chstack:clickhouse:\n    cluster: posthog\n    shards: 2\n    replicas: 2\n  chstack:loopback:\n    portBase: 32000\n";
writeFileSync(join(cwd, `Pulumi.${stack}.yaml`), yaml);
const config = parseStackFile(yaml, "bench");

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]! };
};

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
};

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; sections: ${[...ONLY].join(", ")}`);
try {
  if (section("schema")) await schemaSection();
} finally {
  await down({ stack, cwd, purge: true, log: () => undefined });
  rmSync(cwd, { recursive: true, force: true });
}
// Each of the following on a stack of its own, once the one before is gone: the machine is not shared.
if (section("catchup")) {
  const c = await catchUpBench(CATCHUP_ROWS);
  console.log("");
  console.log(`a new replica of a shard holding ${c.rows} rows (${(c.bytes / 2 ** 20).toFixed(0)} MiB on disk, written in ${(c.insertMs / 1000).toFixed(1)} s), 1 -> 2 replicas`);
  table([
    ["measure", "s", "ratio to the copy"],
    ["copy of the shard's data directory (cp -a, then sync; same disk)", (c.copyMs / 1000).toFixed(1), "1.0"],
    ["catch-up: the new replica's fetch until it matches its peer", (c.catchUpMs / 1000).toFixed(1), (c.catchUpMs / c.copyMs).toFixed(1)],
    ["the whole `up` (start, schema, catch-up, publish)", (c.upMs / 1000).toFixed(1), (c.upMs / c.copyMs).toFixed(1)],
  ]);
}
if (section("ingest")) {
  const i = await ingestBench(INGEST_EVENTS);
  const rate = (n: number, secs: number) => Math.round(n / secs).toLocaleString("en-US");
  console.log("");
  console.log(`ingest of ${i.events} generated events into writable_events (2x2, synchronous through the Distributed table, load average ${loadavg()[0]!.toFixed(2)}), each way counted after`);
  table([
    ["how", "s", "events/s", "rows present", "ratio"],
    ["native INSERT, TabSeparated, 4 x 50k rows in flight", i.native.seconds.toFixed(1), rate(i.events, i.native.seconds), String(i.native.rows), "1.0"],
    ["the app's /batch/ (1000 events a request, 8 in flight; answered once written)", i.app.seconds.toFixed(1), rate(i.app.accepted, i.app.seconds), String(i.app.rows), (i.app.seconds / i.native.seconds).toFixed(1)],
  ]);
}
if (section("compare")) {
  console.log("");
  const b = await compareBench({ log: () => undefined });
  console.log(formatBench(b));
  if (b.results.some((r) => !r.identical)) process.exitCode = 1;
}

/** The schema apply, no-op plans, ON CLUSTER against per host, and command start times, on bench-2x2. */
async function schemaSection(): Promise<void> {
  const startUp = process.hrtime.bigint();
  const { topology: t } = await up({ stack, config, cwd, log: () => undefined });
  const upMs = ms(startUp);
  const secrets = readSecrets(secretsFile(stack, cwd))!;
  const conns = connectAll(t, secrets);
  const decl = posthogSchema("posthog");

  const first = process.hrtime.bigint();
  const created = await apply(decl, t, conns);
  const firstMs = ms(first);
  if (!created.converged) throw new Error("the first apply did not converge");

  const noop: number[] = [];
  const introspection: number[] = [];
  const seen = (await observe(t, conns)).get(t.hosts[0]!.name)!;
  const version = seen.ok ? seen.state.version : "unknown";
  for (let i = 0; i < RUNS; i++) {
    let s = process.hrtime.bigint();
    const r = await apply(decl, t, conns);
    noop.push(ms(s));
    if (r.plan.tasks.length !== 0) throw new Error("a no-op apply planned statements");
    s = process.hrtime.bigint();
    await observe(t, conns);
    introspection.push(ms(s));
  }
  // PostHog's own tables: their first apply, and a no-op plan of them.
  const fullDecl = posthogFullSchema("posthog_full");
  const full = await ours(fullDecl, t, conns);
  const fullNoop: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = process.hrtime.bigint();
    const r = await apply(fullDecl, t, conns);
    fullNoop.push(ms(s));
    if (r.plan.tasks.length !== 0) throw new Error("a no-op apply of PostHog's tables planned statements");
  }
  // The same tables two ways, each into a fresh database of this stack.
  const mine = await ours(benchDeclaration("bench_per_host", ON_CLUSTER_TABLES), t, conns);
  const queued = await onCluster(benchDeclaration("bench_on_cluster", ON_CLUSTER_TABLES), t, conns.get(t.hosts[0]!.name)!);
  await closeAll(conns);
  const starts = commandStarts(cwd, stack, START_RUNS);

  const n = stats(noop);
  const o = stats(introspection);
  console.log(`inputs: ClickHouse ${version}, stack ${stack}, ${t.shards.length} shards x ${t.shards[0]!.hosts.length} replicas, PostHog declaration (${decl.tables.length} tables), ${RUNS} no-op runs`);
  console.log("");
  const rows = [
    ["measure", "median ms", "p90 ms", "min ms", "ratio to introspection"],
    ["up from nothing (4 ClickHouse, ZooKeeper, Postgres)", upMs.toFixed(0), "", "", ""],
    [`first apply (${created.plan.tasks.length} statements)`, firstMs.toFixed(1), "", "", (firstMs / o.median).toFixed(1)],
    ["no-op apply (plan, nothing to run)", n.median.toFixed(1), n.p90.toFixed(1), n.min.toFixed(1), (n.median / o.median).toFixed(2)],
    ["introspection of all hosts (1 round trip each, parallel)", o.median.toFixed(1), o.p90.toFixed(1), o.min.toFixed(1), "1.00"],
    [`PostHog's own tables (schema/posthog-full.ts): first apply (${full.statements} statements)`, full.ms.toFixed(1), "", "", (full.ms / o.median).toFixed(1)],
    ["PostHog's own tables: no-op apply", stats(fullNoop).median.toFixed(1), stats(fullNoop).p90.toFixed(1), stats(fullNoop).min.toFixed(1), (stats(fullNoop).median / o.median).toFixed(2)],
  ];
  table(rows);
  console.log("");
  console.log(`first apply of ${ON_CLUSTER_TABLES} tables (${ON_CLUSTER_TABLES / 2} replicated, ${ON_CLUSTER_TABLES / 2} Distributed), each way into a fresh database of this stack`);
  table([
    ["how", "statements", "ms", "ratio"],
    ["ON CLUSTER through the distributed DDL queue, from one host", String(queued.statements), queued.ms.toFixed(0), (queued.ms / mine.ms).toFixed(1)],
    ["per host (chstack schema apply, hosts in parallel)", String(mine.statements), mine.ms.toFixed(0), "1.0"],
  ]);
  console.log("");
  console.log(`command start and finish, wall time, median of ${START_RUNS} (load average ${loadavg()[0]!.toFixed(2)})`);
  const floor = starts[0]!.medianMs;
  table([["command", "median ms", "ratio to node -e 0"], ...starts.map((r) => [r.label, r.medianMs.toFixed(0), (r.medianMs / floor).toFixed(1)])]);
}
