// Reading a stack config: `Pulumi.<stack>.yaml` (or any file of the same shape) for the CLI, or the
// values the Pulumi engine hands the program. Both end in `parseStackConfig`. Secure values are kept as
// they are (`{ secure: "v1:..." }`): this code never decrypts them.
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { ConfigError, formatIssues, formatPath, isSecretPath, valueAt } from "./errors.ts";
import { stackConfigSchema, type StackConfig } from "./schema.ts";

export const NAMESPACE = "chstack";
/** Top-level keys Pulumi itself writes into a stack file. */
const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"];
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export interface LoadedConfig {
  readonly stack: string;
  /** The file the config came from (absolute path). */
  readonly file: string;
  readonly config: StackConfig;
}

export function checkStackName(stack: string): string {
  if (!STACK_NAME.test(stack)) {
    throw new ConfigError("--stack", [`stack name must be letters, digits, -, _ or . (at most 100), got ${JSON.stringify(stack)}`]);
  }
  return stack;
}

export const stackFileName = (stack: string) => `Pulumi.${stack}.yaml`;

/**
 * Load `--config FILE` if given, else `Pulumi.<stack>.yaml` from `dir`. With a file, the stack name
 * still names the state and objects (default: the file name without `Pulumi.` and `.yaml`).
 */
export function loadStackConfig(opts: { stack?: string; configFile?: string; dir?: string }): LoadedConfig {
  const dir = opts.dir ?? process.cwd();
  const file = resolve(dir, opts.configFile ?? stackFileName(checkStackName(opts.stack ?? "dev")));
  const stack = checkStackName(opts.stack ?? stackFromFile(file));
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new ConfigError(file, [`cannot read the stack config: ${why}`]);
  }
  return { stack, file, config: parseStackFile(text, opts.configFile ?? basename(file)) };
}

function stackFromFile(file: string): string {
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file));
  return m?.[1] ?? basename(file).replace(/\.ya?ml$/, "");
}

/** Parse the text of a stack file. Pure: the CLI, the tests and `render` all come through here. */
export function parseStackFile(text: string, source: string): StackConfig {
  const lineCounter = new LineCounter();
  // prettyErrors would quote the offending line, which may hold a secret: positions only.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return `YAML: ${e.message.split("\n")[0]} (line ${line}, column ${col})`;
    }));
  }
  const top: unknown = doc.toJS();
  if (top === null || top === undefined) return parseStackConfig({}, source, { rejectPlaintextSecrets: true });
  if (!isMap(top)) throw new ConfigError(source, ["the file must be a map with a `config:` key, as Pulumi stack files are"]);

  const problems: string[] = [];
  for (const key of Object.keys(top)) {
    if (!STACK_FILE_KEYS.includes(key)) problems.push(`${key}: unknown top-level key (a stack file holds ${STACK_FILE_KEYS.join(", ")})`);
  }
  const config = top.config ?? {};
  if (!isMap(config)) problems.push("config: must be a map of `namespace:key` entries");
  const raw: Record<string, unknown> = {};
  if (isMap(config)) {
    for (const [key, value] of Object.entries(config)) {
      const m = /^([^:]+):(.+)$/.exec(key);
      if (!m) problems.push(`config.${key}: must be written \`${NAMESPACE}:${key}\` (Pulumi config keys are namespace:name)`);
      else if (m[1] === NAMESPACE) raw[m[2]!] = value;
      // Other namespaces belong to providers (kubernetes:context, ...): not ours to check.
    }
  }
  try {
    const config = parseStackConfig(raw, source, { rejectPlaintextSecrets: true });
    if (problems.length > 0) throw new ConfigError(source, problems);
    return config;
  } catch (e) {
    if (e instanceof ConfigError && problems.length > 0) throw new ConfigError(source, [...problems, ...e.problems]);
    throw e;
  }
}

/**
 * Validate the `chstack:` values (key without the namespace -> value). With `rejectPlaintextSecrets`, a
 * secret field written as plain text is refused: in a stack file it must be `secure:`. The Pulumi
 * engine hands the program decrypted values, so the program parses without it.
 */
export function parseStackConfig(raw: Record<string, unknown>, source: string, opts: { rejectPlaintextSecrets: boolean }): StackConfig {
  const result = stackConfigSchema.safeParse(raw);
  const problems = result.success ? [] : formatIssues(result.error.issues, raw, stackConfigSchema);
  if (opts.rejectPlaintextSecrets) problems.push(...plaintextSecrets(raw));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/** Secret fields holding plain strings, which would sit unencrypted in a committed file. */
function plaintextSecrets(raw: unknown): string[] {
  const candidates: (readonly string[])[] = [["postgres", "password"], ["postgres", "url"]];
  for (const role of ["admin", "writer", "readonly", "interserver"]) candidates.push(["clickhouse", "users", role, "password"]);
  const env = valueAt(raw, ["app", "secretEnv"]);
  if (isMap(env)) for (const k of Object.keys(env)) candidates.push(["app", "secretEnv", k]);
  return candidates
    .filter((p) => isSecretPath(p) && typeof valueAt(raw, p) === "string")
    .map((p) => `${formatPath(p)}: must be a Pulumi secret, not plain text in a committed file; set it with \`pulumi config set --secret --path '${NAMESPACE}:${formatPath(p)}' VALUE\``);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
