// The Postgres collector: connect and `SELECT version()` within the timeout. Its own module, so that the
// schema Job's bundle, which does not check Postgres, carries no pg.
import pg from "pg";
import type { PostgresFacts } from "./facts.ts";
import { describeError, withTimeout } from "./util.ts";

export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export async function collectPostgres(target: PostgresTarget, timeoutMs: number): Promise<PostgresFacts> {
  const client = new pg.Client({ ...target, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on("error", () => undefined); // a server going away mid-check is reported through the query
  try {
    const version = await withTimeout(timeoutMs, async () => {
      await client.connect();
      const r = await client.query<{ v: string }>("SELECT version() AS v");
      return r.rows[0]?.v ?? "";
    });
    return { checked: true, reachable: true, version };
  } catch (e) {
    return { checked: true, reachable: false, error: describeError(e) };
  } finally {
    client.end().catch(() => undefined);
  }
}
