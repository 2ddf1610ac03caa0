// The loopback stack's generated credentials. Pulumi secrets in the stack file are never used here:
// the loopback target makes its own on the first `up` and keeps them in a 0600 file.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { UserRole } from "../config/schema.ts";

const password = z.string().min(16);
const user = z.strictObject({ user: z.string(), password });

export const secretsSchema = z.strictObject({
  clickhouse: z.strictObject({ admin: user, writer: user, readonly: user, interserver: user }),
  postgres: user,
});
export type StackSecrets = z.infer<typeof secretsSchema>;

/** 32 characters of [A-Za-z0-9]: no character needs escaping in a URL, XML or a shell. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(64);
  let out = "";
  for (const b of bytes) {
    if (b < 248) out += alphabet[b % 62]; // 248 = 4 * 62: no modulo bias
    if (out.length === 32) return out;
  }
  return out + generatePassword().slice(out.length);
}

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
  const parsed = secretsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file}: not a chstack secrets file (${parsed.error.issues[0]?.message}); move it aside to generate new credentials`);
  return parsed.data;
}
