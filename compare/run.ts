// `chstack compare`: load the same events into ClickHouse and Postgres on a running loopback stack, run the
// same analytics queries on both side by side, check that both return the same rows, and report timings
// and storage. The library behind the command and the benchmark.
import { join } from "node:path";
import lockfile from "proper-lockfile";
import type { StackConfig } from "../infra/config/schema.ts";
import { loopbackHosts } from "../infra/loopback/hosts.ts";
import { readSecrets } from "../infra/loopback/secrets.ts";
import { readState, secretsFile, stateDir } from "../infra/loopback/state.ts";
import { status } from "../infra/loopback/status.ts";
import type { Topology } from "../infra/model/topology.ts";
import {
  applyClickHouse, CH_EVENTS, DISTINCT_ID_HASH, optimizeClickHouse, clickhouseBrowser, clickhouseCount, clickhouseLayout, clickhouseMatches, clickhouseStorage,
  clickhouseVersion, dropClickHouse, loadClickHouse, openClickHouse, rows as chRows, runningMerges, syncReplicas,
  type BrowserDesign, type ClickHouseSide, type ClickHouseStorage,
} from "./clickhouse.ts";
import type { ClickHouseFormat } from "./encode.ts";
import { EventGenerator, GENERATOR_VERSION, isUtcMidnight, TEAMS } from "./events.ts";
import {
  dropPostgres, loadPostgres, openPostgres, PG_EVENTS, postgresBrowser, postgresCount, postgresLayout, postgresStorage,
  postgresVersion, QUERY_SETTINGS, readLoadRecord, writeLoadRecord, type PostgresStorage,
} from "./postgres.ts";
import type { Progress } from "./progress.ts";
import { compareRows, describeDifference, median, normalizeRows, type Comparison } from "./results.ts";
import { compareQueries, type CompareQuery } from "./sql.ts";
import type pg from "pg";

/** The default reference date: fixed, so that a rerun reuses the load and reports the same numbers. */
export const DEFAULT_REFERENCE = new Date("2025-06-01T00:00:00Z");
export const DEFAULT_SEED = 1;
export const DEFAULT_RUNS = 5;
export const MAX_EVENTS = 100_000_000;
/** The event the daily counts and the breakdown look at. */
export const QUERY_EVENT = "$pageview";
/** Events generated and encoded at a time: small enough that they die young (16k at a time is 4x slower in GC). */
const CHUNK_ROWS = 1024;

export class StackNotRunning extends Error {
  readonly code = "STACK_NOT_RUNNING";
}

export interface CompareOptions {
  readonly stack: string;
  readonly config: StackConfig;
  /** The project directory holding `.chstack/<stack>/` (default: the current directory). */
  readonly cwd?: string;
  readonly events: number;
  readonly seed?: number;
  readonly reference?: Date;
  /** Timed runs per query and database, after one warm-up (default 5): the median is reported. */
  readonly runs?: number;
  /** Load again even if the same load is in place. */
  readonly reload?: boolean;
  readonly browser?: BrowserDesign;
  readonly format?: ClickHouseFormat;
  readonly rowsPerInsert?: number;
  /** Progress and what is being done. */
  readonly log: (line: string) => void;
  readonly progress: (label: string, total: number) => Progress;
}

export interface Timing {
  readonly median: number;
  readonly runs: readonly number[];
}

export interface QueryOutcome {
  readonly id: string;
  readonly title: string;
  readonly identical: boolean;
  /** One line naming the first differing row, when the results differ. */
  readonly difference?: string;
  readonly rows: { readonly postgres: number; readonly clickhouse: number };
  readonly postgresMs: Timing;
  readonly clickhouseMs: Timing;
  /** Postgres median / ClickHouse median: how many times faster ClickHouse is. */
  readonly ratio: number;
  readonly sql: { readonly clickhouse: string; readonly postgres: string; readonly postgresValues: readonly (string | number)[] };
}

export interface LoadOutcome {
  readonly reused: boolean;
  /** Why it was reused, or why it was loaded. */
  readonly reason: string;
  readonly loadedAt: string;
  /** Present when this run loaded. */
  readonly clickhouse?: { readonly ms: number; readonly rowsPerSecond: number; readonly format: ClickHouseFormat; readonly syncMs: number; readonly optimizeMs: number; readonly statements: number };
  readonly postgres?: { readonly copyMs: number; readonly rowsPerSecond: number; readonly indexMs: Readonly<Record<string, number>>; readonly vacuumMs: number };
}

