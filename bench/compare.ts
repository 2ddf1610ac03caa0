// Benchmark: `chstack compare` at one or more sizes on a 2x2 loopback stack of its own (ClickHouse 18.16,
// ZooKeeper, Postgres 15): the same events in both databases, the same queries on both, side by side in one
// run. Prints the machine, the inputs, and per size each query's median on both with the ratio, the storage
// each uses and the load times.
//
// Run: node --import tsx bench/compare.ts
//   BENCH_COMPARE_EVENTS=10000000                 one size (the default: 10M)
//   BENCH_COMPARE_SWEEP=100000,1000000,10000000   several sizes, smallest first
//   BENCH_COMPARE_RUNS=5                          timed runs per query and database (after one warm-up)
//   BENCH_COMPARE_BUDGET_S=3600                   skip a size whose load would not finish in this time
// Stack bench-compare on ports 32400-32431 in a temporary directory, stopped and removed after.
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseStackFile } from "../infra/config/load.ts";
import { down } from "../infra/loopback/down.ts";
import { up } from "../infra/loopback/up.ts";
import { mib, ratioText, table } from "../compare/format.ts";
import { progress } from "../compare/progress.ts";
import { runCompare, type CompareResult } from "../compare/run.ts";

/** Disk a load takes, per event, measured at 1M (docs/compare.md): Postgres about 680 B with its indexes, ClickHouse about 200 B over 4 hosts; with room for WAL and index builds. */
export const BYTES_PER_EVENT = 1500;
const SPARE_BYTES = 2 * 2 ** 30;

export interface SizePlan {
  readonly run: readonly number[];
  /** Sizes left out, each with why. */
  readonly skipped: readonly { readonly events: number; readonly why: string }[];
}

/** The sizes that fit on the disk (free bytes), smallest first. */
export function planSizes(sizes: readonly number[], freeBytes: number): SizePlan {
  const run: number[] = [];
  const skipped: { events: number; why: string }[] = [];
  for (const n of [...new Set(sizes)].sort((a, b) => a - b)) {
    const need = n * BYTES_PER_EVENT + SPARE_BYTES;
    if (need > freeBytes) skipped.push({ events: n, why: `needs about ${mib(need)} of disk (${BYTES_PER_EVENT} B per event and 2 GiB spare), ${mib(freeBytes)} free` });
    else run.push(n);
  }
  return { run, skipped };
}

