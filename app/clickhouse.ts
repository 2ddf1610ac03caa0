// ClickHouse over HTTP with @clickhouse/client, one client per URL of CLICKHOUSE_URL. The loopback target
// has no load balancer: each batch and each query starts at the next URL (round robin) and moves on to
// the following one when a URL cannot be reached. The server version, read at start, decides how values
// are bound (binding.ts).
import { Readable } from "node:stream";
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import { bind, bindingFor, type Binding, type Sql } from "./binding.ts";
import { quoteIdentifier } from "./literals.ts";

export interface ClickHouseOptions {
  readonly urls: readonly string[];
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly insertTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly binding: "auto" | Binding;
}

/** The columns the app writes, in writable_events' order (schema/posthog.ts). */
export const EVENT_COLUMNS = ["uuid", "event", "properties", "timestamp", "team_id", "distinct_id", "elements_chain", "created_at", "_timestamp", "_offset"] as const;

const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "ECONNABORTED"]);

/** An error that says the request never reached a server (so the next URL may be tried at once). */
export function isConnectionError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined && CONNECTION_ERRORS.has(code)) || /socket hang up/i.test((e as Error | undefined)?.message ?? "");
}

export class ClickHouse {
  private readonly clients: { readonly url: string; readonly client: ClickHouseClient }[];
  private next = 0;
  /** Until when (ms) each URL is passed over after it could not be reached. */
  private readonly downUntil: number[];
  private bindingMode: Binding | undefined;
  private serverVersion = "";

  constructor(private readonly o: ClickHouseOptions) {
    this.downUntil = o.urls.map(() => 0);
    this.clients = o.urls.map((url) => ({
      url,
      client: createClient({
        url,
        username: o.user,
        password: o.password,
        request_timeout: Math.max(o.insertTimeoutMs, o.queryTimeoutMs),
        max_open_connections: 16,
        compression: { request: false, response: false },
        log: { level: ClickHouseLogLevel.OFF }, // the app reports errors itself, one line each
      }),
    }));
  }

  get binding(): Binding {
    if (!this.bindingMode) throw new Error("ClickHouse version not detected yet");
    return this.bindingMode;
  }

  get version(): string {
    return this.serverVersion;
  }

  get urls(): readonly string[] {
    return this.clients.map((c) => c.url);
  }

  /** `SELECT version()` on every URL that answers; the oldest decides the binding (unless forced). */
  async detectVersion(): Promise<{ version: string; binding: Binding; versions: Record<string, string> }> {
    const answers = await Promise.allSettled(this.clients.map(async (c) => {
      const rs = await c.client.query({ query: "SELECT version() AS v", format: "JSONEachRow" });
      return [c.url, (await rs.json<{ v: string }>())[0]!.v] as const;
    }));
    const versions = Object.fromEntries(answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : [])));
    const list = Object.values(versions).sort(compareVersions);
    if (list.length === 0) {
      const first = answers.find((a): a is PromiseRejectedResult => a.status === "rejected");
      throw new Error(`no ClickHouse URL answered: ${describeError(first?.reason)}`);
    }
    this.serverVersion = list[0]!;
    this.bindingMode = this.o.binding === "auto" ? bindingFor(this.serverVersion) : this.o.binding;
    return { version: this.serverVersion, binding: this.bindingMode, versions };
  }

  /** One batch of TabSeparated rows (app/capture/event.ts) into `<database>.writable_events`, synchronously through the Distributed table; the URL that took it. */
  async insertEvents(body: Buffer): Promise<string> {
    const table = `${quoteIdentifier(this.o.database)}.writable_events`;
    return this.withFailover(async (client) => {
      const r = await client.exec({
        query: `INSERT INTO ${table} (${EVENT_COLUMNS.join(", ")}) FORMAT TabSeparated`,
        values: Readable.from([body]),
        clickhouse_settings: {
          // acknowledged means on a replica of every shard, not queued on this server's disk
          insert_distributed_sync: 1,
          insert_deduplicate: 1,
          max_execution_time: Math.ceil(this.o.insertTimeoutMs / 1000),
        },
      });
      r.stream.resume();
      await new Promise<void>((resolve, reject) => r.stream.once("end", resolve).once("error", reject));
    }).then(([, url]) => url);
  }

  /** A read query (FORMAT JSON): its rows and, for WITH TOTALS, its totals row. */
  async query<T>(q: Sql): Promise<{ data: T[]; totals: T | undefined }> {
    const bound = bind(q, this.binding);
    return this.withFailover(async (client) => {
      const rs = await client.query({
        query: bound.query,
        format: "JSON",
        ...(Object.keys(bound.params).length > 0 ? { query_params: bound.params } : {}),
        clickhouse_settings: { max_execution_time: Math.ceil(this.o.queryTimeoutMs / 1000) },
      });
      const j = await rs.json<T>();
      return { data: j.data, totals: (j as { totals?: T }).totals };
    }).then(([r]) => r);
  }

  /** Whether some URL answers `SELECT 1`. */
  async ping(): Promise<{ ok: true; url: string } | { ok: false; error: string }> {
    try {
      const [, url] = await this.withFailover(async (client) => {
        const rs = await client.query({ query: "SELECT 1 AS ok", format: "JSONEachRow", clickhouse_settings: { max_execution_time: 5 } });
        await rs.json();
      });
      return { ok: true, url };
    } catch (e) {
      return { ok: false, error: describeError(e) };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.client.close()));
  }

  /**
   * Run on the next URL (round robin); on a connection error, on the one after, until every URL was tried
   * once. A URL that could not be reached (or timed out) is passed over for DOWN_MS while others remain.
   */
  private async withFailover<R>(fn: (client: ClickHouseClient) => Promise<R>): Promise<[R, string]> {
    const n = this.clients.length;
    const start = this.next++ % n;
    const now = Date.now();
    const order = Array.from({ length: n }, (_, k) => (start + k) % n);
    const candidates = [...order.filter((i) => this.downUntil[i]! <= now), ...order.filter((i) => this.downUntil[i]! > now)];
    let last: unknown;
    for (const i of candidates) {
      const c = this.clients[i]!;
      try {
        const r = await fn(c.client);
        this.downUntil[i] = 0;
        return [r, c.url];
      } catch (e) {
        last = e;
        const unreachable = isConnectionError(e);
        if (unreachable || /timeout/i.test((e as Error | undefined)?.message ?? "")) this.downUntil[i] = Date.now() + DOWN_MS;
        if (!unreachable) throw new ClickHouseError(c.url, e);
      }
    }
    throw new ClickHouseError(n === 1 ? this.clients[0]!.url : "every URL", last);
  }
}

const DOWN_MS = 5_000;

export class ClickHouseError extends Error {
  constructor(readonly url: string, override readonly cause: unknown) {
    super(`ClickHouse ${url}: ${describeError(cause)}`);
    this.name = "ClickHouseError";
  }
}

/** One line: the message, or the code of an error without one; never a stack. */
export function describeError(e: unknown): string {
  if (e instanceof ClickHouseError) return e.message;
  const err = e as (Error & { code?: string }) | undefined;
  const msg = (err?.message ?? String(e)).split("\n")[0]!.slice(0, 500);
  return msg || err?.code || "unknown error";
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