export interface CompareResult {
  readonly stack: string;
  readonly cluster: { readonly name: string; readonly shards: number; readonly replicas: number };
  readonly versions: { readonly clickhouse: string; readonly postgres: string };
  readonly events: number;
  readonly seed: number;
  readonly reference: string;
  readonly team: number;
  readonly event: string;
  readonly design: { readonly browser: BrowserDesign; readonly clickhouseTable: string; readonly postgresTable: string };
  readonly load: LoadOutcome;
  readonly timing: { readonly warmups: 1; readonly runs: number; readonly statistic: "median" };
  readonly queries: readonly QueryOutcome[];
  /** Every query returned the same rows on both. */
  readonly identical: boolean;
  readonly storage: {
    readonly postgres: PostgresStorage;
    readonly clickhouse: ClickHouseStorage & { readonly countsReplicas: boolean };
  };
}

/** The stack's topology and credentials, if every server is up; else why not. */
export function runningStack(stack: string, config: StackConfig, cwd?: string): { t: Topology; secrets: NonNullable<ReturnType<typeof readSecrets>> } {
  const hint = `start it with \`./chstack up --stack ${stack}\` first`;
  const st = status({ stack, config, cwd });
  const notUp = st.hosts.filter((h) => h.state !== "up" || h.wanted === false || h.published === false);
  if (notUp.length === st.hosts.length) throw new StackNotRunning(`stack ${stack} is not running: ${hint}`);
  if (notUp.length > 0) throw new StackNotRunning(`stack ${stack} is not fully up (${notUp.map((h) => `${h.name} ${h.state}`).join(", ")}): ${hint}`);
  const secrets = readSecrets(secretsFile(stack, cwd));
  if (!secrets) throw new StackNotRunning(`stack ${stack} has no credentials: ${hint}`);
  const t = loopbackHosts(config, stack, readState(stateDir(stack, cwd))).topology;
  return { t, secrets };
}

/** One compare run at a time per stack (another `up` or `down` is not held up). */
async function withCompareLock<T>(stack: string, cwd: string | undefined, fn: () => Promise<T>): Promise<T> {
  const dir = stateDir(stack, cwd);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, { lockfilePath: join(dir, "compare.lock"), stale: 30_000, update: 5_000, retries: 0 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOCKED") throw new Error(`another compare is running on stack ${stack} (${join(dir, "compare.lock")})`);
    throw e;
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

export function validateOptions(o: Pick<CompareOptions, "events" | "seed" | "reference" | "runs">): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(o.events) || o.events < 1 || o.events > MAX_EVENTS) problems.push(`--events must be an integer from 1 to ${MAX_EVENTS}, got ${o.events}`);
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)) problems.push(`--seed must be an integer from 0 to 4294967295, got ${o.seed}`);
  if (o.reference !== undefined && !isUtcMidnight(o.reference)) problems.push("--reference must be a day, YYYY-MM-DD");
  if (o.runs !== undefined && (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 100)) problems.push(`--runs must be an integer from 1 to 100, got ${o.runs}`);
  return problems;
}

const ms = (from: number) => performance.now() - from;

export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  const problems = validateOptions(o);
  if (problems.length > 0) throw new Error(problems.join("; "));
  const { t, secrets } = runningStack(o.stack, o.config, o.cwd);
  const seed = o.seed ?? DEFAULT_SEED;
  const reference = o.reference ?? DEFAULT_REFERENCE;
  const referenceDay = reference.toISOString().slice(0, 10);
  const runs = o.runs ?? DEFAULT_RUNS;
  const browser = o.browser ?? "materialized";
  const format = o.format ?? "RowBinary";
  return withCompareLock(o.stack, o.cwd, async () => {
    const ch = openClickHouse(t, secrets);
    let pgc: pg.Client | undefined;
    try {
      pgc = await openPostgres(t, secrets);
      const versions = { clickhouse: await clickhouseVersion(ch), postgres: await postgresVersion(pgc) };
      const load = await ensureLoaded({ o, t, secrets, ch, pgc, seed, reference, referenceDay, browser, format });
      o.log(`queries: team ${TEAMS[0]!.id}, ${QUERY_EVENT}, windows ending ${referenceDay}; each query 1 warm-up + ${runs} timed runs per database, side by side`);
      for (const s of QUERY_SETTINGS) await pgc.query(s);
      const queries = compareQueries({ teamId: TEAMS[0]!.id, event: QUERY_EVENT, reference }, {
        clickhouse: CH_EVENTS, postgres: PG_EVENTS, clickhouseBrowser: clickhouseBrowser(browser), postgresBrowser: postgresBrowser(browser), clickhouseUser: DISTINCT_ID_HASH,
      });
      const outcomes: QueryOutcome[] = [];
      for (const q of queries) outcomes.push(await measure(q, ch, pgc, runs));
      const [pgStorage, chStorage] = await Promise.all([postgresStorage(pgc), clickhouseStorage(ch)]);
      return {
        stack: o.stack,
        cluster: { name: t.cluster, shards: t.shards.length, replicas: Math.max(...t.shards.map((s) => s.hosts.length)) },
        versions, events: o.events, seed, reference: referenceDay, team: TEAMS[0]!.id, event: QUERY_EVENT,
        design: { browser, clickhouseTable: CH_EVENTS, postgresTable: PG_EVENTS },
        load, timing: { warmups: 1, runs, statistic: "median" }, queries: outcomes, identical: outcomes.every((q) => q.identical),
        storage: { postgres: pgStorage, clickhouse: { ...chStorage, countsReplicas: chStorage.replicas > 1 } },
      };
    } finally {
      await pgc?.end().catch(() => undefined);
      await ch.close();
    }
  });
}

