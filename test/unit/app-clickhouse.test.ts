// app/clickhouse.ts against small HTTP servers standing in for ClickHouse hosts: what an insert sends (the
// statement, the settings, the bytes), round robin, failover past a host that cannot be reached (and
// passing it over afterwards), and no failover on an error ClickHouse itself answered.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ClickHouse, ClickHouseError, compareVersions, isConnectionError } from "../../app/clickhouse.ts";

interface Seen {
  url: URL;
  body: string;
  auth: string | undefined;
}

function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  let connections = 0;
  const s = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen.push({ url: new URL(req.url!, "http://x"), body, auth: req.headers.authorization });
      handler(req, res, body);
    });
  });
  s.on("connection", () => connections++);
  return { s, seen, connections: () => connections, url: () => `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

const ok = server((_req, res) => res.end(""));
const ok2 = server((_req, res) => res.end(""));
// accepts the connection and drops it: the client sees a reset
const dropping = server((req) => req.socket.destroy());
const failing = server((_req, res) => {
  res.writeHead(500, { "x-clickhouse-exception-code": "252" });
  res.end("Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts.");
});
const all = [ok, ok2, dropping, failing];

before(async () => {
  await Promise.all(all.map((x) => new Promise<void>((r) => x.s.listen(0, "127.0.0.1", r))));
});
after(async () => {
  await Promise.all(all.map((x) => new Promise((r) => x.s.close(r))));
});

const client = (urls: string[]) => new ClickHouse({ urls, user: "writer", password: "pw", database: "posthog", insertTimeoutMs: 5_000, queryTimeoutMs: 5_000, binding: "literals" });

describe("ClickHouse", () => {
  test("an insert: the statement, synchronous Distributed insert with dedup, the writer's credentials, the bytes as given", async () => {
    const ch = client([ok.url()]);
    const body = Buffer.from("00000000-0000-4000-8000-000000000001\te\t{}\t1793527200\t7\td\t\t1793534400\t1793534400\t42\n");
    assert.equal(await ch.insertEvents(body), ok.url());
    const s = ok.seen.at(-1)!;
    assert.equal(s.url.searchParams.get("query"), "INSERT INTO `posthog`.writable_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset) FORMAT TabSeparated");
    assert.equal(s.url.searchParams.get("insert_distributed_sync"), "1");
    assert.equal(s.url.searchParams.get("insert_deduplicate"), "1");
    assert.equal(s.body, body.toString());
    assert.equal(s.auth, `Basic ${Buffer.from("writer:pw").toString("base64")}`);
    await ch.close();
  });

  test("round robin over the URLs, one batch each", async () => {
    const ch = client([ok.url(), ok2.url()]);
    const used = [];
    for (let i = 0; i < 4; i++) used.push(await ch.insertEvents(Buffer.from("{}\n")));
    assert.deepEqual(used, [ok.url(), ok2.url(), ok.url(), ok2.url()]);
    await ch.close();
  });

  test("a host that cannot be reached: the batch fails over to the next at once, and the host is passed over afterwards", async () => {
    const before = dropping.seen.length;
    const ch = client([dropping.url(), ok.url()]);
    for (let i = 0; i < 5; i++) assert.equal(await ch.insertEvents(Buffer.from("{}\n")), ok.url());
    assert.equal(dropping.seen.length - before, 1, "tried again within the down period");
    await ch.close();
  });

  test("a closed port and every URL unreachable", async () => {
    const closed = server(() => undefined);
    await new Promise<void>((r) => closed.s.listen(0, "127.0.0.1", r));
    const url = closed.url();
    await new Promise((r) => closed.s.close(r));
    const ch = client([url, dropping.url()]);
    await assert.rejects(ch.insertEvents(Buffer.from("{}\n")), (e: unknown) => e instanceof ClickHouseError && /^ClickHouse every URL: /.test(e.message));
    const ping = await ch.ping();
    assert.equal(ping.ok, false);
    await ch.close();
  });

  test("an error ClickHouse answered is not failed over (the next attempt is the buffer's retry), and names the host", async () => {
    const before = ok.seen.length;
    const ch = client([failing.url(), ok.url()]);
    await assert.rejects(ch.insertEvents(Buffer.from("{}\n")), (e: unknown) => e instanceof ClickHouseError && e.message.includes(failing.url()) && /Too many parts/.test(e.message));
    assert.equal(ok.seen.length, before);
    // the retry starts at the next URL
    assert.equal(await ch.insertEvents(Buffer.from("{}\n")), ok.url());
    await ch.close();
  });

  test("helpers", () => {
    assert.equal(isConnectionError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })), true);
    assert.equal(isConnectionError(new Error("socket hang up")), true);
    assert.equal(isConnectionError(new Error("Code: 252, Too many parts")), false);
    assert.ok(compareVersions("18.16.1", "19.11.3.11") < 0);
    assert.ok(compareVersions("26.7.2.1", "26.7") > 0);
    assert.equal(compareVersions("20.3", "20.3.0"), 0);
  });
});
