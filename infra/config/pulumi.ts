// The stack config as the Pulumi engine hands it to the program: the same `chstack:` keys, with `secure:`
// values already decrypted by the engine. Validated by the same schema as `chstack validate`.
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, parseStackConfig, stackFileName, type LoadedConfig } from "./load.ts";

export function loadPulumiStackConfig(): LoadedConfig {
  const stack = pulumi.getStack();
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    raw[key.slice(NAMESPACE.length + 1)] = parseValue(value);
  }
  const file = stackFileName(stack);
  // Plain-text secrets in the file are refused by `chstack validate`; here the engine has decrypted them.
  return { stack, file, config: parseStackConfig(raw, file, { rejectPlaintextSecrets: false }) };
}

/** Structured config arrives as JSON text; a plain string value stays a string. */
function parseValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
