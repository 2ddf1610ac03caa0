// A copy of a config safe to print: every secret field shows `[secret]`, never its value or ciphertext.
import { isSecretPath } from "./errors.ts";

export function redactSecrets<T>(value: T, path: readonly string[] = []): T {
  if (isSecretPath(path) && value !== undefined && (typeof value === "string" || (value && typeof value === "object" && "secure" in value))) {
    return "[secret]" as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, [...path, String(i)])) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, [...path, k])])) as T;
  }
  return value;
}
