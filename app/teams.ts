// Teams and their project API keys, in Postgres. A small migration runs on start (idempotent, under an
// advisory lock so that several replicas starting together take turns); key lookups are cached briefly,
// unknown keys too (for less time), so that a flood of requests does not become a flood of queries.
import pg from "pg";

export interface Team {
  readonly id: number;
  readonly name: string;
}

/** Migrations in order; each runs once, recorded in app_migrations. */
export const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `CREATE TABLE IF NOT EXISTS teams (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  api_token TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
  },
];

const LOCK_KEY = 7_311_026_001; // pg_advisory_xact_lock key of this app's migrations

export interface TeamsOptions {
  readonly cacheTtlMs: number;
  readonly now?: () => number;
}

export class Teams {
  private readonly cache = new Map<string, { team: Team | undefined; until: number }>();
  private readonly inFlight = new Map<string, Promise<Team | undefined>>();
  private readonly now: () => number;

  constructor(private readonly pool: pg.Pool, private readonly o: TeamsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Apply pending migrations; returns the versions applied now. */
  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      await client.query("CREATE TABLE IF NOT EXISTS app_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
      const done = new Set((await client.query<{ version: number }>("SELECT version FROM app_migrations")).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query("INSERT INTO app_migrations (version) VALUES ($1)", [m.version]);
        applied.push(m.version);
      }
      await client.query("COMMIT");
      return applied;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** The team with this key, created with `name` if no team has it. */
  async ensure(name: string, token: string): Promise<{ team: Team; created: boolean }> {
    const ins = await this.pool.query<{ id: string; name: string }>(
      "INSERT INTO teams (name, api_token) VALUES ($1, $2) ON CONFLICT (api_token) DO NOTHING RETURNING id, name",
      [name, token],
    );
    if (ins.rows[0]) return { team: toTeam(ins.rows[0]), created: true };
    const sel = await this.pool.query<{ id: string; name: string }>("SELECT id, name FROM teams WHERE api_token = $1", [token]);
    if (!sel.rows[0]) throw new Error("the bootstrap team vanished while it was being ensured");
    this.cache.delete(token);
    return { team: toTeam(sel.rows[0]), created: false };
  }

  /** The team of a project API key, or undefined; cached for APP_TEAM_CACHE_TTL_MS (unknown keys: at most 5 s). */
  async byToken(token: string): Promise<Team | undefined> {
    if (token.length === 0 || token.length > 200) return undefined;
    const hit = this.cache.get(token);
    const now = this.now();
    if (hit && hit.until > now) return hit.team;
    const pending = this.inFlight.get(token);
    if (pending) return pending;
    const p = this.pool
      .query<{ id: string; name: string }>("SELECT id, name FROM teams WHERE api_token = $1", [token])
      .then((r) => {
        const team = r.rows[0] ? toTeam(r.rows[0]) : undefined;
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(token, { team, until: this.now() + (team ? this.o.cacheTtlMs : Math.min(this.o.cacheTtlMs, 5_000)) });
        return team;
      })
      .finally(() => this.inFlight.delete(token));
    this.inFlight.set(token, p);
    return p;
  }

  async ping(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.pool.query("SELECT 1");
      return { ok: true };
    } catch (e) {
      return { ok: false, error: (e as Error).message.split("\n")[0] ?? "unknown error" };
    }
  }
}

function toTeam(r: { id: string; name: string }): Team {
  const id = Number(r.id);
  if (!Number.isSafeInteger(id)) throw new Error(`team id ${r.id} is beyond 2^53`);
  return { id, name: r.name };
}
