// The wire formats events are loaded in: ClickHouse TabSeparated, RowBinary and JSONEachRow, and Postgres
// COPY text. Pure functions of the events; the loaders stream their output.
import type { CompareEvent } from "./events.ts";

/** The columns every ClickHouse format carries, in this order (writable_events: no MATERIALIZED column). */
export const CLICKHOUSE_COLUMNS = ["uuid", "event", "properties", "timestamp", "team_id", "distinct_id", "elements_chain", "created_at", "_timestamp", "_offset"] as const;
/** The columns COPY fills, in this order. */
export const POSTGRES_COLUMNS = ["uuid", "event", "properties", "timestamp", "team_id", "distinct_id", "elements_chain", "created_at"] as const;

export type ClickHouseFormat = "TabSeparated" | "RowBinary" | "JSONEachRow";
export const CLICKHOUSE_FORMATS: readonly ClickHouseFormat[] = ["TabSeparated", "RowBinary", "JSONEachRow"];

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/**
 * A field of ClickHouse TabSeparated or of Postgres COPY text: both read a backslash escape for backslash,
 * tab, newline and carriage return, and take every other character as it is.
 */
export function escapeField(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
}

/** TabSeparated rows. DateTime as unix seconds: ClickHouse reads digits as a timestamp, whatever its time zone. */
export function toTabSeparated(events: readonly CompareEvent[]): string {
  let out = "";
  for (const e of events) {
    out += `${e.uuid}\t${escapeField(e.event)}\t${escapeField(e.properties)}\t${e.timestamp}\t${e.teamId}\t${escapeField(e.distinctId)}\t${escapeField(e.elementsChain)}\t${e.createdAt}\t${e.createdAt}\t${e.offset}\n`;
  }
  return out;
}

/** JSONEachRow rows (DateTime as unix seconds). */
export function toJsonEachRow(events: readonly CompareEvent[]): string {
  let out = "";
  for (const e of events) {
    out += `{"uuid":"${e.uuid}","event":${JSON.stringify(e.event)},"properties":${JSON.stringify(e.properties)},"timestamp":${e.timestamp},"team_id":${e.teamId},"distinct_id":${JSON.stringify(e.distinctId)},"elements_chain":${JSON.stringify(e.elementsChain)},"created_at":${e.createdAt},"_timestamp":${e.createdAt},"_offset":${e.offset}}\n`;
  }
  return out;
}

const hexValue = (c: number) => (c <= 57 ? c - 48 : (c | 0x20) - 87);

/** A uuid's 16 bytes as ClickHouse's RowBinary has them: each 8-byte half little-endian (as a UInt64). */
export function writeUuid(buf: Buffer, pos: number, uuid: string): number {
  if (uuid.length !== 36) throw new Error(`not a uuid: ${uuid}`);
  let byte = 0;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const hi = hexValue(uuid.charCodeAt(i++));
    const lo = hexValue(uuid.charCodeAt(i));
    if (!(hi >= 0 && hi < 16 && lo >= 0 && lo < 16)) throw new Error(`not a uuid: ${uuid}`);
    const half = byte < 8 ? 0 : 8;
    buf[pos + half + 7 - (byte - half)] = (hi << 4) | lo;
    byte++;
  }
  return pos + 16;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  let n = Buffer.byteLength(s);
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos + buf.write(s, pos);
}

/** A safe integer as 8 bytes little-endian, two's complement (no BigInt per value). */
function writeInt64(buf: Buffer, pos: number, n: number): number {
  const lo = n >>> 0;
  const hi = Math.floor(n / 4294967296) >>> 0;
  buf.writeUInt32LE(lo, pos);
  buf.writeUInt32LE(hi, pos + 4);
  return pos + 8;
}

/** RowBinary rows: UUID 16 bytes, String varint length and UTF-8, DateTime UInt32, Int64 and UInt64 little-endian. */
export function toRowBinary(events: readonly CompareEvent[]): Buffer {
  let size = 0;
  for (const e of events) size += 16 + 4 * 3 + 8 * 2 + 4 * 5 + 3 * (e.event.length + e.properties.length + e.distinctId.length + e.elementsChain.length);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const e of events) {
    pos = writeUuid(buf, pos, e.uuid);
    pos = writeString(buf, pos, e.event);
    pos = writeString(buf, pos, e.properties);
    pos = buf.writeUInt32LE(e.timestamp, pos);
    pos = writeInt64(buf, pos, e.teamId);
    pos = writeString(buf, pos, e.distinctId);
    pos = writeString(buf, pos, e.elementsChain);
    pos = buf.writeUInt32LE(e.createdAt, pos);
    pos = buf.writeUInt32LE(e.createdAt, pos);
    pos = writeInt64(buf, pos, e.offset);
  }
  return buf.subarray(0, pos);
}

export function encodeClickHouse(format: ClickHouseFormat, events: readonly CompareEvent[]): string | Buffer {
  return format === "RowBinary" ? toRowBinary(events) : format === "JSONEachRow" ? toJsonEachRow(events) : toTabSeparated(events);
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const DAYS = new Map<number, string>();

/** `YYYY-MM-DD hh:mm:ss+00`, as Postgres reads a timestamptz (a cache of days: Date.toISOString per row is slow). */
export function isoSeconds(unix: number): string {
  if (!Number.isSafeInteger(unix)) throw new RangeError(`not a unix time in seconds: ${unix}`);
  const d = Math.floor(unix / 86_400);
  let day = DAYS.get(d);
  if (day === undefined) {
    day = new Date(d * 86_400_000).toISOString().slice(0, 10);
    if (DAYS.size > 10_000) DAYS.clear();
    DAYS.set(d, day);
  }
  const s = unix - d * 86_400;
  return `${day} ${PAD2[Math.floor(s / 3600)]}:${PAD2[Math.floor(s / 60) % 60]}:${PAD2[s % 60]}+00`;
}

/** COPY ... FROM STDIN (text format) rows. */
export function toCopyText(events: readonly CompareEvent[]): string {
  let out = "";
  for (const e of events) {
    out += `${e.uuid}\t${escapeField(e.event)}\t${escapeField(e.properties)}\t${isoSeconds(e.timestamp)}\t${e.teamId}\t${escapeField(e.distinctId)}\t${escapeField(e.elementsChain)}\t${isoSeconds(e.createdAt)}\n`;
  }
  return out;
}
