// The applier's only door to a server: run a query, run a statement, insert rows. One implementation over
// @clickhouse/client (kept connections, values bound); tests and other targets may pass their own.
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { INTROSPECTION_QUERY, parseIntrospection, type HostState } from "./actual.ts";

export interface HostConnection {
  readonly host: string;
  query<T>(sql: string): Promise<T[]>;
  /** Run a statement; `settings` apply to it alone. */
  command(sql: string, settings?: Readonly<Record<string, number>>): Promise<void>;
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

export interface Endpoint {
  readonly host: string;
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

export function connect(e: Endpoint): HostConnection {
  const client = createClient({
    url: e.url,
    username: e.username,
    password: e.password,
    request_timeout: 120_000,
    keep_alive: { enabled: true },
    // Errors reach the caller, which reports each on one line; the library's own log would print them
    // again with its stack trace.
    log: { level: ClickHouseLogLevel.OFF },
    // DDL returns once it is done on this host (and, for replicated ALTERs, queued for the replicas).
    clickhouse_settings: { wait_end_of_query: 1, send_progress_in_http_headers: 1, http_headers_progress_interval_ms: "10000" },
  });
  return {
    host: e.host,
    query: async <T>(sql: string) => (await client.query({ query: sql, format: "JSONEachRow" })).json<T>(),
    command: async (sql, settings) => {
      await client.command({ query: sql, clickhouse_settings: settings });
    },
    insert: async (table, rows) => {
      await client.insert({ table, values: rows as Record<string, unknown>[], format: "JSONEachRow" });
    },
    close: () => client.close(),
  };
}

/** A host's state in one round trip. */
export async function introspect(conn: HostConnection): Promise<HostState> {
  const [row] = await conn.query<Parameters<typeof parseIntrospection>[0]>(INTROSPECTION_QUERY);
  if (!row) throw new Error(`${conn.host}: introspection returned nothing`);
  return parseIntrospection(row);
}
