// A validated event to a row of `writable_events` (schema/posthog.ts), serialized once as a TabSeparated
// line: the bytes that are sent, and sent again unchanged on a retry. Pure: time, uuids and offsets come in
// through the context.
//
// TabSeparated rather than JSONEachRow (both work on 18.16 and current ClickHouse): measured on the 2x2
// loopback stack, ClickHouse spent 30% less CPU per row on it (about 10 against 14 us, the four servers
// together), the body is 40% smaller (the properties' JSON needs no second escaping), and the line costs
// the app 0.4 us instead of 1.3 us.
import type { RawEvent } from "./payload.ts";
import { distinctIdOf, isObject } from "./payload.ts";

export interface RowContext {
  readonly teamId: number;
  /** When the request arrived. */
  readonly now: Date;
  /** The client's clock when it sent the request, if it said. */
  readonly sentAt: Date | undefined;
  /** A new event uuid, for events that came without one. */
  readonly newUuid: () => string;
  /** `_offset` of the next row: the app's ingestion sequence (PostHog stored the Kafka offset there). */
  readonly nextOffset: () => number;
}

export interface EventRow {
  readonly uuid: string;
  readonly event: string;
  /** The properties object as JSON text. */
  readonly properties: string;
  /** DateTime columns as epoch seconds (UTC, whatever the server's time zone). */
  readonly timestamp: number;
  readonly team_id: number;
  readonly distinct_id: string;
  readonly elements_chain: string;
  readonly created_at: number;
  readonly _timestamp: number;
  readonly _offset: number;
}

export function toRow(e: RawEvent, ctx: RowContext): EventRow {
  const nowSeconds = Math.floor(ctx.now.getTime() / 1000);
  let props: Record<string, unknown> = isObject(e.properties) ? e.properties : {};
  const chain = props["$elements_chain"];
  if (typeof chain === "string" || isObject(e.$set) || isObject(e.$set_once)) {
    props = { ...props };
    delete props["$elements_chain"];
    // PostHog folds the top-level $set / $set_once of identify-style events into the properties
    if (isObject(e.$set)) props["$set"] = { ...(isObject(props["$set"]) ? props["$set"] : {}), ...e.$set };
    if (isObject(e.$set_once)) props["$set_once"] = { ...(isObject(props["$set_once"]) ? props["$set_once"] : {}), ...e.$set_once };
  }
  return {
    uuid: e.uuid ? e.uuid.toLowerCase() : ctx.newUuid(),
    event: wellFormed(e.event),
    properties: JSON.stringify(props),
    timestamp: Math.floor(eventTimeMs(e, props, ctx.now, ctx.sentAt) / 1000),
    team_id: ctx.teamId,
    distinct_id: wellFormed(distinctIdOf(e) ?? ""),
    elements_chain: typeof chain === "string" ? wellFormed(chain) : "",
    created_at: nowSeconds,
    _timestamp: nowSeconds,
    _offset: ctx.nextOffset(),
  };
}

/** The row as one TabSeparated line, the columns in EVENT_COLUMNS' order (app/clickhouse.ts). */
export function rowLine(r: EventRow): string {
  return `${r.uuid}\t${escapeTsv(r.event)}\t${escapeTsv(r.properties)}\t${r.timestamp}\t${r.team_id}\t${escapeTsv(r.distinct_id)}\t${escapeTsv(r.elements_chain)}\t${r.created_at}\t${r._timestamp}\t${r._offset}\n`;
}

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0" };

/**
 * A string as a TabSeparated field: the backslash, tab, newline, carriage return and NUL written as
 * `\\`, `\t`, `\n`, `\r`, `\0` (ClickHouse's escaped text format); everything else as it is.
 */
export function escapeTsv(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c]!) : s;
}

const DAY_MS = 86_400_000;
const MAX_DATETIME_MS = Date.UTC(2106, 0, 1) - 1000;

/**
 * When the event happened, as PostHog's ingestion decides it: the client's timestamp corrected for the
 * client's clock skew (now + timestamp - sent_at) when the request says when it was sent (unless the event
 * sets $ignore_sent_at); else the timestamp; else now - offset (milliseconds ago); else now. A result
 * more than 23 hours ahead of now, or outside DateTime, is replaced by now.
 */
export function eventTime(e: RawEvent, props: Record<string, unknown>, now: Date, sentAt: Date | undefined): Date {
  return new Date(eventTimeMs(e, props, now, sentAt));
}

export function eventTimeMs(e: RawEvent, props: Record<string, unknown>, now: Date, sentAt: Date | undefined): number {
  const ts = typeof e.timestamp === "number" ? e.timestamp : undefined;
  let t: number;
  if (ts !== undefined && sentAt && props["$ignore_sent_at"] !== true) t = now.getTime() + (ts - sentAt.getTime());
  else if (ts !== undefined) t = ts;
  else if (typeof e.offset === "number") t = now.getTime() - e.offset;
  else t = now.getTime();
  if (t > now.getTime() + DAY_MS - 3_600_000 || t < 0 || t > MAX_DATETIME_MS) return now.getTime();
  return t;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Lone UTF-16 surrogates (which UTF-8 cannot carry) as U+FFFD, as a UTF-8 encoder would write them. */
export function wellFormed(s: string): string {
  if (!SURROGATE.test(s)) return s;
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
