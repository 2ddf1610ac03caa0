// An ingest that knows what was acknowledged: numbered rows in fixed batches, each batch sent until a server
// acknowledges it, retried with the same bytes on the next host when one fails (ClickHouse drops a block it
// has seen, so a retry after a partial write does not double it). What it returns is the truth a fault test
// compares the tables with.
import type { clickhouseClient } from "../../infra/loopback/servers.ts";

type Client = ReturnType<typeof clickhouseClient>;

export interface IngestOptions {
  readonly clients: readonly Client[];
  /** The Distributed table, with columns (id UInt64, shard_key String). */
  readonly table: string;
  readonly firstId?: number;
  readonly rows: number;
  readonly batchRows: number;
  readonly inFlight?: number;
  /** After each acknowledged batch, with the rows acknowledged so far. */
  readonly onAck?: (acked: number) => Promise<void> | void;
  /** Give up on a batch after this long (the test fails, naming the last error). */
  readonly batchDeadlineMs?: number;
}

export interface IngestResult {
  readonly acked: number;
  readonly batches: number;
  /** Attempts that failed and were retried. */
  readonly retries: number;
  /** Each distinct failure's first line, with how often it happened. */
  readonly errors: ReadonlyMap<string, number>;
}

/** One batch's body: ids first..first+n-1, the shard key spread over 1000 values. */
export const batchBody = (first: number, n: number): string =>
  Array.from({ length: n }, (_, i) => `${first + i}\tk${(first + i) % 1000}\n`).join("");

export const firstLine = (e: unknown): string => String((e as Error).message ?? e).split("\n")[0]!.replace(/\d+(\.\d+)+/g, "#").slice(0, 200);

export async function ackedIngest(o: IngestOptions): Promise<IngestResult> {
  const first = o.firstId ?? 0;
  const batches = Math.ceil(o.rows / o.batchRows);
  const errors = new Map<string, number>();
  let next = 0;
  let acked = 0;
  let retries = 0;
  let turn = 0;
  const worker = async () => {
    for (let b = next++; b < batches; b = next++) {
      const from = first + b * o.batchRows;
      const n = Math.min(o.batchRows, first + o.rows - from);
      const query = `INSERT INTO ${o.table} (id, shard_key) FORMAT TabSeparated\n${batchBody(from, n)}`;
      const deadline = Date.now() + (o.batchDeadlineMs ?? 180_000);
      for (;;) {
        const client = o.clients[turn++ % o.clients.length]!;
        try {
          await client.command({ query });
          break;
        } catch (e) {
          const line = firstLine(e);
          errors.set(line, (errors.get(line) ?? 0) + 1);
          if (Date.now() > deadline) throw new Error(`batch ${b} (ids ${from}..${from + n - 1}) not acknowledged: ${line}`);
          retries++;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      acked += n;
      await o.onAck?.(acked);
    }
  };
  await Promise.all(Array.from({ length: o.inFlight ?? 2 }, worker));
  return { acked, batches, retries, errors };
}
