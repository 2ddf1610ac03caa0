// Ingest throughput through /batch/: POSTs of --batch events each, --concurrency at a time, until --events
// were acknowledged. Bodies are built (and gzipped with --gzip) before the clock starts, so that the
// client spends little CPU; each event gets its uuid from the app.
//   node --import tsx app/loadtest.ts --url http://127.0.0.1:8000 --key phc_... [--events 200000]
//        [--batch 1000] [--concurrency 8] [--gzip] [--seconds 0 (0: until --events)]
import http from "node:http";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const { values: a } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8000" },
    key: { type: "string" },
    events: { type: "string", default: "200000" },
    batch: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "8" },
    gzip: { type: "boolean", default: false },
    event: { type: "string", default: "loadtest" },
  },
});
if (!a.key) throw new Error("--key is required (a project API key of the app)");
const total = Number(a.events);
const batch = Number(a.batch);
const concurrency = Number(a.concurrency);
const url = new URL("/batch/", a.url);

// 16 different bodies, reused round robin
const bodies = Array.from({ length: 16 }, (_, b) => {
  const events = Array.from({ length: batch }, (_, i) => ({
    event: a.event,
    distinct_id: `user-${(b * batch + i) % 10_000}`,
    properties: { $browser: i % 3 === 0 ? "Chrome" : "Firefox", $current_url: `https://example.com/page/${i % 100}`, $lib: "loadtest", n: i },
    timestamp: new Date(Date.UTC(2026, 10, 1) + (b * batch + i) * 1000).toISOString(),
  }));
  const json = JSON.stringify({ api_key: a.key, batch: events, sent_at: undefined });
  return a.gzip ? gzipSync(json) : Buffer.from(json);
});

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function post(body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST", agent,
      headers: { "content-type": "application/json", "content-length": body.length, ...(a.gzip ? { "content-encoding": "gzip" } : {}) },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

let sent = 0;
let acked = 0;
let refused = 0;
const latencies: number[] = [];
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
  let k = w;
  while (sent < total) {
    sent += batch;
    const t = performance.now();
    const status = await post(bodies[k++ % bodies.length]!);
    latencies.push(performance.now() - t);
    if (status === 200) acked += batch;
    else refused++;
  }
}));
const seconds = (performance.now() - started) / 1000;
agent.destroy();
latencies.sort((x, y) => x - y);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(0);
console.log(JSON.stringify({
  events: acked, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(acked / seconds), requests: latencies.length, refused,
  batch, concurrency, gzip: a.gzip, bodyBytes: bodies[0]!.length, latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: pct(1) },
}));
