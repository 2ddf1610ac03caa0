// A decoded capture payload: its shape (one event, an array of events, or PostHog's batch object), its
// project API key, and its events validated with zod. Pure: no I/O.
import { z } from "zod";
import { formatIssues, HttpError, kindOf, validationError } from "../errors.ts";

/** One event as a client sent it, validated; the fields the app reads (others are dropped). */
export interface RawEvent {
  readonly event: string;
  readonly distinct_id?: string | number | null;
  readonly $distinct_id?: string | number | null;
  readonly properties?: Record<string, unknown> | null;
  /** The client's timestamp, parsed: epoch milliseconds. */
  readonly timestamp?: number | null;
  readonly offset?: number | null;
  readonly uuid?: string | null;
  readonly $set?: Record<string, unknown> | null;
  readonly $set_once?: Record<string, unknown> | null;
}

export interface CapturePayload {
  /** The project API key, or undefined when the payload carries none. */
  readonly token: string | undefined;
  /** The client's clock when it sent the request (PostHog's clock-skew correction). */
  readonly sentAt: Date | undefined;
  /** Where each event sits in the JSON, for messages: ["batch"], [] (an array), or undefined (one event). */
  readonly prefix: readonly (string | number)[] | undefined;
  readonly items: readonly unknown[];
}

/** Parse the JSON text and find the events and the key; the events are validated by `validateEvents`. */
export function parsePayload(json: string, query: Readonly<Record<string, unknown>> = {}): CapturePayload {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `malformed JSON: ${(e as Error).message}`);
  }
  const querySentAt = sentAtFromQuery(query);
  if (Array.isArray(data)) {
    return { token: tokenOfEvents(data, []), sentAt: querySentAt, prefix: [], items: data };
  }
  if (!isObject(data)) {
    throw new HttpError(400, "invalid_payload", `payload must be an event object, an array of events or {"batch": [...]}, got ${kindOf(data)}`);
  }
  if ("batch" in data) {
    const batch = data["batch"];
    if (!Array.isArray(batch)) throw new HttpError(400, "invalid_payload", `batch: expected an array, got ${kindOf(batch)}`);
    const key = data["api_key"] ?? data["token"];
    if (key !== undefined && typeof key !== "string") throw new HttpError(400, "invalid_payload", `api_key: expected a string, got ${kindOf(key)}`);
    const sentAt = typeof data["sent_at"] === "string" ? parseTimestamp(data["sent_at"]) : undefined;
    return { token: key || tokenOfEvents(batch, ["batch"]), sentAt: sentAt ?? querySentAt, prefix: ["batch"], items: batch };
  }
  return { token: tokenOfEvents([data], undefined), sentAt: querySentAt, prefix: undefined, items: [data] };
}

/** The one key the events carry (`token`, `$token`, `api_key`, or `properties.token`); two different ones are refused. */
function tokenOfEvents(items: readonly unknown[], prefix: readonly (string | number)[] | undefined): string | undefined {
  let found: string | undefined;
  items.forEach((item, i) => {
    if (!isObject(item)) return;
    const props = item["properties"];
    const t = item["token"] ?? item["$token"] ?? item["api_key"] ?? (isObject(props) ? props["token"] : undefined);
    if (t === undefined || t === null || t === "") return;
    if (typeof t !== "string") throw new HttpError(400, "invalid_payload", `${[...(prefix ?? []), ...(prefix ? [i] : []), "token"].join(".")}: expected a string, got ${kindOf(t)}`);
    if (found !== undefined && found !== t) throw new HttpError(400, "invalid_payload", "events carry different project API keys: send one project's events per request");
    found = t;
  });
  return found;
}

const str = (max: number) =>
  z.string({ error: (i) => (i.input === undefined ? "required" : `expected a string, got ${kindOf(i.input)}`) }).max(max, `must be at most ${max} characters`);
const object = () =>
  z.custom<Record<string, unknown>>(isObject, { error: (i) => `expected an object, got ${kindOf(i.input)}` });
