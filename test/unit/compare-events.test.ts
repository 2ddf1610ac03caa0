// The event generator of `chstack compare` (compare/events.ts): deterministic for a seed, every field well
// formed, and the distributions skewed the way product analytics data is.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DAY_SECONDS, EVENT_NAMES, EventGenerator, generateEvents, hash32, isUtcMidnight, Random, TEAMS, userPoolSize, uuidFrom,
  WINDOW_DAYS, ZIPF_EXPONENT, type CompareEvent,
} from "../../compare/events.ts";

const reference = new Date("2025-06-01T00:00:00Z");
const all = (count: number, seed = 1) => [...generateEvents({ seed, count, reference })];
const N = 60_000;
const events = all(N);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const countBy = <K>(xs: readonly CompareEvent[], key: (e: CompareEvent) => K) => {
  const m = new Map<K, number>();
  for (const e of xs) m.set(key(e), (m.get(key(e)) ?? 0) + 1);
  return m;
};

describe("the random source", () => {
  test("is pinned: the same numbers on every machine and Node version (a load recorded elsewhere stays valid)", () => {
    const r = new Random(1);
    assert.deepEqual([r.u32(), r.u32(), r.u32()], [2251045104, 4148684523, 4055680838]);
    const z = new Random(0);
    assert.deepEqual([z.u32(), z.u32()], [3047368389, 387095348]);
    assert.equal(hash32(1, 2, 3), 3192775787);
  });

  test("numbers are in [0, 1) and spread evenly", () => {
    const r = new Random(42);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      buckets[Math.floor(x * 10)]++;
    }
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 500, `bucket of ${b}`);
  });

  test("refuses a seed that is not a 32-bit unsigned integer", () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => new Random(bad), /seed must be an integer/);
  });

  test("uuidFrom makes version 4, variant 1 uuids", () => {
    assert.equal(uuidFrom(0, 0, 0, 0), "00000000-0000-4000-8000-000000000000");
    assert.equal(uuidFrom(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  });
});

describe("determinism", () => {
  test("the same seed, count and reference give the same events", () => {
    assert.deepEqual(all(3000), all(3000));
    assert.deepEqual(events.slice(0, 3000), all(N).slice(0, 3000));
  });

  test("another seed gives other events", () => {
    const a = all(500, 1);
    const b = all(500, 2);
    assert.equal(a.filter((e, i) => e.uuid === b[i]!.uuid).length, 0);
  });

  test("batches are the stream cut in pieces, and the stream holds exactly `count` events", () => {
    const g = new EventGenerator({ seed: 1, count: 2500, reference });
    const sizes: number[] = [];
    const got: CompareEvent[] = [];
    for (let b = g.batch(1000); b.length > 0; b = g.batch(1000)) {
      sizes.push(b.length);
      got.push(...b);
    }
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.deepEqual(got, all(2500));
    assert.equal(g.next(), undefined);
    assert.equal(g.remaining, 0);
    assert.deepEqual(got.map((e) => e.offset), Array.from({ length: 2500 }, (_, i) => i));
  });

  test("a reference that is not a UTC midnight is refused", () => {
    assert.throws(() => new EventGenerator({ seed: 1, count: 1, reference: new Date("2025-06-01T00:00:01Z") }), /UTC midnight/);
    assert.throws(() => new EventGenerator({ seed: 1, count: 1, reference: new Date("nope") }), /UTC midnight/);
    assert.throws(() => new EventGenerator({ seed: 1, count: -1, reference }), /count/);
    assert.equal(isUtcMidnight(reference), true);
  });
});