interface LoadContext {
  readonly o: CompareOptions;
  readonly t: Topology;
  readonly secrets: NonNullable<ReturnType<typeof readSecrets>>;
  readonly ch: ClickHouseSide;
  readonly pgc: pg.Client;
  readonly seed: number;
  readonly reference: Date;
  readonly referenceDay: string;
  readonly browser: BrowserDesign;
  readonly format: ClickHouseFormat;
}

/** Reuse the load in place if it is the same one and complete on both sides, else drop and load again. */
async function ensureLoaded(c: LoadContext): Promise<LoadOutcome> {
  const { o, ch, pgc } = c;
  const layout = `${clickhouseLayout(c.browser, c.t.cluster)}/${postgresLayout(c.browser)}`;
  const wanted = { events: o.events, seed: c.seed, reference: c.referenceDay, generator: GENERATOR_VERSION, layout };
  const record = await readLoadRecord(pgc);
  let why: string;
  if (o.reload) why = "--reload";
  else if (!record) why = "no complete load in place";
  else if (record.events !== wanted.events || record.seed !== wanted.seed || record.reference !== wanted.reference) {
    why = `the load in place is of ${record.events} events, seed ${record.seed}, reference ${record.reference}`;
  } else if (record.generator !== wanted.generator || record.layout !== wanted.layout) why = "the load in place was made by another version of compare";
  else {
    const n = await clickhouseCount(ch);
    if (n !== o.events) why = n === undefined ? "ClickHouse has no compare tables" : `ClickHouse holds ${n} events, not ${o.events}`;
    else if (!(await clickhouseMatches(c.t, c.secrets, c.browser))) why = "the ClickHouse tables differ from their declaration on some host";
    else {
      const reason = `reused: the same ${o.events} events (seed ${c.seed}, reference ${c.referenceDay}) were loaded at ${record.loadedAt} (--reload loads again)`;
      o.log(reason);
      return { reused: true, reason, loadedAt: record.loadedAt };
    }
  }
  const reason = `loading ${o.events} events (seed ${c.seed}, reference ${c.referenceDay}): ${why}`;
  o.log(reason);

  // The record goes first: from here until the end of the load, an interrupted run leaves no record, so
  // the next run loads again.
  await dropPostgres(pgc);
  await dropClickHouse(ch);
  const statements = await applyClickHouse(c.t, c.secrets, c.browser, () => undefined);
  o.log(`clickhouse: ${CH_EVENTS} and its tables created on ${c.t.hosts.length} hosts (${statements} statements, by the schema apply)`);

  const gen = () => new EventGenerator({ seed: c.seed, count: o.events, reference: c.reference });
  const chStart = performance.now();
  const chProgress = o.progress(`clickhouse: insert through ${CH_EVENTS.replace(".events", ".writable_events")} (${c.format})`, o.events);
  await loadClickHouse(ch, gen(), { format: c.format, rowsPerInsert: o.rowsPerInsert ?? 1_048_576, chunkRows: CHUNK_ROWS, onRows: (n) => chProgress.add(n) });
  chProgress.finish();
  const chInsertMs = ms(chStart);
  const syncStart = performance.now();
  await syncReplicas(ch);
  const syncMs = ms(syncStart);
  const chRowsLoaded = await clickhouseCount(ch);
  if (chRowsLoaded !== o.events) throw new Error(`ClickHouse holds ${chRowsLoaded} events after the load, not ${o.events}`);
  const optimizeStart = performance.now();
  await optimizeClickHouse(ch);
  await syncReplicas(ch);
  const optimizeMs = ms(optimizeStart);
  o.log(`clickhouse: ${o.events} events in ${(chInsertMs / 1000).toFixed(1)} s, replicas synced in ${(syncMs / 1000).toFixed(1)} s, OPTIMIZE ... FINAL (one part per month) in ${(optimizeMs / 1000).toFixed(1)} s`);

  const pgProgress = o.progress(`postgres: COPY into ${PG_EVENTS}`, o.events);
  const pgTimes = await loadPostgres(pgc, gen(), c.browser, { chunkRows: CHUNK_ROWS, onRows: (n) => pgProgress.add(n) });
  pgProgress.finish();
  const pgRows = await postgresCount(pgc);
  if (pgRows !== o.events) throw new Error(`Postgres holds ${pgRows} events after the load, not ${o.events}`);
  o.log(`postgres: COPY ${(pgTimes.copyMs / 1000).toFixed(1)} s, indexes ${Object.entries(pgTimes.indexMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")}, VACUUM ANALYZE ${(pgTimes.vacuumMs / 1000).toFixed(1)} s`);

  // Parts merge in the background after a load, as they would after any ingestion; let them settle so
  // that timings do not race the merges (bounded: a busy machine reports them running).
  const settle = performance.now();
  while ((await runningMerges(ch)) > 0 && ms(settle) < 120_000) await new Promise((r) => setTimeout(r, 500));

  await writeLoadRecord(pgc, wanted);
  const loadedAt = (await readLoadRecord(pgc))!.loadedAt;
  return {
    reused: false, reason, loadedAt,
    clickhouse: { ms: chInsertMs, rowsPerSecond: (o.events * 1000) / chInsertMs, format: c.format, syncMs, optimizeMs, statements },
    postgres: { copyMs: pgTimes.copyMs, rowsPerSecond: (o.events * 1000) / pgTimes.copyMs, indexMs: pgTimes.indexMs, vacuumMs: pgTimes.vacuumMs },
  };
}

