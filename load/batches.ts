// What `chstack load` sends, as PostHog's clients send it: pure. Each generated event becomes one entry of a
// /batch/ body ({ api_key, batch: [...] }), its team's key taken from the generator's team id; the send
// schedule spaces batches evenly for a target rate.
import type { CompareEvent } from "../compare/events.ts";

/** One /batch/ body of one team's events (the key in the body names the team, as posthog-js and posthog-node do). */
export interface Batch {
  readonly teamId: number;
  readonly events: number;
  readonly body: string;
}

/**
 * Events grouped by team into bodies of at most `size` events each, in the order they came. Properties are
 * the generator's JSON text, kept as they are; every other value is JSON-encoded here.
 */
export function toBatches(events: readonly CompareEvent[], keyOf: (teamId: number) => string, size: number): Batch[] {
  const byTeam = new Map<number, string[]>();
  const out: Batch[] = [];
  const flush = (teamId: number, entries: string[]) => {
    out.push({ teamId, events: entries.length, body: `{"api_key":${JSON.stringify(keyOf(teamId))},"batch":[${entries.join(",")}]}` });
  };
  for (const e of events) {
    const entries = byTeam.get(e.teamId) ?? [];
    byTeam.set(e.teamId, entries);
    entries.push(`{"event":${JSON.stringify(e.event)},"distinct_id":${JSON.stringify(e.distinctId)},"uuid":"${e.uuid}","timestamp":"${new Date(e.timestamp * 1000).toISOString()}","properties":${e.properties}}`);
    if (entries.length >= size) {
      flush(e.teamId, entries.splice(0));
    }
  }
  for (const [teamId, entries] of byTeam) if (entries.length > 0) flush(teamId, entries);
  return out;
}

/** When (ms after the start) a batch may go so that `sent` events so far keep to `rate` events/s; 0 for no limit. */
export const sendAt = (sentBefore: number, rate: number) => (rate > 0 ? (sentBefore * 1000) / rate : 0);

export interface LoadSummary {
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Why batches were refused: status and message, with how many events each. */
  readonly rejections: readonly { readonly status: number; readonly message: string; readonly events: number }[];
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

export function formatSummary(s: LoadSummary): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  return [
    `sent ${n(s.sent)}, accepted ${n(s.accepted)}, rejected ${n(s.rejected)} in ${s.seconds.toFixed(1)} s: ${n(s.eventsPerSecond)} events/s accepted`,
    ...s.rejections.map((r) => `  rejected ${n(r.events)} event(s): HTTP ${r.status} ${r.message}`),
  ].join("\n");
}
