// What `chstack load` sends: PostHog /batch/ bodies, one team per body, the generator's events unchanged.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventGenerator } from "../../compare/events.ts";
import { formatSummary, sendAt, toBatches } from "../../load/batches.ts";

const events = new EventGenerator({ seed: 7, count: 5_000, reference: new Date(Date.UTC(2026, 11, 1)) }).batch(5_000);
const key = (team: number) => `phc_team_${team}`;

describe("load batches", () => {
  const batches = toBatches(events, key, 400);

  test("every event once, in bodies of at most the batch size, each body one team's with that team's key", () => {
    assert.equal(batches.reduce((n, b) => n + b.events, 0), events.length);
    const seen = new Set<string>();
    for (const b of batches) {
      const body = JSON.parse(b.body) as { api_key: string; batch: { event: string; distinct_id: string; uuid: string; timestamp: string; properties: Record<string, unknown> }[] };
      assert.equal(body.api_key, key(b.teamId));
      assert.ok(body.batch.length === b.events && b.events >= 1 && b.events <= 400);
      for (const e of body.batch) seen.add(e.uuid);
    }
    assert.equal(seen.size, events.length, "no event lost or sent twice");
  });

  test("each entry is the generated event: name, distinct_id, uuid, ISO timestamp and the properties object", () => {
    const byUuid = new Map(batches.flatMap((b) => (JSON.parse(b.body).batch as any[]).map((e) => [e.uuid, e])));
    for (const e of events.slice(0, 200)) {
      const sent = byUuid.get(e.uuid);
      assert.deepEqual(sent, { event: e.event, distinct_id: e.distinctId, uuid: e.uuid, timestamp: new Date(e.timestamp * 1000).toISOString(), properties: JSON.parse(e.properties) });
    }
  });

  test("a distinct_id with quotes and backslashes survives as JSON", () => {
    const odd = { ...events[0]!, distinctId: 'a"b\\c\n' };
    const [b] = toBatches([odd], key, 10);
    assert.equal(JSON.parse(b!.body).batch[0].distinct_id, 'a"b\\c\n');
  });

  test("pacing: batches start at sent/rate seconds; no limit at rate 0", () => {
    assert.equal(sendAt(5_000, 1_000), 5_000);
    assert.equal(sendAt(5_000, 0), 0);
  });

  test("the summary names each refusal with its status and count", () => {
    const text = formatSummary({ sent: 1000, accepted: 600, rejected: 400, seconds: 2, eventsPerSecond: 300, rejections: [{ status: 401, message: "unknown API key", events: 400 }] });
    assert.equal(text, "sent 1,000, accepted 600, rejected 400 in 2.0 s: 300 events/s accepted\n  rejected 400 event(s): HTTP 401 unknown API key");
  });
});
