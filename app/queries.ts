// The read API's inputs (validated with zod) and its SQL (through binding.ts), read through the Distributed
// table `<database>.events`. Buckets are whole UTC days or hours computed from epoch seconds, so the answer
// does not depend on the servers' time zone. Pure: no I/O.
import { z } from "zod";
import { sql, type Sql } from "./binding.ts";
import { parseTimestamp } from "./capture/payload.ts";
import { formatIssues, kindOf, validationError } from "./errors.ts";
import { dateTime, identifier, inline, int64, isWellFormed, string } from "./literals.ts";

const MAX_BUCKETS = 10_000;
const STEP = { day: 86_400, hour: 3_600 } as const;

/** One query-string value (a repeated parameter arrives as an array). */
const one = (what: string) =>
  z.string({ error: (i) => (i.input === undefined ? "required" : Array.isArray(i.input) ? "given more than once" : `expected ${what}, got ${kindOf(i.input)}`) });

const name = (label: string) =>
  one(label).min(1, "must not be empty").max(200, "must be at most 200 characters").refine(isWellFormed, "must be valid Unicode");

const time = one("an ISO 8601 date or date-time").transform((s, ctx) => {
  const d = parseTimestamp(s);
  if (!d) {
    ctx.addIssue({ code: "custom", message: "must be an ISO 8601 date or date-time (UTC unless it has an offset) between 1970 and 2105" });
    return z.NEVER;
  }
  return d;
});

const positiveInt = (max: number) =>
  one("an integer").transform((s, ctx) => {
    const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer from 1 to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const common = {
  team_id: positiveInt(Number.MAX_SAFE_INTEGER).optional(),
  event: name("an event name"),
  from: time.optional(),
  to: time.optional(),
};

export const trendsInput = z.object({ ...common, interval: z.enum(["day", "hour"], { error: "must be day or hour" }).default("day") });
export const breakdownInput = z.object({ ...common, property: name("a property name"), limit: positiveInt(1000).default(100) });

export interface Range {
  readonly from: Date;
  readonly to: Date;
}
export type TrendsQuery = { team: number; event: string; interval: "day" | "hour" } & Range;
export type BreakdownQuery = { team: number; event: string; property: string; limit: number } & Range;

/**
 * Validate a query string for `team`, the team of the API key: `team_id` may be left out, and must be the
 * key's own team when given (else `forbidden` is returned). `to` defaults to now, `from` to 7 days before `to`.
 */
export function parseTrends(query: unknown, team: number, now: Date): TrendsQuery | { forbidden: number } {
  const r = trendsInput.safeParse(query ?? {});
  if (!r.success) throw validationError("invalid_query", formatIssues(r.error.issues), r.error.issues.length);
  if (r.data.team_id !== undefined && r.data.team_id !== team) return { forbidden: r.data.team_id };
  const range = rangeOf(r.data.from, r.data.to, now, STEP[r.data.interval]);
  return { team, event: r.data.event, interval: r.data.interval, ...range };
}

export function parseBreakdown(query: unknown, team: number, now: Date): BreakdownQuery | { forbidden: number } {
  const r = breakdownInput.safeParse(query ?? {});
  if (!r.success) throw validationError("invalid_query", formatIssues(r.error.issues), r.error.issues.length);
  if (r.data.team_id !== undefined && r.data.team_id !== team) return { forbidden: r.data.team_id };
  const range = rangeOf(r.data.from, r.data.to, now, undefined);
  return { team, event: r.data.event, property: r.data.property, limit: r.data.limit, ...range };
}

function rangeOf(from: Date | undefined, to: Date | undefined, now: Date, step: number | undefined): Range {
  const end = to ?? now;
  const start = from ?? new Date(end.getTime() - 7 * 86_400_000);
  if (start.getTime() >= end.getTime()) throw validationError("invalid_query", ["from: must be before to"]);
  if (step !== undefined && bucketsBetween(start, end, step) > MAX_BUCKETS) {
    throw validationError("invalid_query", [`to: the range holds more than ${MAX_BUCKETS} buckets of the interval`]);
  }
  return { from: start, to: end };
}

/** Events and unique distinct ids per UTC day or hour in [from, to), with totals over the whole range. */
export function trendsSql(database: string, q: TrendsQuery): Sql {
  const step = inline(STEP[q.interval]);
  return sql`SELECT intDiv(toUInt32(timestamp), ${step}) * ${step} AS bucket, count() AS events, uniqExact(distinct_id) AS users
FROM ${identifier(database)}.events
WHERE team_id = ${int64(q.team)} AND event = ${string(q.event)} AND timestamp >= ${dateTime(floorSeconds(q.from))} AND timestamp < ${dateTime(ceilSeconds(q.to))}
GROUP BY bucket WITH TOTALS
ORDER BY bucket`;
}

/** Events and unique distinct ids per value of one string property (visitParamExtractString: 18.16 has no JSONExtract*). */
export function breakdownSql(database: string, q: BreakdownQuery): Sql {
  return sql`SELECT visitParamExtractString(properties, ${string(q.property)}) AS value, count() AS events, uniqExact(distinct_id) AS users
FROM ${identifier(database)}.events
WHERE team_id = ${int64(q.team)} AND event = ${string(q.event)} AND timestamp >= ${dateTime(floorSeconds(q.from))} AND timestamp < ${dateTime(ceilSeconds(q.to))}
GROUP BY value WITH TOTALS
ORDER BY events DESC, value
LIMIT ${inline(q.limit)}`;
}

export interface CountRow {
  readonly events: string | number;
  readonly users: string | number;
}

/** The series with every bucket of the range present (zero when no event fell in it). */
export function fillSeries(rows: readonly (CountRow & { bucket: string | number })[], q: TrendsQuery): { bucket: string; events: number; users: number }[] {
  const step = STEP[q.interval];
  const byBucket = new Map(rows.map((r) => [Number(r.bucket), r]));
  const out: { bucket: string; events: number; users: number }[] = [];
  const first = Math.floor(floorSeconds(q.from) / step) * step;
  for (let b = first; b < ceilSeconds(q.to); b += step) {
    const r = byBucket.get(b);
    out.push({ bucket: new Date(b * 1000).toISOString(), events: Number(r?.events ?? 0), users: Number(r?.users ?? 0) });
  }
  return out;
}

export const totalsOf = (t: CountRow | undefined) => ({ events: Number(t?.events ?? 0), users: Number(t?.users ?? 0) });

const floorSeconds = (d: Date) => Math.floor(d.getTime() / 1000);
const ceilSeconds = (d: Date) => Math.ceil(d.getTime() / 1000);

function bucketsBetween(from: Date, to: Date, step: number): number {
  return Math.ceil((ceilSeconds(to) - Math.floor(floorSeconds(from) / step) * step) / step);
}
