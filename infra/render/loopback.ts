// The loopback stack's files, relative to its state dir (.chstack/<stack>/): what `chstack up` writes and
// `chstack render loopback` shows. Paths inside the files are relative too, resolved against the state
// dir (every server runs with it as working directory), so a rendering does not depend on where the
// project is checked out, and the goldens are exactly what runs.
import type { ClickHouseHost, Topology } from "../model/topology.ts";
import { loopbackConfigDir } from "../model/targets.ts";
import { renderClickHouseServer, type PasswordHashes, type PublishedShard } from "./clickhouse/index.ts";
import { under, type Files } from "./files.ts";
import { renderMyid, renderZooCfg } from "./zookeeper.ts";

/**
 * `hosts`: the ClickHouse hosts to write (default: the topology's); `published`: the cluster remote_servers
 * lists (default: the topology's), which differs from it only while a topology change is under way.
 */
export function renderLoopback(t: Topology, hashes: PasswordHashes, o: { hosts?: readonly ClickHouseHost[]; published?: readonly PublishedShard[] } = {}): Files {
  if (t.target !== "loopback") throw new Error(`renderLoopback needs a loopback topology, got ${t.target}`);
  if (t.coordination.kind !== "zookeeper") {
    throw new Error("coordination.kind: the loopback target runs ZooKeeper only (ClickHouse 18.16 has no Keeper); use kind: zookeeper");
  }
  const files: Record<string, string> = {};
  for (const host of o.hosts ?? t.hosts) Object.assign(files, under(loopbackConfigDir(host.name), renderClickHouseServer(t, host, hashes, o.published)));
  for (const node of t.coordination.nodes) {
    files[`zookeeper/${node.name}/zoo.cfg`] = renderZooCfg(t, node);
    files[`${node.dataDir}/myid`] = renderMyid(node);
  }
  return files;
}
