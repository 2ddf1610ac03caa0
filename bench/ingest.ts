// Benchmark: ingest through the app's /batch/ against a native INSERT of the same events into the same
// Distributed table, on one loopback stack of its own (2x2, the app) in one run. Both write the same
// generated events (compare/events.ts) as TabSeparated rows of writable_events; the app also parses,
// validates and acknowledges each request only once its batch is written. Each way is checked exactly:
// the rows it wrote are counted on every shard.
// Stack bench-ingest on ports 32700-32731, in a temporary directory, stopped and removed after.
// Run alone: node --import tsx bench/ingest.ts   (BENCH_INGEST_EVENTS, default 500000)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { rowLine } from "../app/capture/event.ts";
import { EventGenerator, type CompareEvent } from "../compare/events.ts";
import { parseStackFile } from "../infra/config/load.ts";
import { down } from "../infra/loopback/down.ts";
import { readSecrets } from "../infra/loopback/secrets.ts";
import { clickhouseClient, postgresClient } from "../infra/loopback/servers.ts";
import { secretsFile } from "../infra/loopback/state.ts";
import { up } from "../infra/loopback/up.ts";
import { posthogSchemaStep } from "./schema-step.ts";
import { appUrl } from "../infra/loopback/app.ts";
import { load } from "../load/run.ts";
import { ensureLoadTeams } from "../load/teams.ts";

export interface IngestBench {
  readonly events: number;
  readonly native: { readonly seconds: number; readonly rows: number };
  readonly app: { readonly seconds: number; readonly accepted: number; readonly rejected: number; readonly rows: number };
}

const yaml = "config:\n  chstack:clickhouse:\n    cluster: posthog\n    shards: 2\n    replicas: 2\n  chstack:app: {}\n  chstack:loopback:\n    portBase: 32700\n";
const reference = new Date(Date.UTC(2026, 11, 1));

/** The generated event as the row the app writes, in the app's own TabSeparated line (its own team id). */
const line = (e: CompareEvent, teamId: number) => rowLine({
  uuid: e.uuid, event: e.event, properties: e.properties, timestamp: e.timestamp, team_id: teamId, distinct_id: e.distinctId,
  elements_chain: e.elementsChain, created_at: e.createdAt, _timestamp: e.createdAt, _offset: e.offset,
});

export async function ingestBench(events: number, log: (l: string) => void = () => undefined): Promise<IngestBench> {
  const stack = "bench-ingest";
  const cwd = mkdtempSync(join(tmpdir(), "chstack-bench-ingest-"));
  writeFileSync(join(cwd, `Pulumi.${stack}.yaml`), yaml);
  try {
    const { topology: t } = await up({ stack, config: parseStackFile(yaml, "bench"), cwd, log: () => undefined, schema: posthogSchemaStep });
    const secrets = readSecrets(secretsFile(stack, cwd))!;
    const rowsOf = async (teams: readonly number[]) => {
      const c = clickhouseClient(t.hosts[0]!, secrets, "admin");
      try {
        for (const h of t.hosts) {
          const a = clickhouseClient(h, secrets, "admin");
          await a.command({ query: "SYSTEM SYNC REPLICA posthog.sharded_events" }).finally(() => a.close());
        }
        const rs = await c.query({ query: `SELECT count() AS n FROM posthog.events WHERE team_id IN (${teams.join(",")})`, format: "JSONEachRow" });
        return Number((await rs.json<{ n: string }>())[0]!.n);
      } finally {
        await c.close();
      }
    };

    // Native: the writer inserts the rows through writable_events, 4 inserts in flight of 50k rows each,
    // synchronous as the app's are. Team ids 101-106: apart from the app's.
    log(`native INSERT of ${events} events`);
    const writers = t.hosts.map((h) => clickhouseClient(h, secrets, "writer"));
    const gen = new EventGenerator({ seed: 1, count: events, reference });
    const t0 = performance.now();
    let turn = 0;
    const insertOne = async (chunk: CompareEvent[]) => {
      const body = chunk.map((e) => line(e, 100 + e.teamId)).join("");
      const r = await writers[turn++ % writers.length]!.exec({
        query: "INSERT INTO posthog.writable_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset) FORMAT TabSeparated",
        values: Readable.from([Buffer.from(body)]),
        clickhouse_settings: { insert_distributed_sync: 1 },
      });
      r.stream.resume();
      await new Promise<void>((resolve, reject) => r.stream.once("end", resolve).once("error", reject));
    };
    for (;;) {
      const chunks = Array.from({ length: 4 }, () => gen.batch(50_000)).filter((c) => c.length > 0);
      if (chunks.length === 0) break;
      await Promise.all(chunks.map(insertOne));
    }
    const nativeSeconds = (performance.now() - t0) / 1000;
    await Promise.all(writers.map((w) => w.close()));
    const nativeRows = await rowsOf([101, 102, 103, 104, 105, 106]);

    // Through the app: the same events, as `chstack load` sends them.
    log(`the same ${events} events through the app's /batch/`);
    const pg = postgresClient(t, secrets, "app");
    await pg.connect();
    const keys = await ensureLoadTeams(pg).finally(() => pg.end());
    const s = await load({ url: appUrl(t)!, events, rate: 0, batchSize: 1000, concurrency: 8, seed: 1, reference, keys, out: { write: () => true } });
    const appRows = await rowsOf([2, 3, 4, 5, 6, 7]);
    return { events, native: { seconds: nativeSeconds, rows: nativeRows }, app: { seconds: s.seconds, accepted: s.accepted, rejected: s.rejected, rows: appRows } };
  } finally {
    await down({ stack, cwd, purge: true, log: () => undefined });
    rmSync(cwd, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.env.BENCH_INGEST_EVENTS ?? 500_000);
  const r = await ingestBench(n, (l) => console.error(l));
  console.log(JSON.stringify(r, null, 2));
}
