// Passwords on Kubernetes: from the stack config (Pulumi secrets, decrypted by the engine) or generated on
// the first `pulumi up` and kept in the stack's state (GeneratedPassword). Every one is a secret Output: it reaches Secrets only, never a ConfigMap, env literal,
// log or stack output.
import * as pulumi from "@pulumi/pulumi";
import type { UserRole } from "../config/schema.ts";
import type { SecretValue } from "../config/fields.ts";
import type { Topology } from "../model/topology.ts";
import { GeneratedPassword } from "./generated-password.ts";

export interface Credentials {
  readonly clickhouse: Readonly<Record<UserRole, pulumi.Output<string>>>;
  readonly postgres: pulumi.Output<string>;
  /** The app's bootstrap team API key (APP_BOOTSTRAP_TEAM_TOKEN), when the stack has an app. */
  readonly appTeamKey: pulumi.Output<string> | undefined;
}

function passwordOf(name: string, configured: SecretValue | undefined): pulumi.Output<string> {
  if (typeof configured === "string") return pulumi.secret(configured);
  if (configured) throw new Error(`${name}: the Pulumi engine passed an encrypted value; run the program with pulumi up`);
  return new GeneratedPassword(name, { length: 32 }).result;
}

export function credentials(prefix: string, t: Topology): Credentials {
  const users = t.config.clickhouse.users;
  const roles: UserRole[] = ["admin", "writer", "readonly", "interserver"];
  const clickhouse = Object.fromEntries(roles.map((r) => [r, passwordOf(`${prefix}-${r}-password`, users[r].password)])) as Record<UserRole, pulumi.Output<string>>;
  const pg = t.config.postgres;
  const postgres = passwordOf(`${prefix}-postgres-password`, pg.mode === "in-stack" ? pg.password : undefined);
  // Shaped as PostHog's project keys are (phc_...), what PostHog's clients send.
  const appTeamKey = t.app ? passwordOf(`${prefix}-app-team-key`, undefined).apply((k) => `phc_${k}`) : undefined;
  return { clickhouse, postgres, appTeamKey };
}