async function timePostgres(pgc: pg.Client, q: CompareQuery): Promise<{ ms: number; rows: Record<string, unknown>[] }> {
  const s = performance.now();
  const r = await pgc.query({ text: q.postgres.text, values: [...q.postgres.values] });
  return { ms: ms(s), rows: r.rows };
}

async function timeClickHouse(ch: ClickHouseSide, q: CompareQuery): Promise<{ ms: number; rows: Record<string, unknown>[] }> {
  const s = performance.now();
  const r = await chRows<Record<string, unknown>>(ch.first, q.clickhouse.sql, q.clickhouse.settings);
  return { ms: ms(s), rows: r };
}

/** One warm-up on each (its rows are the ones compared), then `runs` timed runs, alternating which goes first. */
async function measure(q: CompareQuery, ch: ClickHouseSide, pgc: pg.Client, runs: number): Promise<QueryOutcome> {
  const pgWarm = await timePostgres(pgc, q);
  const chWarm = await timeClickHouse(ch, q);
  const pgRows = normalizeRows(pgWarm.rows, q.columns, "Postgres");
  const chRowsNorm = normalizeRows(chWarm.rows, q.columns, "ClickHouse");
  const cmp: Comparison = compareRows(pgRows, chRowsNorm);
  const pgMs: number[] = [];
  const chMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      pgMs.push((await timePostgres(pgc, q)).ms);
      chMs.push((await timeClickHouse(ch, q)).ms);
    } else {
      chMs.push((await timeClickHouse(ch, q)).ms);
      pgMs.push((await timePostgres(pgc, q)).ms);
    }
  }
  const pgMedian = median(pgMs);
  const chMedian = median(chMs);
  return {
    id: q.id, title: q.title, identical: cmp.identical,
    ...(cmp.identical ? {} : { difference: describeDifference(q.title, cmp) }),
    rows: { postgres: pgRows.length, clickhouse: chRowsNorm.length },
    postgresMs: { median: pgMedian, runs: pgMs }, clickhouseMs: { median: chMedian, runs: chMs },
    ratio: pgMedian / chMedian,
    sql: { clickhouse: q.clickhouse.sql, postgres: q.postgres.text, postgresValues: q.postgres.values },
  };
}

/** Drop compare's own tables from both databases (`compare --clean`). */
export async function cleanCompare(o: Pick<CompareOptions, "stack" | "config" | "cwd" | "log">): Promise<void> {
  const { t, secrets } = runningStack(o.stack, o.config, o.cwd);
  await withCompareLock(o.stack, o.cwd, async () => {
    const ch = openClickHouse(t, secrets);
    let pgc: pg.Client | undefined;
    try {
      pgc = await openPostgres(t, secrets);
      await dropPostgres(pgc);
      await dropClickHouse(ch, { database: true });
      o.log(`dropped Postgres schema ${PG_EVENTS.split(".")[0]} and ClickHouse database ${CH_EVENTS.split(".")[0]} on ${t.hosts.length} hosts`);
    } finally {
      await pgc?.end().catch(() => undefined);
      await ch.close();
    }
  });
}