describe("fields", () => {
  const start = reference.getTime() / 1000 - WINDOW_DAYS * DAY_SECONDS;
  const end = reference.getTime() / 1000;

  test("uuids are unique version 4 uuids", () => {
    assert.ok(events.every((e) => UUID_V4.test(e.uuid)));
    assert.equal(new Set(events.map((e) => e.uuid)).size, N);
  });

  test("timestamps are whole seconds in the 90 days before the reference; created_at follows within 2 s", () => {
    for (const e of events) {
      assert.ok(Number.isInteger(e.timestamp) && e.timestamp >= start && e.timestamp < end, `timestamp ${e.timestamp}`);
      assert.ok(e.createdAt >= e.timestamp && e.createdAt <= e.timestamp + 2);
    }
    const days = new Set(events.map((e) => Math.floor((e.timestamp - start) / DAY_SECONDS)));
    assert.equal(days.size, WINDOW_DAYS, "every day of the window has events");
  });

  test("properties are JSON objects with PostHog's keys; server-side events carry no browser properties", () => {
    const teamOf = new Map(TEAMS.map((t) => [t.id, t]));
    for (const e of events) {
      const p = JSON.parse(e.properties) as Record<string, unknown>;
      assert.equal(typeof p, "object");
      if (e.event === "purchase" || e.event === "subscription_renewed") {
        assert.equal(p.$lib, "posthog-node");
        assert.equal(p.$browser, undefined);
        assert.ok(["free", "startup", "enterprise"].includes(p.plan as string));
        assert.equal(typeof p.amount, "number");
      } else {
        assert.equal(p.$lib, "web");
        for (const k of ["$browser", "$os", "$device_type", "$current_url", "$pathname", "$host", "$session_id"]) assert.equal(typeof p[k], "string", `${e.event} lacks ${k}`);
        assert.ok((p.$current_url as string).startsWith(`https://app.${teamOf.get(e.teamId)!.domain}/`));
      }
      if (e.event === "$autocapture" || e.event === "$rageclick") assert.ok(e.elementsChain.length > 0);
      else assert.equal(e.elementsChain, "");
      if (e.event === "signup") assert.ok(["free", "startup", "enterprise"].includes(p.plan as string));
    }
  });

  test("some values need escaping in every wire format: quotes, backslashes, tabs and newlines in JSON, non-ASCII", () => {
    assert.ok(events.some((e) => e.properties.includes("\\n") && e.properties.includes("\\t")), "an exception stack");
    assert.ok(events.some((e) => /[^\x00-\x7f]/.test(e.properties)), "a non-ASCII title");
    assert.ok(events.some((e) => e.elementsChain.includes('"')));
  });

  test("a user keeps one platform, and distinct ids are emails or uuids", () => {
    const platform = new Map<string, string>();
    for (const e of events) {
      const p = JSON.parse(e.properties) as Record<string, string>;
      if (!p.$browser) continue;
      const key = `${e.teamId}|${e.distinctId}`;
      const seen = platform.get(key);
      const now = `${p.$browser}|${p.$os}|${p.$device_type}`;
      if (seen) assert.equal(now, seen, `${key} changed platform`);
      else platform.set(key, now);
    }
    assert.ok([...new Set(events.map((e) => e.distinctId))].every((d) => UUID_V4.test(d) || /^[a-z]+\.\d+@[a-z.]+$/.test(d)));
    assert.ok(events.some((e) => e.distinctId.includes("@")) && events.some((e) => UUID_V4.test(e.distinctId)));
  });
});

describe("distributions", () => {
  test("teams have skewed sizes close to their weights", () => {
    const byTeam = countBy(events, (e) => e.teamId);
    for (const t of TEAMS) assert.ok(Math.abs(byTeam.get(t.id)! / N - t.weight) < 0.01, `team ${t.id}: ${byTeam.get(t.id)! / N} vs ${t.weight}`);
  });

  test("event names follow a Zipf-like law: each rank less frequent than the one before, $pageview first", () => {
    const byEvent = countBy(events, (e) => e.event);
    const counts = EVENT_NAMES.map((n) => byEvent.get(n) ?? 0);
    assert.equal(EVENT_NAMES[0], "$pageview");
    for (let i = 1; i < 5; i++) assert.ok(counts[i]! < counts[i - 1]!, `${EVENT_NAMES[i]} is rarer than ${EVENT_NAMES[i - 1]}`);
    const expected = 2 ** ZIPF_EXPONENT;
    assert.ok(Math.abs(counts[0]! / counts[1]! - expected) < 0.15 * expected, `rank 1 / rank 2 = ${counts[0]! / counts[1]!}, about ${expected}`);
    assert.ok(counts.every((c) => c > 0), "every event name occurs");
  });

  test("user activity is skewed: the busiest tenth of a team's users make over 40% of its events", () => {
    const team1 = events.filter((e) => e.teamId === 1);
    const perUser = [...countBy(team1, (e) => e.distinctId).values()].sort((a, b) => b - a);
    const top = perUser.slice(0, Math.ceil(perUser.length / 10)).reduce((s, n) => s + n, 0);
    assert.ok(top / team1.length > 0.4, `top tenth: ${(top / team1.length).toFixed(2)}`);
    assert.ok(perUser.length <= userPoolSize(N, TEAMS[0]!.weight));
  });

  test("weekdays are busier than weekends, afternoons than nights, recent weeks than old ones", () => {
    const byWeekday = countBy(events, (e) => new Date(e.timestamp * 1000).getUTCDay());
    const weekend = (byWeekday.get(0)! + byWeekday.get(6)!) / 2;
    const weekday = [1, 2, 3, 4, 5].reduce((s, d) => s + byWeekday.get(d)!, 0) / 5;
    assert.ok(weekend < 0.75 * weekday, `weekend ${weekend} vs weekday ${weekday}`);
    const byHour = countBy(events, (e) => new Date(e.timestamp * 1000).getUTCHours());
    assert.ok(byHour.get(14)! > 2 * byHour.get(3)!);
    const end = reference.getTime() / 1000;
    const last30 = events.filter((e) => e.timestamp >= end - 30 * DAY_SECONDS).length;
    const first30 = events.filter((e) => e.timestamp < end - 60 * DAY_SECONDS).length;
    assert.ok(last30 > 1.2 * first30, `${last30} vs ${first30}`);
  });
});
