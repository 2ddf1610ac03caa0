// The wire formats of `chstack compare` (compare/encode.ts), each decoded back by an independent reader
// written here from the formats' documentation and compared with the generated events.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CLICKHOUSE_COLUMNS, escapeField, isoSeconds, POSTGRES_COLUMNS, toCopyText, toJsonEachRow, toRowBinary, toTabSeparated, writeUuid,
} from "../../compare/encode.ts";
import { generateEvents, type CompareEvent } from "../../compare/events.ts";

const reference = new Date("2025-06-01T00:00:00Z");
const events = [...generateEvents({ seed: 3, count: 20_000, reference })];
const hostile: CompareEvent = {
  uuid: "a1b2c3d4-e5f6-4789-9abc-def012345678", event: "tab\there", properties: '{"k":"back\\\\slash \\"q\\" \\n"}',
  timestamp: 1_748_736_000, teamId: 2 ** 40 + 3, distinctId: "new\nline\r\\", elementsChain: "é ☕ 𝄞", createdAt: 1_748_736_002, offset: 2 ** 33 + 1,
};
const sample = [...events.filter((e) => e.event === "$exception" || e.event === "$autocapture").slice(0, 50), hostile, ...events.slice(0, 200)];

/** Undo a TabSeparated / COPY text field's escapes. */
const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ t: "\t", n: "\n", r: "\r", "\\": "\\" })[c] ?? `\\${c}`);
const rowsOf = (text: string) => text.split("\n").slice(0, -1).map((line) => line.split("\t").map(unescape));

describe("field escaping (TabSeparated and COPY text)", () => {
  test("backslash, tab, newline and carriage return are escaped; nothing else changes", () => {
    assert.equal(escapeField("plain \"quoted\" 'x' é"), "plain \"quoted\" 'x' é");
    assert.equal(escapeField("a\\b\tc\nd\re"), "a\\\\b\\tc\\nd\\re");
    for (const e of sample) for (const f of [e.properties, e.distinctId, e.elementsChain, e.event]) assert.equal(unescape(escapeField(f)), f);
  });
});

describe("ClickHouse TabSeparated", () => {
  test("one line per event, the columns in order, every value read back", () => {
    const rows = rowsOf(toTabSeparated(sample));
    assert.equal(rows.length, sample.length);
    rows.forEach((r, i) => {
      const e = sample[i]!;
      assert.equal(r.length, CLICKHOUSE_COLUMNS.length);
      assert.deepEqual(r, [e.uuid, e.event, e.properties, String(e.timestamp), String(e.teamId), e.distinctId, e.elementsChain, String(e.createdAt), String(e.createdAt), String(e.offset)]);
    });
  });
});

describe("ClickHouse JSONEachRow", () => {
  test("one JSON object per event with every column", () => {
    const lines = toJsonEachRow(sample).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(lines[0]!), [...CLICKHOUSE_COLUMNS]);
    lines.forEach((o, i) => {
      const e = sample[i]!;
      assert.deepEqual(o, { uuid: e.uuid, event: e.event, properties: e.properties, timestamp: e.timestamp, team_id: e.teamId, distinct_id: e.distinctId, elements_chain: e.elementsChain, created_at: e.createdAt, _timestamp: e.createdAt, _offset: e.offset });
    });
  });
});

describe("ClickHouse RowBinary", () => {
  test("a uuid is two little-endian 64-bit halves (checked against ClickHouse 18.16: this uuid reads back as itself)", () => {
    const buf = Buffer.alloc(16);
    writeUuid(buf, 0, "a1b2c3d4-e5f6-4789-9abc-def012345678");
    assert.equal(buf.toString("hex"), "8947f6e5d4c3b2a178563412f0debc9a");
    assert.throws(() => writeUuid(buf, 0, "not-a-uuid"), /not a uuid/);
    assert.throws(() => writeUuid(buf, 0, "g1b2c3d4-e5f6-4789-9abc-def012345678"), /not a uuid/);
  });

  test("decodes back to the events: varint-length UTF-8 strings, UInt32 DateTime, 64-bit integers", () => {
    const buf = toRowBinary(sample);
    let pos = 0;
    const varint = () => {
      let n = 0;
      for (let shift = 0; ; shift += 7) {
        const b = buf[pos++]!;
        n += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return n;
      }
    };
    const string = () => {
      const n = varint();
      const s = buf.toString("utf8", pos, pos + n);
      pos += n;
      return s;
    };
    const uuid = () => {
      const hex = Buffer.concat([Buffer.from(buf.subarray(pos, pos + 8)).reverse(), Buffer.from(buf.subarray(pos + 8, pos + 16)).reverse()]).toString("hex");
      pos += 16;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    };
    const u32 = () => ((pos += 4), buf.readUInt32LE(pos - 4));
    const i64 = () => ((pos += 8), Number(buf.readBigInt64LE(pos - 8)));
    for (const e of sample) {
      assert.deepEqual(
        [uuid(), string(), string(), u32(), i64(), string(), string(), u32(), u32(), i64()],
        [e.uuid, e.event, e.properties, e.timestamp, e.teamId, e.distinctId, e.elementsChain, e.createdAt, e.createdAt, e.offset],
      );
    }
    assert.equal(pos, buf.length, "no trailing bytes");
  });
});

describe("Postgres COPY text", () => {
  test("timestamps as UTC timestamptz text", () => {
    assert.equal(isoSeconds(1_748_736_000), "2025-06-01 00:00:00+00");
    assert.equal(isoSeconds(1_748_736_000 - 1), "2025-05-31 23:59:59+00");
    assert.equal(isoSeconds(0), "1970-01-01 00:00:00+00");
    for (const e of events.slice(0, 2000)) assert.equal(new Date(isoSeconds(e.timestamp).replace(" ", "T").replace("+00", "Z")).getTime(), e.timestamp * 1000);
    assert.throws(() => isoSeconds(1.5), /unix time/);
  });

  test("one line per event, the columns in order, every value read back", () => {
    const rows = rowsOf(toCopyText(sample));
    assert.equal(rows.length, sample.length);
    rows.forEach((r, i) => {
      const e = sample[i]!;
      assert.equal(r.length, POSTGRES_COLUMNS.length);
      assert.deepEqual(r, [e.uuid, e.event, e.properties, isoSeconds(e.timestamp), String(e.teamId), e.distinctId, e.elementsChain, isoSeconds(e.createdAt)]);
    });
  });
});
