// The event buffer (app/buffer.ts) with a recording writer in place of ClickHouse: batches on size and on
// time, a request answered only after its batch is written, retries that send the same bytes, a bounded
// number of attempts, back-pressure, and draining on shutdown.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Closed, EventBuffer, Overloaded, WriteFailed, type BufferOptions } from "../../app/buffer.ts";

interface Call {
  body: string;
  rows: number;
  attempt: number;
}

function recorder(fail: (call: Call, n: number) => boolean = () => false, delayMs = 0) {
  const calls: Call[] = [];
  const write = async (body: Buffer, rows: number, attempt: number) => {
    const call = { body: body.toString("utf8"), rows, attempt };
    calls.push(call);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (fail(call, calls.length)) throw new Error(`insert ${calls.length} failed`);
  };
  return { calls, write };
}

const opts = (write: BufferOptions["write"], o: Partial<BufferOptions> = {}): BufferOptions => ({
  write, flushIntervalMs: 30, batchMaxEvents: 10, bufferMaxEvents: 100, concurrency: 2, attempts: 3, backoffMs: () => 5, ...o,
});
const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `{"r":"${prefix}${i}"}\n`);
const settled = async (p: Promise<unknown>) => p.then(() => "written", (e: Error) => e.name);

describe("EventBuffer", () => {
  test("on time: requests wait for the interval, then share one batch, in order", async () => {
    const { calls, write } = recorder();
    const b = new EventBuffer(opts(write, { flushIntervalMs: 40 }));
    const t0 = Date.now();
    let answered = 0;
    const ps = [b.add(lines("a", 2)).then(() => answered++), b.add(lines("b", 3)).then(() => answered++)];
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(answered, 0, "answered before its batch was written");
    assert.equal(calls.length, 0);
    await Promise.all(ps);
    assert.ok(Date.now() - t0 >= 35);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.rows, 5);
    assert.equal(calls[0]!.body, [...lines("a", 2), ...lines("b", 3)].join(""));
  });

  test("on size: a full batch goes at once; a request never straddles two batches", async () => {
    const { calls, write } = recorder();
    const b = new EventBuffer(opts(write, { flushIntervalMs: 5_000, batchMaxEvents: 10 }));
    const p1 = b.add(lines("a", 6));
    const p2 = b.add(lines("b", 6)); // does not fit beside a: a's batch is sealed first
    const p3 = b.add(lines("c", 4)); // fills b's batch to 10: sent at once
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(calls.map((c) => c.rows), [6, 10]);
    assert.equal(calls[1]!.body, [...lines("b", 6), ...lines("c", 4)].join(""));
    const big = b.add(lines("d", 25)); // larger than a batch: a batch of its own
    b.flush();
    await big;
    assert.deepEqual(calls.map((c) => c.rows), [6, 10, 25]);
  });

  test("a failed insert is retried with the very same bytes, then succeeds", async () => {
    const { calls, write } = recorder((_c, n) => n <= 2);
    const b = new EventBuffer(opts(write, { attempts: 3 }));
    await b.add(lines("x", 4));
    assert.deepEqual(calls.map((c) => c.attempt), [1, 2, 3]);
    assert.equal(new Set(calls.map((c) => c.body)).size, 1);
  });

  test("after the last attempt every request of the batch is refused (WriteFailed), none answered as written", async () => {
    const { calls, write } = recorder(() => true);
    const b = new EventBuffer(opts(write, { attempts: 4 }));
    const r = await Promise.allSettled([b.add(lines("a", 1)), b.add(lines("b", 1))]);
    assert.equal(calls.length, 4);
    for (const x of r) {
      assert.equal(x.status, "rejected");
      assert.ok((x as PromiseRejectedResult).reason instanceof WriteFailed);
      assert.match((x as PromiseRejectedResult).reason.message, /failed 4 time\(s\) \(insert 4 failed\)/);
    }
    // the next batch is independent
    const ok = recorder();
    const b2 = new EventBuffer(opts(ok.write));
    assert.equal(await settled(b2.add(lines("c", 1))), "written");
  });

  test("at most `concurrency` inserts at once; later batches queue", async () => {
    let running = 0;
    let peak = 0;
    const b = new EventBuffer(opts(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    }, { batchMaxEvents: 1, concurrency: 2 }));
    await Promise.all(Array.from({ length: 7 }, (_, i) => b.add(lines(String(i), 1))));
    assert.equal(peak, 2);
  });

  test("an interval ending while every insert slot is busy: the batch keeps growing until a slot frees", async () => {
    const { calls, write } = recorder(() => false, 80);
    const b = new EventBuffer(opts(write, { flushIntervalMs: 10, concurrency: 1, batchMaxEvents: 1000 }));
    const first = b.add(lines("a", 5));
    await new Promise((r) => setTimeout(r, 20)); // a's batch is being written (80 ms)
    const later = [b.add(lines("b", 5))];
    await new Promise((r) => setTimeout(r, 20)); // b's interval ended while the slot was busy
    later.push(b.add(lines("c", 5)));
    await new Promise((r) => setTimeout(r, 20));
    later.push(b.add(lines("d", 5)));
    await Promise.all([first, ...later]);
    assert.deepEqual(calls.map((c) => c.rows), [5, 15]);
  });

  test("back-pressure: beyond bufferMaxEvents held, a request is refused at once (Overloaded), nothing written for it", async () => {
    const { calls, write } = recorder(() => false, 50);
    const b = new EventBuffer(opts(write, { bufferMaxEvents: 10, batchMaxEvents: 10 }));
    const first = b.add(lines("a", 8));
    assert.equal(await settled(b.add(lines("b", 3))), "Overloaded");
    assert.ok((await b.add(lines("c", 2)).then(() => undefined)) === undefined);
    await first;
    assert.equal(calls.map((c) => c.body).join("").includes('"b0"'), false);
    assert.ok(new Overloaded(10).message.includes("retry"));
  });

  test("drain: what is buffered goes now, later adds go at once, and it resolves when every request is answered", async () => {
    const { calls, write } = recorder(() => false, 20);
    const b = new EventBuffer(opts(write, { flushIntervalMs: 10_000 }));
    const early = b.add(lines("a", 3));
    const t0 = Date.now();
    const drained = b.drain();
    const late = b.add(lines("b", 2)); // a request that arrived during shutdown
    await drained;
    assert.equal(await settled(early), "written");
    assert.equal(await settled(late), "written");
    assert.ok(Date.now() - t0 < 1_000, "waited for the interval");
    assert.deepEqual(calls.map((c) => c.rows), [3, 2]);
    b.close();
    assert.equal(await settled(b.add(lines("c", 1))), "Closed");
    assert.ok(new Closed().message.includes("shutting down"));
    assert.deepEqual(b.pending, { rows: 0, inFlight: 0 });
  });

  test("an empty request is answered at once", async () => {
    const { calls, write } = recorder();
    await new EventBuffer(opts(write)).add([]);
    assert.equal(calls.length, 0);
  });
});
