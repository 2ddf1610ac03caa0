// Turns schema issues into one line each: `<field path>: <rule>, got <value>`. All problems are reported
// at once; secret values are never echoed.
import type { z } from "zod";
import { managedSettingReason } from "./settings.ts";

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(
    /** Where the config came from, e.g. `Pulumi.dev.yaml`. */
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Path = readonly PropertyKey[];

export const formatPath = (path: Path) => path.map(String).join(".");

/** Fields whose values are secrets: never printed, whatever is wrong with them. */
export function isSecretPath(path: Path): boolean {
  const p = path.map(String);
  return (
    p.includes("password") ||
    p.includes("secretEnv") ||
    (p[0] === "postgres" && (p.length === 1 || p[1] === "url")) ||
    // A value written in place of a user's map is most likely its password.
    (p[0] === "clickhouse" && p[1] === "users" && p.length <= 3)
  );
}

export function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function describeValue(v: unknown, secretField = false): string {
  if (v === undefined) return "nothing";
  if (secretField) return v !== null && typeof v === "object" && "secure" in v ? "a Pulumi secret" : "a hidden value";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "secure" in v ? "a Pulumi secret" : "a map";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

/** One line per problem, deduplicated, in input order. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown, schema: z.ZodType): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = objectKeysAt(schema, issue.path, input);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const managed = managedSettingReason(key);
        const close = known && closest(key, known);
        const hint = close ? ` (did you mean "${close}"?)` : known ? ` (expected one of: ${known.join(", ")})` : "";
        lines.push(`${formatPath(path)}: ${managed ?? `unknown key${hint}`}`);
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      // A bad key of a map (a label key, an env var name): the key's own rule, and the key itself.
      const key = issue.path.at(-1);
      lines.push(`${formatPath(issue.path)}: ${issue.issues[0]?.message ?? "is not a valid key"}, got ${JSON.stringify(String(key))}`);
      continue;
    }
    const message =
      issue.code === "invalid_type" && issue.message.startsWith("Invalid input")
        ? `must be ${issue.expected === "object" ? "a map" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}`
        : issue.message;
    const field = formatPath(issue.path) || "(top level)";
    // Custom checks word their own "got"; type and range rules get the offending value appended.
    const got = issue.code === "custom" ? "" : `, got ${describeValue(valueAt(input, issue.path), isSecretPath(issue.path))}`;
    lines.push(`${field}: ${message}${got}`);
  }
  return [...new Set(lines)];
}

/** The keys the schema allows at `path` (for "did you mean"), or undefined where it can't tell. */
function objectKeysAt(schema: z.ZodType, path: Path, input: unknown): string[] | undefined {
  let s: unknown = schema;
  for (let i = 0; i <= path.length; i++) {
    s = unwrap(s, valueAt(input, path.slice(0, i)));
    if (i === path.length) break;
    const def = defOf(s);
    const key = path[i];
    if (def?.type === "object") s = (def.shape as Record<PropertyKey, unknown>)[key as PropertyKey];
    else if (def?.type === "record") s = def.valueType;
    else return undefined;
  }
  const def = defOf(s);
  return def?.type === "object" ? Object.keys(def.shape as object) : undefined;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })?._zod?.def;

/** Look through wrappers (default, optional, pipe, preprocess) and pick a discriminated union's branch. */
function unwrap(s: unknown, value: unknown): unknown {
  for (;;) {
    const def = defOf(s);
    if (!def) return s;
    if (def.type === "default" || def.type === "prefault" || def.type === "optional" || def.type === "nullable") s = def.innerType;
    else if (def.type === "pipe") s = defOf(def.in)?.type === "transform" ? def.out : def.in;
    else if (def.type === "union" && typeof def.discriminator === "string") {
      const tag = value && typeof value === "object" ? (value as Record<string, unknown>)[def.discriminator] : undefined;
      const options = def.options as unknown[];
      const match = options.find((o) => {
        const shape = defOf(o)?.shape as Record<string, unknown> | undefined;
        const lit = defOf(shape?.[def.discriminator as string]);
        return (lit?.values as unknown[] | undefined)?.includes(tag);
      });
      s = match ?? options[0];
    } else return s;
  }
}

/** The known key nearest to a typo, if it is near enough to be a likely intent. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
