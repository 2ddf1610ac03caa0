// The app's whole configuration: environment variables (docs/app-contract.md), parsed once at start. A bad
// value is reported with the variable's name; a secret's value is never echoed.
import { z } from "zod";

/** The variables that hold credentials: never echoed, never logged. */
export const SECRET_ENV: ReadonlySet<string> = new Set(["CLICKHOUSE_PASSWORD", "DATABASE_URL", "APP_BOOTSTRAP_TEAM_TOKEN"]);
/** Variables whose messages quote the offending part themselves (a URL may hold credentials: never echoed whole). */
const SELF_QUOTING = new Set(["CLICKHOUSE_URL"]);

const int = (min: number, max: number, dflt: number) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === "") return dflt;
      const n = /^-?\d+$/.test(s.trim()) ? Number(s.trim()) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const httpUrl = (raw: string): string | undefined => {
  const s = raw.replace(/\/\/[^/]*@/, "//***@"); // as it may be quoted: no credentials
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${JSON.stringify(s)} is not a URL`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `${JSON.stringify(s)} is not an http(s) URL`;
  if (u.username || u.password) return "must not hold credentials (set CLICKHOUSE_USER and CLICKHOUSE_PASSWORD)";
  if (u.search || u.hash) return `${JSON.stringify(s)} must have no query or fragment`;
  return undefined;
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOKEN = /^[\x21-\x7e]{8,200}$/; // printable ASCII, no space

export const envSchema = z
  .object({
    CLICKHOUSE_URL: z
      .string({ error: "is required (one http URL, or several separated by commas)" })
      .transform((s, ctx) => {
        const urls = s.split(",").map((x) => x.trim()).filter((x) => x !== "");
        if (urls.length === 0) ctx.addIssue({ code: "custom", message: "is empty" });
        for (const u of urls) {
          const problem = httpUrl(u);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }
        return urls.map((u) => u.replace(/\/+$/, ""));
      }),
    CLICKHOUSE_DATABASE: z.string().regex(IDENTIFIER, "must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)").default("posthog"),
    CLICKHOUSE_USER: z.string().min(1, "must not be empty").default("default"),
    CLICKHOUSE_PASSWORD: z.string().default(""),
    DATABASE_URL: z.string({ error: "is required (postgres://user:password@host:port/database)" }).refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.hostname !== "";
      } catch {
        return false;
      }
    }, "must be a postgres:// or postgresql:// URL with a host"),
    PORT: int(1, 65535, 8000),
    HOST: z.string().min(1).default("0.0.0.0"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    APP_FLUSH_INTERVAL_MS: int(1, 10_000, 100),
    APP_BATCH_MAX_EVENTS: int(1, 1_000_000, 20_000),
    APP_BUFFER_MAX_EVENTS: int(1, 10_000_000, 200_000),
    APP_INSERT_CONCURRENCY: int(1, 64, 2),
    APP_INSERT_ATTEMPTS: int(1, 100, 5),
    APP_INSERT_TIMEOUT_MS: int(100, 600_000, 30_000),
    APP_BODY_LIMIT_BYTES: int(1024, 1024 ** 3, 20 * 1024 ** 2),
    APP_QUERY_TIMEOUT_MS: int(100, 600_000, 30_000),
    APP_TEAM_CACHE_TTL_MS: int(0, 3_600_000, 30_000),
    APP_SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 25_000),
    APP_STARTUP_TIMEOUT_MS: int(0, 3_600_000, 60_000),
    APP_QUERY_BINDING: z.enum(["auto", "parameters", "literals"]).default("auto"),
    APP_BOOTSTRAP_TEAM_TOKEN: z.string().regex(TOKEN, "must be 8 to 200 printable ASCII characters, no spaces").optional(),
    APP_BOOTSTRAP_TEAM_NAME: z.string().min(1).max(200).default("Default"),
  })
  .superRefine((e, ctx) => {
    if (e.APP_BATCH_MAX_EVENTS > e.APP_BUFFER_MAX_EVENTS) {
      ctx.addIssue({ code: "custom", path: ["APP_BATCH_MAX_EVENTS"], message: "must not exceed APP_BUFFER_MAX_EVENTS" });
    }
  });

export type Env = z.infer<typeof envSchema>;

export type EnvResult = { ok: true; env: Env } | { ok: false; problems: string[] };

/** Parse the environment; problems are one line each, naming the variable, never a secret's value. */
export function parseEnv(source: Record<string, string | undefined>): EnvResult {
  // An empty variable counts as unset (Kubernetes and shells both produce them).
  const input = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const r = envSchema.safeParse(input);
  if (r.success) return { ok: true, env: r.data };
  const problems = r.error.issues.map((i) => {
    const name = String(i.path[0] ?? "environment");
    const value = source[name];
    const hidden = SECRET_ENV.has(name) || SELF_QUOTING.has(name) || value === undefined;
    const shown = hidden ? "" : `, got ${JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value)}`;
    return `${name}: ${i.message}${shown}`;
  });
  return { ok: false, problems: [...new Set(problems)] };
}

/** DATABASE_URL with its password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key|token/i.test(k)) u.searchParams.set(k, "***");
    return u.toString();
  } catch {
    return "<unparseable URL>";
  }
}

/** The configuration as it may be logged. */
export function describeEnv(env: Env): Record<string, unknown> {
  return {
    ...env,
    CLICKHOUSE_PASSWORD: env.CLICKHOUSE_PASSWORD ? "***" : "",
    DATABASE_URL: redactUrl(env.DATABASE_URL),
    APP_BOOTSTRAP_TEAM_TOKEN: env.APP_BOOTSTRAP_TEAM_TOKEN ? "***" : undefined,
  };
}
