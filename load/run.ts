// `chstack load`: realistic events (compare/events.ts) through the app's capture API, /batch/ bodies as
// PostHog's clients send them, `concurrency` requests at a time, paced to `rate` events/s (0: as fast as the
// app takes them). Events are generated a window at a time, so memory stays flat whatever N is.
import { EventGenerator } from "../compare/events.ts";
import { progress, type ProgressStream } from "../compare/progress.ts";
import { sendAt, toBatches, type Batch, type LoadSummary } from "./batches.ts";

export interface LoadOptions {
  /** The app's base URL. */
  readonly url: string;
  readonly events: number;
  /** Events per second; 0 for no limit. */
  readonly rate: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly seed: number;
  /** A UTC midnight: events fall in the 90 days before it. */
  readonly reference: Date;
  /** Generator team id -> its API key. */
  readonly keys: ReadonlyMap<number, string>;
  readonly out: ProgressStream;
}

export async function load(o: LoadOptions): Promise<LoadSummary> {
  const gen = new EventGenerator({ seed: o.seed, count: o.events, reference: o.reference });
  const bar = progress("load", o.events, o.out);
  const rejections = new Map<string, { status: number; message: string; events: number }>();
  const endpoint = new URL("/batch/", o.url);
  let sent = 0;
  let accepted = 0;
  let rejected = 0;
  let scheduled = 0;
  const started = performance.now();

  async function send(b: Batch): Promise<void> {
    const wait = sendAt(scheduled, o.rate) - (performance.now() - started);
    scheduled += b.events;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let status = 0;
    let message = "";
    try {
      const r = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: b.body });
      status = r.status;
      message = r.ok ? "" : ((await r.text()).slice(0, 200) || r.statusText);
    } catch (e) {
      message = `no answer: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`;
    }
    sent += b.events;
    if (status === 200) accepted += b.events;
    else {
      rejected += b.events;
      const key = `${status} ${message}`;
      const r = rejections.get(key) ?? { status, message, events: 0 };
      r.events += b.events;
      rejections.set(key, r);
    }
    bar.add(b.events);
  }

  // A window of batches at a time: `concurrency` workers take from it; the next window is generated when it empties.
  const windowEvents = Math.max(o.batchSize * o.concurrency * 4, 10_000);
  for (;;) {
    const events = gen.batch(windowEvents);
    if (events.length === 0) break;
    const queue = toBatches(events, (team) => o.keys.get(team)!, o.batchSize);
    await Promise.all(Array.from({ length: Math.min(o.concurrency, queue.length) }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) await send(b);
    }));
  }
  bar.finish();
  const seconds = (performance.now() - started) / 1000;
  return { sent, accepted, rejected, rejections: [...rejections.values()], seconds, eventsPerSecond: seconds > 0 ? accepted / seconds : 0 };
}