const distinctId = z.union([z.string(), z.number()], { error: (i) => `expected a string or a number, got ${kindOf(i.input)}` });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const eventSchema = z
  .object({
    event: str(200).min(1, "must not be empty"),
    distinct_id: distinctId.nullish(),
    $distinct_id: distinctId.nullish(),
    properties: object().nullish(),
    timestamp: str(64)
      .transform((s, ctx) => {
        const ms = parseTimestampMs(s);
        if (ms === undefined) ctx.addIssue({ code: "custom", message: "must be an ISO 8601 timestamp between 1970 and 2105" });
        return ms ?? 0;
      })
      .nullish(),
    offset: z.number({ error: (i) => `expected a number, got ${kindOf(i.input)}` }).int("must be an integer").min(0, "must not be negative").nullish(),
    uuid: z
      .string({ error: (i) => `expected a string, got ${kindOf(i.input)}` })
      .refine((s) => s === "" || UUID.test(s), "must be a UUID (8-4-4-4-12 hex digits)")
      .nullish(),
    $set: object().nullish(),
    $set_once: object().nullish(),
  })
  .superRefine((e, ctx) => {
    if (distinctIdOf(e as RawEvent) === undefined) ctx.addIssue({ code: "custom", path: ["distinct_id"], message: "required" });
  });

/** Every event valid, or a 400 naming each problem (`batch.3.event: required`). */
export function validateEvents(p: CapturePayload): RawEvent[] {
  const out: RawEvent[] = [];
  const problems: string[] = [];
  let total = 0;
  p.items.forEach((item, i) => {
    if (!isObject(item)) {
      total++;
      if (problems.length < 20) problems.push(`${[...(p.prefix ?? []), i].join(".")}: expected an event object, got ${kindOf(item)}`);
      return;
    }
    const r = eventSchema.safeParse(item);
    if (r.success) out.push(r.data as RawEvent);
    else {
      total += r.error.issues.length;
      problems.push(...formatIssues(r.error.issues, p.prefix ? [...p.prefix, i] : [], Math.max(0, 20 - problems.length)));
    }
  });
  if (total > 0) throw validationError("invalid_event", problems, total);
  return out;
}

/** The distinct id PostHog's capture takes: `distinct_id`, else `$distinct_id`, else `properties.distinct_id`; stringified, at most 200 characters. */
export function distinctIdOf(e: RawEvent): string | undefined {
  const props = e.properties;
  const candidates = [e.distinct_id, e.$distinct_id, isObject(props) ? props["distinct_id"] : undefined];
  for (const v of candidates) {
    if (v === undefined || v === null) continue;
    let s = typeof v === "string" ? v : JSON.stringify(v);
    if (s.includes("\0")) s = s.replace(/\0/g, "\uFFFD");
    if (s === "") continue;
    if (s.length <= 200) return s; // UTF-16 units >= code points
    const points = Array.from(s);
    return points.length > 200 ? points.slice(0, 200).join("") : s;
  }
  return undefined;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const MAX_DATETIME_MS = Date.UTC(2106, 0, 1) - 1000; // inside ClickHouse's DateTime (ends 2106-02-07)
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An ISO 8601 date or date-time as epoch milliseconds; without an offset it is UTC. Undefined when it is
 * not one, names a day that does not exist (2026-02-30), or falls outside ClickHouse's DateTime. Called
 * for every event: arithmetic on the matched fields, no Date.parse (which rolls 2026-02-31 over to March).
 */
export function parseTimestampMs(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!;
  const h = m[4] ? +m[4] : 0, mi = m[5] ? +m[5] : 0, sec = m[6] ? +m[6] : 0;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 1 : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1]! + leap || h > 23 || mi > 59 || sec > 59) return undefined;
  let ms = Date.UTC(y, mo - 1, d, h, mi, sec) + (m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0);
  if (m[9]) {
    const oh = +m[10]!, om = m[11] ? +m[11] : 0;
    if (oh > 23 || om > 59) return undefined;
    ms -= (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return ms >= 0 && ms <= MAX_DATETIME_MS ? ms : undefined;
}

/** parseTimestampMs as a Date. */
export function parseTimestamp(s: string): Date | undefined {
  const ms = parseTimestampMs(s.trim());
  return ms === undefined ? undefined : new Date(ms);
}

/** posthog-js sends its clock as `_=<milliseconds>`; seconds (older clients) are ignored, as PostHog does. */
function sentAtFromQuery(query: Readonly<Record<string, unknown>>): Date | undefined {
  const raw = query["_"] ?? query["sent_at"];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v !== "string" || !/^\d{1,15}$/.test(v)) return undefined;
  const d = new Date(Number(v));
  return d.getUTCFullYear() > 2020 && d.getUTCFullYear() < 2106 ? d : undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
