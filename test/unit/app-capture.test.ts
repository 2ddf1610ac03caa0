// The capture pipeline's pure parts: payload decoding (app/capture/decode.ts), payload shapes, API keys and
// event validation (payload.ts), and rows (event.ts).
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { describe, test } from "node:test";
import { decodePayload, looksLikeBase64, type CaptureInput } from "../../app/capture/decode.ts";
import { escapeTsv, eventTime, rowLine, toRow, wellFormed, type RowContext } from "../../app/capture/event.ts";
import { distinctIdOf, parsePayload, parseTimestamp, validateEvents, type RawEvent } from "../../app/capture/payload.ts";
import { offsetSequence } from "../../app/capture/route.ts";
import { refusal } from "../support/http-error.ts";

const LIMIT = 1024 * 1024;
const input = (o: Partial<CaptureInput>): CaptureInput => ({ body: undefined, contentType: undefined, contentEncoding: undefined, query: {}, ...o });
const json = '{"api_key":"k","batch":[{"event":"e","distinct_id":"d"}]}';

describe("decodePayload", () => {
  test("plain JSON body", () => {
    assert.equal(decodePayload(input({ body: Buffer.from(json), contentType: "application/json" }), LIMIT), json);
  });

  test("gzip: by Content-Encoding (posthog-node), by compression=gzip-js (posthog-js), or by its magic bytes alone", () => {
    const gz = gzipSync(json);
    assert.equal(decodePayload(input({ body: gz, contentEncoding: "gzip" }), LIMIT), json);
    assert.equal(decodePayload(input({ body: gz, contentType: "text/plain", query: { compression: "gzip-js" } }), LIMIT), json);
    assert.equal(decodePayload(input({ body: gz }), LIMIT), json);
  });

  test("base64: compression=base64 in a form's data field (posthog-js), a data query parameter, or a bare base64 body", () => {
    const b64 = Buffer.from(json).toString("base64");
    const form = `data=${encodeURIComponent(b64)}&compression=base64`;
    assert.equal(decodePayload(input({ body: Buffer.from(form), contentType: "application/x-www-form-urlencoded" }), LIMIT), json);
    // '+' sent unescaped in a form arrives as ' ': restored
    const plusy = Buffer.from('{"event":"?>>?>>"}').toString("base64");
    assert.match(plusy, /\+/);
    assert.equal(decodePayload(input({ body: Buffer.from(`data=${plusy}`), contentType: "application/x-www-form-urlencoded" }), LIMIT), '{"event":"?>>?>>"}');
    assert.equal(decodePayload(input({ query: { data: b64, compression: "base64" } }), LIMIT), json);
    assert.equal(decodePayload(input({ body: Buffer.from(b64) }), LIMIT), json);
    assert.equal(decodePayload(input({ body: Buffer.from(gzipSync(json).toString("base64")) }), LIMIT), json);
  });

  test("a form's data field holding plain JSON; JSON sent with a form content type (curl -d) read as it is", () => {
    assert.equal(decodePayload(input({ body: Buffer.from(`data=${encodeURIComponent(json)}`), contentType: "application/x-www-form-urlencoded; charset=utf-8" }), LIMIT), json);
    assert.equal(decodePayload(input({ body: Buffer.from(json), contentType: "application/x-www-form-urlencoded" }), LIMIT), json);
  });

  test("refusals: empty, form without data, lz64, unknown Content-Encoding, bad gzip, bad UTF-8", () => {
    assert.deepEqual(refusal(() => decodePayload(input({}), LIMIT)).status, 400);
    assert.match(refusal(() => decodePayload(input({ body: Buffer.from("ver=1&x=2"), contentType: "application/x-www-form-urlencoded" }), LIMIT)).message, /no data field/);
    const lz = refusal(() => decodePayload(input({ body: Buffer.from("N4Ig"), query: { compression: "lz64" } }), LIMIT));
    assert.equal(lz.status, 415);
    assert.match(lz.message, /gzip/);
    assert.equal(refusal(() => decodePayload(input({ body: Buffer.from(json), contentEncoding: "br" }), LIMIT)).status, 415);
    assert.match(refusal(() => decodePayload(input({ body: Buffer.from([0x1f, 0x8b, 0x08, 1, 2, 3]) }), LIMIT)).message, /invalid gzip/);
    assert.match(refusal(() => decodePayload(input({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), LIMIT)).message, /UTF-8/);
  });

  test("size: a gzip bomb and an oversized decoded payload are 413", () => {
    const bomb = gzipSync(Buffer.alloc(10 * LIMIT, 0x20));
    assert.ok(bomb.length < 20_000);
    const r = refusal(() => decodePayload(input({ body: bomb, contentEncoding: "gzip" }), LIMIT));
    assert.equal(r.status, 413);
    assert.match(r.message, /exceeds 1048576 bytes/);
    assert.equal(refusal(() => decodePayload(input({ body: Buffer.from(`"${"x".repeat(LIMIT)}"`) }), LIMIT)).status, 413);
    const atLimit = `"${"x".repeat(LIMIT - 2)}"`;
    assert.equal(decodePayload(input({ body: gzipSync(atLimit) }), LIMIT), atLimit);
  });

  test("looksLikeBase64 never takes JSON", () => {
    assert.equal(looksLikeBase64('{"a":1}'), false);
    assert.equal(looksLikeBase64("[1,2]"), false);
    assert.equal(looksLikeBase64("eyJhIjoxfQ=="), true);
    assert.equal(looksLikeBase64("abc"), false);
  });
});

describe("parsePayload", () => {
  test("the three shapes and where the key is", () => {
    const batch = parsePayload('{"api_key":"k1","batch":[{"event":"a"}],"sent_at":"2026-11-01T00:00:01Z"}');
    assert.equal(batch.token, "k1");
    assert.deepEqual(batch.prefix, ["batch"]);
    assert.equal(batch.sentAt?.toISOString(), "2026-11-01T00:00:01.000Z");
    const array = parsePayload('[{"event":"a","properties":{"token":"k2"}},{"event":"b"}]');
    assert.equal(array.token, "k2");
    assert.deepEqual(array.prefix, []);
    assert.equal(array.items.length, 2);
    assert.equal(parsePayload('{"event":"a","api_key":"k3"}').token, "k3");
    assert.equal(parsePayload('{"event":"a","$token":"k4"}').token, "k4");
    assert.equal(parsePayload('{"event":"a","token":"k5"}').prefix, undefined);
    assert.equal(parsePayload('{"token":"k6","batch":[]}').token, "k6");
    assert.equal(parsePayload('{"batch":[{"event":"a","token":"k7"}]}').token, "k7");
    assert.equal(parsePayload('{"event":"a"}').token, undefined);
  });

  test("posthog-js's sent_at from the `_` query parameter, in milliseconds only", () => {
    assert.equal(parsePayload('{"event":"a"}', { _: "1793528430123" }).sentAt?.toISOString(), "2026-11-01T10:20:30.123Z");
    assert.equal(parsePayload('{"event":"a"}', { _: "1793528430" }).sentAt, undefined);
    assert.equal(parsePayload('{"event":"a"}', { _: "soon" }).sentAt, undefined);
  });

  test("refusals name what is wrong", () => {
    assert.match(refusal(() => parsePayload('{"event": "a"')).message, /^malformed JSON/);
    assert.match(refusal(() => parsePayload("42")).message, /got number/);
    assert.match(refusal(() => parsePayload('{"batch":{"event":"a"}}')).message, /^batch: expected an array, got object/);
    assert.match(refusal(() => parsePayload('{"api_key":5,"batch":[]}')).message, /^api_key: expected a string, got number/);
    assert.match(refusal(() => parsePayload('[{"event":"a","token":"x"},{"event":"b","token":"y"}]')).message, /different project API keys/);
    assert.match(refusal(() => parsePayload('{"batch":[{"event":"a","token":7}]}')).message, /^batch\.0\.token: expected a string/);
  });
});

describe("validateEvents", () => {
  const v = (text: string) => validateEvents(parsePayload(text));

  test("valid events pass: the timestamp parsed (epoch ms), unknown fields dropped", () => {
    const [e] = v('{"batch":[{"event":"$pageview","distinct_id":"u","properties":{"a":1},"timestamp":"2026-11-01T00:00:00+01:00","uuid":"0190A0B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B","type":"capture","library":"x"}]}');
    assert.deepEqual(e, { event: "$pageview", distinct_id: "u", properties: { a: 1 }, timestamp: Date.parse("2026-10-31T23:00:00Z"), uuid: "0190A0B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B" });
  });

  test("each problem named by its path: batch.3.event: required", () => {
    const r = refusal(() =>
      v(JSON.stringify({ batch: [{ event: "ok", distinct_id: "u" }, { event: "ok", distinct_id: "u" }, { event: "ok", distinct_id: "u" }, { distinct_id: "u" }] })),
    );
    assert.equal(r.status, 400);
    assert.equal(r.message, "batch.3.event: required");
  });

  test("wrong types, empty and oversized values, bad timestamps and uuids", () => {
    const r = refusal(() =>
      v(JSON.stringify({ batch: [
        { event: 5, distinct_id: "u" },
        { event: "", distinct_id: "u" },
        { event: "e".repeat(201), distinct_id: "u" },
        { event: "e", distinct_id: { a: 1 } },
        { event: "e", distinct_id: "u", properties: [1] },
        { event: "e", distinct_id: "u", timestamp: "yesterday" },
        { event: "e", distinct_id: "u", timestamp: "1900-01-01T00:00:00Z" },
        { event: "e", distinct_id: "u", uuid: "not-a-uuid" },
        { event: "e", distinct_id: "u", offset: -1 },
        { event: "e" },
        "not an event",
      ] })),
    );
    assert.deepEqual(r.issues, [
      "batch.0.event: expected a string, got number",
      "batch.1.event: must not be empty",
      "batch.2.event: must be at most 200 characters",
      "batch.3.distinct_id: expected a string or a number, got object",
      "batch.4.properties: expected an object, got array",
      "batch.5.timestamp: must be an ISO 8601 timestamp between 1970 and 2105",
      "batch.6.timestamp: must be an ISO 8601 timestamp between 1970 and 2105",
      "batch.7.uuid: must be a UUID (8-4-4-4-12 hex digits)",
      "batch.8.offset: must not be negative",
      "batch.9.distinct_id: required",
      "batch.10: expected an event object, got string",
    ]);
  });

  test("paths of an array payload and of a single event", () => {
    assert.equal(refusal(() => v('[{"event":"a","distinct_id":"u"},{"distinct_id":"u"}]')).message, "1.event: required");
    assert.equal(refusal(() => v('{"distinct_id":"u"}')).message, "event: required");
  });

  test("at most 20 problems listed, and how many more there were", () => {
    const r = refusal(() => v(JSON.stringify({ batch: Array.from({ length: 30 }, () => ({ distinct_id: "u" })) })));
    assert.equal(r.issues!.length, 21);
    assert.equal(r.issues![20], "... and 10 more");
  });
});

describe("distinct ids and timestamps", () => {
  test("distinctIdOf: top level, then $distinct_id, then properties; numbers stringified; 200 characters at most", () => {
    assert.equal(distinctIdOf({ event: "e", distinct_id: "a", properties: { distinct_id: "b" } }), "a");
    assert.equal(distinctIdOf({ event: "e", $distinct_id: 23 }), "23");
    assert.equal(distinctIdOf({ event: "e", properties: { distinct_id: "p" } }), "p");
    assert.equal(distinctIdOf({ event: "e", distinct_id: "" }), undefined);
    assert.equal(distinctIdOf({ event: "e", distinct_id: "a\0b" }), "a\uFFFDb");
    assert.equal(distinctIdOf({ event: "e", distinct_id: "😀".repeat(250) }), "😀".repeat(200));
  });

  test("parseTimestamp: ISO dates and date-times, UTC unless an offset says otherwise", () => {
    assert.equal(parseTimestamp("2026-11-01")?.toISOString(), "2026-11-01T00:00:00.000Z");
    assert.equal(parseTimestamp("2026-11-01T10:20:30")?.toISOString(), "2026-11-01T10:20:30.000Z");
    assert.equal(parseTimestamp("2026-11-01 10:20:30.5")?.toISOString(), "2026-11-01T10:20:30.500Z");
    assert.equal(parseTimestamp("2026-11-01T10:20:30+02:00")?.toISOString(), "2026-11-01T08:20:30.000Z");
    assert.equal(parseTimestamp("2026-11-01T10:20:30.123456Z")?.toISOString(), "2026-11-01T10:20:30.123Z");
    assert.equal(parseTimestamp("2024-02-29T23:59:59Z")?.toISOString(), "2024-02-29T23:59:59.000Z");
    assert.equal(parseTimestamp("2026-11-01T00:30:00-05:30")?.toISOString(), "2026-11-01T06:00:00.000Z");
    for (const bad of ["2026-02-29", "2100-02-29", "2026-02-30", "2026-04-31", "2026-11-01T24:00:00Z", "2026-11-01T10:60:00Z", "2026-11-01T10:00:00+24:00", "2026-13-01", "2026-11-01T25:00:00Z", "Nov 1 2026", "1700000000", "1969-12-31T23:59:59Z", "2107-01-01"]) {
      assert.equal(parseTimestamp(bad), undefined, bad);
    }
  });

  test("eventTime: PostHog's clock-skew correction, offsets, and the future clamp", () => {
    const now = new Date("2026-11-01T12:00:00Z");
    const ev = (o: Partial<RawEvent>): RawEvent => ({ event: "e", ...o });
    // the client's clock runs 1 h fast: its timestamp is moved back by that hour
    assert.equal(eventTime(ev({ timestamp: Date.parse("2026-11-01T12:59:00Z") }), {}, now, new Date("2026-11-01T13:00:00Z")).toISOString(), "2026-11-01T11:59:00.000Z");
    assert.equal(eventTime(ev({ timestamp: Date.parse("2026-11-01T12:59:00Z") }), { $ignore_sent_at: true }, now, new Date("2026-11-01T13:00:00Z")).toISOString(), "2026-11-01T12:59:00.000Z");
    assert.equal(eventTime(ev({ timestamp: Date.parse("2026-10-01T00:00:00Z") }), {}, now, undefined).toISOString(), "2026-10-01T00:00:00.000Z");
    assert.equal(eventTime(ev({ offset: 5000 }), {}, now, undefined).toISOString(), "2026-11-01T11:59:55.000Z");
    assert.equal(eventTime(ev({}), {}, now, undefined).toISOString(), now.toISOString());
    assert.equal(eventTime(ev({ timestamp: Date.parse("2026-11-03T00:00:00Z") }), {}, now, undefined).toISOString(), now.toISOString());
  });
});

describe("rows", () => {
  const ctx = (o: Partial<RowContext> = {}): RowContext => ({
    teamId: 7, now: new Date("2026-11-01T12:00:00.900Z"), sentAt: undefined, newUuid: () => "00000000-0000-4000-8000-000000000001", nextOffset: () => 42, ...o,
  });

  test("a row of writable_events: every column, DateTime as epoch seconds", () => {
    const r = toRow({ event: "$pageview", distinct_id: 12, properties: { $browser: "Chrome" }, timestamp: Date.parse("2026-11-01T10:00:00Z") }, ctx());
    assert.deepEqual(r, {
      uuid: "00000000-0000-4000-8000-000000000001", event: "$pageview", properties: '{"$browser":"Chrome"}', timestamp: 1793527200,
      team_id: 7, distinct_id: "12", elements_chain: "", created_at: 1793534400, _timestamp: 1793534400, _offset: 42,
    });
    assert.equal(rowLine(r), '00000000-0000-4000-8000-000000000001\t$pageview\t{"$browser":"Chrome"}\t1793527200\t7\t12\t\t1793534400\t1793534400\t42\n');
  });

  test("the client's uuid is kept (lower case); $elements_chain moves to its column; $set and $set_once fold into properties", () => {
    const r = toRow({
      event: "$autocapture", distinct_id: "u", uuid: "0190A0B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B",
      properties: { $elements_chain: 'a:href="/x"', $set: { a: 1 } }, $set: { b: 2 }, $set_once: { c: 3 },
    }, ctx());
    assert.equal(r.uuid, "0190a0b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b");
    assert.equal(r.elements_chain, 'a:href="/x"');
    assert.deepEqual(JSON.parse(r.properties), { $set: { a: 1, b: 2 }, $set_once: { c: 3 } });
  });

  test("lone surrogates in strings become U+FFFD; properties stay valid JSON", () => {
    const r = toRow({ event: "a\uD800", distinct_id: "\uDC00b", properties: { k: "v\uD800" } }, ctx());
    assert.equal(r.event, "a\uFFFD");
    assert.equal(r.distinct_id, "\uFFFDb");
    assert.equal(JSON.parse(r.properties).k, "v\uD800");
    assert.equal(wellFormed("ok 😀"), "ok 😀");
  });

  test("escapeTsv: backslash, tab, newline, carriage return and NUL escaped; nothing else", () => {
    assert.equal(escapeTsv("plain 'quoted' \"json\" 😀"), "plain 'quoted' \"json\" 😀");
    assert.equal(escapeTsv("a\\b\tc\nd\re\0f"), "a\\\\b\\tc\\nd\\re\\0f");
    const r = toRow({ event: "tab\there", distinct_id: "new\nline", properties: { k: "back\\slash" } }, ctx());
    const fields = rowLine(r).slice(0, -1).split("\t");
    assert.equal(fields.length, 10, "a field leaked a tab or a newline");
    assert.deepEqual([fields[1], fields[5], fields[2]], ["tab\\there", "new\\nline", '{"k":"back\\\\\\\\slash"}']);
  });

  test("offsetSequence: microseconds of the receive time, strictly increasing", () => {
    let t = 1000;
    const next = offsetSequence(() => t);
    assert.deepEqual([next(), next(), next()], [1_000_000, 1_000_001, 1_000_002]);
    t = 2000;
    assert.equal(next(), 2_000_000);
    t = 1500; // the clock stepped back
    assert.equal(next(), 2_000_001);
  });
});
