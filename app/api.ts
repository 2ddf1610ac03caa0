// The read API: trends and breakdown for one team, authenticated by that team's project API key
// (`Authorization: Bearer <key>` or `api_key=<key>`); a key reads only its own team.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ClickHouse } from "./clickhouse.ts";
import { describeError } from "./clickhouse.ts";
import { HttpError } from "./errors.ts";
import { breakdownSql, fillSeries, parseBreakdown, parseTrends, totalsOf, trendsSql, type CountRow } from "./queries.ts";
import type { Team, Teams } from "./teams.ts";

export interface ApiDeps {
  readonly teams: Teams;
  readonly clickhouse: ClickHouse;
  readonly database: string;
}

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  app.get("/api/trends", async (req) => {
    const team = await authenticate(req, deps.teams);
    const q = parseTrends(req.query, team.id, new Date());
    if ("forbidden" in q) throw forbidden(team, q.forbidden);
    const r = await read<CountRow & { bucket: string }>(req, deps.clickhouse, trendsSql(deps.database, q));
    return {
      team_id: team.id, event: q.event, interval: q.interval, from: q.from.toISOString(), to: q.to.toISOString(),
      series: fillSeries(r.data, q), totals: totalsOf(r.totals),
    };
  });

  app.get("/api/breakdown", async (req) => {
    const team = await authenticate(req, deps.teams);
    const q = parseBreakdown(req.query, team.id, new Date());
    if ("forbidden" in q) throw forbidden(team, q.forbidden);
    const r = await read<CountRow & { value: string }>(req, deps.clickhouse, breakdownSql(deps.database, q));
    return {
      team_id: team.id, event: q.event, property: q.property, from: q.from.toISOString(), to: q.to.toISOString(),
      values: r.data.map((x) => ({ value: x.value, events: Number(x.events), users: Number(x.users) })), totals: totalsOf(r.totals),
    };
  });
}

async function authenticate(req: FastifyRequest, teams: Teams): Promise<Team> {
  const auth = req.headers.authorization;
  const bearer = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  const param = (req.query as Record<string, unknown> | undefined)?.["api_key"];
  const key = bearer ?? (typeof param === "string" && param !== "" ? param : undefined);
  if (!key) throw new HttpError(401, "missing_api_key", "no API key: send Authorization: Bearer <project API key>, or api_key=<key>");
  const team = await teams.byToken(key).catch(() => {
    throw new HttpError(503, "unavailable", "cannot check the API key now (Postgres unreachable); retry shortly");
  });
  if (!team) throw new HttpError(401, "invalid_api_key", "API key not recognised");
  return team;
}

function forbidden(team: Team, asked: number): HttpError {
  return new HttpError(403, "forbidden", `team_id ${asked}: this API key belongs to team ${team.id} and reads only that team`);
}

async function read<T>(req: FastifyRequest, ch: ClickHouse, q: Parameters<ClickHouse["query"]>[0]) {
  try {
    return await ch.query<T>(q);
  } catch (e) {
    req.log.warn({ err: describeError(e) }, "query failed");
    throw new HttpError(503, "query_failed", "the query failed in ClickHouse; retry shortly (the app's log has the cause)");
  }
}