export function sizesFromEnv(env: NodeJS.ProcessEnv = process.env): number[] {
  const parse = (s: string) => {
    const n = Number(s.trim().replace(/_/g, ""));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a number of events: ${s}`);
    return n;
  };
  if (env.BENCH_COMPARE_SWEEP) return env.BENCH_COMPARE_SWEEP.split(",").map(parse);
  return [parse(env.BENCH_COMPARE_EVENTS ?? "10000000")];
}

export interface CompareBench {
  readonly results: readonly CompareResult[];
  readonly skipped: readonly { readonly events: number; readonly why: string }[];
  readonly upMs: number;
}

export async function compareBench(opts: { sizes?: readonly number[]; runs?: number; budgetSeconds?: number; log?: (line: string) => void } = {}): Promise<CompareBench> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const stack = "bench-compare";
  const cwd = mkdtempSync(join(tmpdir(), "chstack-bench-compare-"));
  const yaml = "config:\n  chstack:clickhouse:\n    cluster: posthog\n    shards: 2\n    replicas: 2\n  chstack:coordination:\n    size: 1\n  chstack:loopback:\n    portBase: 32400\n";
  writeFileSync(join(cwd, `Pulumi.${stack}.yaml`), yaml);
  const config = parseStackFile(yaml, "bench");
  const budget = (opts.budgetSeconds ?? Number(process.env.BENCH_COMPARE_BUDGET_S ?? 3600)) * 1000;
  const free = statfsSync(cwd).bavail * statfsSync(cwd).bsize;
  const plan = planSizes(opts.sizes ?? sizesFromEnv(), free);
  const skipped = [...plan.skipped];
  const results: CompareResult[] = [];
  try {
    const u0 = performance.now();
    await up({ stack, config, cwd, log: () => undefined });
    const upMs = performance.now() - u0;
    let perEventMs: number | undefined;
    for (const events of plan.run) {
      const estimate = perEventMs === undefined ? 0 : perEventMs * events;
      if (estimate > budget) {
        skipped.push({ events, why: `its load would take about ${(estimate / 60_000).toFixed(0)} min at the rate of the last size, over the ${(budget / 60_000).toFixed(0)} min budget (BENCH_COMPARE_BUDGET_S)` });
        continue;
      }
      log(`\n== ${events.toLocaleString("en-US")} events`);
      const t0 = performance.now();
      const r = await runCompare({
        stack, config, cwd, events, runs: opts.runs ?? Number(process.env.BENCH_COMPARE_RUNS ?? 5), log,
        progress: (label, total) => progress(label, total, process.stdout),
      });
      perEventMs = (performance.now() - t0) / events;
      results.push(r);
    }
    return { results, skipped, upMs };
  } finally {
    await down({ stack, cwd, purge: true, log: () => undefined });
    rmSync(cwd, { recursive: true, force: true });
  }
}

export function formatBench(b: CompareBench): string {
  const lines: string[] = [];
  const first = b.results[0];
  lines.push(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  if (first) {
    lines.push(`inputs: stack bench-compare, ClickHouse ${first.versions.clickhouse} ${first.cluster.shards} shards x ${first.cluster.replicas} replicas, Postgres ${first.versions.postgres}; seed ${first.seed}, 90 days before ${first.reference}; queries on team ${first.team} (the largest), median of ${first.timing.runs} runs after 1 warm-up, each database in turn`);
  }
  for (const s of b.skipped) lines.push(`skipped ${s.events.toLocaleString("en-US")} events: ${s.why}`);
  if (b.results.length === 0) return lines.join("\n");
  lines.push("");
  const sizes = b.results.map((r) => r.events.toLocaleString("en-US"));
  const header = ["query (ms: Postgres / ClickHouse = ratio)", ...sizes];
  const rows: string[][] = [header];
  for (const [i, q] of first!.queries.entries()) {
    rows.push([q.title, ...b.results.map((r) => {
      const x = r.queries[i]!;
      return `${x.postgresMs.median.toFixed(0)} / ${x.clickhouseMs.median.toFixed(1)} = ${ratioText(x.ratio)}${x.identical ? "" : " DIFFERENT"}`;
    })]);
  }
  rows.push(["lowest ratio", ...b.results.map((r) => ratioText(Math.min(...r.queries.map((q) => q.ratio))))]);
  rows.push(["same results on both", ...b.results.map((r) => (r.identical ? "yes" : "NO"))]);
  rows.push(["Postgres on disk (table + indexes)", ...b.results.map((r) => mib(r.storage.postgres.bytes))]);
  rows.push(["ClickHouse on disk, all 4 hosts (2 replicas)", ...b.results.map((r) => mib(r.storage.clickhouse.bytesAllHosts))]);
  rows.push(["ClickHouse on disk, one copy", ...b.results.map((r) => mib(r.storage.clickhouse.bytesOneCopy))]);
  rows.push(["Postgres / ClickHouse one copy", ...b.results.map((r) => ratioText(r.storage.postgres.bytes / r.storage.clickhouse.bytesOneCopy))]);
  const load = (r: CompareResult, f: (l: NonNullable<CompareResult["load"]["postgres"]>, c: NonNullable<CompareResult["load"]["clickhouse"]>) => string) =>
    r.load.postgres && r.load.clickhouse ? f(r.load.postgres, r.load.clickhouse) : "reused";
  rows.push(["ClickHouse load s (rows/s)", ...b.results.map((r) => load(r, (_, c) => `${(c.ms / 1000).toFixed(1)} (${Math.round(c.rowsPerSecond).toLocaleString("en-US")})`))]);
  rows.push(["Postgres COPY s (rows/s)", ...b.results.map((r) => load(r, (p) => `${(p.copyMs / 1000).toFixed(1)} (${Math.round(p.rowsPerSecond).toLocaleString("en-US")})`))]);
  rows.push(["Postgres indexes + VACUUM ANALYZE s", ...b.results.map((r) => load(r, (p) => ((Object.values(p.indexMs).reduce((a, v) => a + v, 0) + p.vacuumMs) / 1000).toFixed(1)))]);
  lines.push(table(rows));
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const b = await compareBench();
  console.log(`\n${formatBench(b)}`);
  if (b.results.some((r) => !r.identical)) process.exitCode = 1;
}
