// The ZooKeeper collector: the `srvr` four-letter word on the client port (whitelisted by the rendered
// zoo.cfg on both targets, and answered by ClickHouse Keeper too): mode, connections, outstanding requests,
// version. A node that lost its quorum answers without a mode ("not currently serving requests").
import { connect } from "node:net";
import type { ZooKeeperFacts } from "./facts.ts";
import { describeError, TimeoutError } from "./util.ts";

/** Send a four-letter word and read the answer until the server closes the connection. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let failed: Error | undefined;
    const socket = connect({ host, port }, () => socket.write(word));
    socket.setTimeout(timeoutMs, () => {
      failed = new TimeoutError(timeoutMs);
      socket.destroy();
    });
    socket.on("data", (d) => (out += d.toString()));
    socket.on("error", (e) => (failed = e));
    socket.on("close", () => (failed ? reject(failed) : resolve(out)));
  });
}

/** `srvr`'s answer as facts (pure: unit-tested). */
export function parseSrvr(node: string, text: string): ZooKeeperFacts {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const num = (name: string) => {
    const v = field(name);
    return v === undefined || v === "" || Number.isNaN(Number(v)) ? undefined : Number(v);
  };
  const mode = field("Mode");
  if (!mode) {
    const said = text.trim().split("\n")[0] ?? "";
    return { node, reachable: true, error: said ? said.replace(/\.$/, "") : "no answer to srvr" };
  }
  const latency = field("Latency min/avg/max")?.split("/")[1];
  return {
    node, reachable: true, mode,
    connections: num("Connections"), outstanding: num("Outstanding"), nodeCount: num("Node count"),
    version: field("Zookeeper version")?.split(/[-,\s]/)[0] ?? field("ClickHouse Keeper version"),
    ...(latency !== undefined && !Number.isNaN(Number(latency)) ? { latencyAvgMs: Number(latency) } : {}),
  };
}

export async function collectZooKeeper(node: string, address: { host: string; port: number }, timeoutMs: number): Promise<ZooKeeperFacts> {
  try {
    return parseSrvr(node, await fourLetterWord(address.host, address.port, "srvr", timeoutMs));
  } catch (e) {
    return { node, reachable: false, error: describeError(e) };
  }
}
