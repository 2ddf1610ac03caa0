// The teams `chstack load` sends as: one per team of the event generator, created in the app's Postgres
// (its `teams` table, the source of truth for API keys) with a generated key the first time, and found by
// name after that. The app must have migrated once (it does on start).
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { TEAMS } from "../compare/events.ts";

export const loadTeamName = (domain: string) => `load: ${domain}`;

/** Generator team id -> the API key of its team in the app. */
export async function ensureLoadTeams(client: pg.Client): Promise<Map<number, string>> {
  const exists = await client.query("SELECT to_regclass('teams') IS NOT NULL AS ok");
  if (!exists.rows[0]?.ok) throw new Error("the app's teams table does not exist yet: start the app (chstack up) and try again");
  const keys = new Map<number, string>();
  for (const team of TEAMS) {
    const name = loadTeamName(team.domain);
    const found = await client.query<{ api_token: string }>("SELECT api_token FROM teams WHERE name = $1 ORDER BY id LIMIT 1", [name]);
    let key = found.rows[0]?.api_token;
    if (!key) {
      key = `phc_load_${randomBytes(16).toString("hex")}`;
      await client.query("INSERT INTO teams (name, api_token) VALUES ($1, $2)", [name, key]);
    }
    keys.set(team.id, key);
  }
  return keys;
}
