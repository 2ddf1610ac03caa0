// users.d: least-privilege users with password_sha256_hex only, their profiles and the default quota.
// A password never reaches these files; only its SHA-256 does.
import { createHash } from "node:crypto";
import type { UserRole } from "../../config/schema.ts";
import type { ClickHouseUser, Topology } from "../../model/topology.ts";
import { configFile, el } from "../xml.ts";

/** SHA-256 of each role's password, hex: what `password_sha256_hex` holds. */
export type PasswordHashes = Readonly<Record<UserRole, string>>;

export function sha256Hex(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("hex");
}

export function hashPasswords(passwords: Readonly<Record<UserRole, string>>): PasswordHashes {
  return {
    admin: sha256Hex(passwords.admin),
    writer: sha256Hex(passwords.writer),
    readonly: sha256Hex(passwords.readonly),
    interserver: sha256Hex(passwords.interserver),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

export function renderUsers(t: Topology, hashes: PasswordHashes): string {
  const users = Object.values(t.users).map((u: ClickHouseUser) => {
    const hash = hashes[u.role];
    if (!HEX64.test(hash ?? "")) throw new Error(`password hash for ${u.role} must be 64 lowercase hex digits (SHA-256)`);
    return el(u.name, [
      el("password_sha256_hex", hash),
      el("networks", [...u.networks.ip.map((ip) => el("ip", ip)), ...u.networks.hostRegexp.map((re) => el("host_regexp", re))]),
      el("profile", u.profile),
      el("quota", "default"),
    ]);
  });
  return configFile("users (admin for the schema step, writer for the app, read-only, inter-server)", [
    // The stock `default` user has no password: remove it.
    el("users", [el("default", undefined, { remove: "remove" }), ...users]),
  ]);
}

export function renderProfiles(t: Topology): string {
  return configFile("settings profiles (clickhouse.profiles; readonly and allow_ddl set per role)", [
    el(
      "profiles",
      t.profiles.map((p) =>
        el(p.name, Object.entries(p.settings).filter(([, v]) => v !== undefined).map(([k, v]) => el(k, v as string | number))),
      ),
    ),
  ]);
}

/** 18.16 requires a `default` quota; it limits nothing. */
export function renderQuotas(): string {
  return configFile("the default quota (tracks usage, limits nothing)", [
    el("quotas", [
      el("default", [
        el("interval", [
          el("duration", 3600),
          el("queries", 0),
          el("errors", 0),
          el("result_rows", 0),
          el("read_rows", 0),
          el("execution_time", 0),
        ]),
      ]),
    ]),
  ]);
}
