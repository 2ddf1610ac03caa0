// The loopback stack's generated credentials. Pulumi secrets in the stack file are never used here:
// the first `up` generates them and keeps them in 0600 files under the state dir: a JSON file for
// scripts, a clickhouse-client config file and a pgpass file, so that no printed command carries a password.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { StackConfig, UserRole } from "../config/schema.ts";
import { configFile, el } from "../render/xml.ts";

const password = z.string().min(16);
const user = z.strictObject({ user: z.string(), password });

export const secretsSchema = z.strictObject({
  clickhouse: z.strictObject({ admin: user, writer: user, readonly: user, interserver: user }),
  postgres: z.strictObject({ user: z.string(), password, database: z.string(), superuser: z.string(), superuserPassword: password }),
  /** The app's dev team and its project API key (what PostHog's clients send); added by `up` to a file from before the app. */
  app: z.strictObject({ team: z.string(), apiKey: z.string().min(16) }).optional(),
});
export type StackSecrets = z.infer<typeof secretsSchema>;

/** 32 characters of [A-Za-z0-9]: nothing to escape in a URL, XML, an env var or a shell. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < 32) {
    for (const b of randomBytes(64)) {
      if (b < 248 && out.length < 32) out += alphabet[b % 62]; // 248 = 4 * 62: no modulo bias
    }
  }
  return out;
}

export function generateSecrets(config: StackConfig): StackSecrets {
  const u = config.clickhouse.users;
  const pg = config.postgres.mode === "in-stack" ? config.postgres : { user: "posthog", database: "posthog" };
  const make = (name: string) => ({ user: name, password: generatePassword() });
  return {
    clickhouse: { admin: make(u.admin.name), writer: make(u.writer.name), readonly: make(u.readonly.name), interserver: make(u.interserver.name) },
    postgres: { user: pg.user, password: generatePassword(), database: pg.database, superuser: "postgres", superuserPassword: generatePassword() },
    app: appSecrets(),
  };
}

/** The dev team's API key, shaped as PostHog's project keys are (`phc_...`). */
export const appSecrets = () => ({ team: "dev", apiKey: `phc_${generatePassword()}` });

export function clickhousePasswords(s: StackSecrets): Record<UserRole, string> {
  const ch = s.clickhouse;
  return { admin: ch.admin.password, writer: ch.writer.password, readonly: ch.readonly.password, interserver: ch.interserver.password };
}

/** The stack's credentials if `up` has made them, else undefined. A damaged file is an error, not a reset. */
export function readSecrets(file: string): StackSecrets | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let parsed;
  try {
    parsed = secretsSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new Error(`${file}: not a chstack secrets file; move it aside to generate new credentials`);
  return parsed.data;
}

/** A clickhouse-client config with the admin's credentials: `clickhouse-client --config-file FILE --port N`. */
export function renderClientConfig(s: StackSecrets): string {
  return configFile("clickhouse-client credentials of the stack's admin user", [
    el("user", s.clickhouse.admin.user),
    el("password", s.clickhouse.admin.password),
  ], "config");
}

/** ~/.pgpass format: host:port:database:user:password, with `:` and `\` escaped. */
export function renderPgpass(s: StackSecrets, port: number): string {
  const esc = (v: string) => v.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
  const pg = s.postgres;
  return [
    `127.0.0.1:${port}:*:${esc(pg.user)}:${esc(pg.password)}`,
    `127.0.0.1:${port}:*:${esc(pg.superuser)}:${esc(pg.superuserPassword)}`,
    "",
  ].join("\n");
}
