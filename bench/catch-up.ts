// Benchmark: a new replica catching up with a shard that holds N rows (`up` after replicas 1 -> 2 on a
// loopback stack of its own), beside copying that shard's data directory on the same disk, in one run.
// Stack bench-catchup on ports 32100-32131, in a temporary directory, stopped and removed after.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStackFile } from "../infra/config/load.ts";
import { down } from "../infra/loopback/down.ts";
import { readSecrets } from "../infra/loopback/secrets.ts";
import { clickhouseClient } from "../infra/loopback/servers.ts";
import { secretsFile } from "../infra/loopback/state.ts";
import { up } from "../infra/loopback/up.ts";
import { posthogSchemaStep } from "./schema-step.ts";

export interface CatchUpBench {
  readonly rows: number;
  readonly bytes: number;
  readonly copyMs: number;
  readonly catchUpMs: number;
  readonly upMs: number;
  readonly insertMs: number;
}

const yaml = (replicas: number) =>
  `config:\n  chstack:clickhouse:\n    cluster: bench\n    shards: 1\n    replicas: ${replicas}\n  chstack:loopback:\n    portBase: 32100\n`;

export async function catchUpBench(rows: number): Promise<CatchUpBench> {
  const stack = "bench-catchup";
  const cwd = mkdtempSync(join(tmpdir(), "chstack-bench-catchup-"));
  const file = join(cwd, `Pulumi.${stack}.yaml`);
  try {
    writeFileSync(file, yaml(1));
    const one = await up({ stack, config: parseStackFile(yaml(1), "bench"), cwd, log: () => undefined, schema: posthogSchemaStep });
    const host = one.topology.hosts[0]!;
    const secrets = readSecrets(secretsFile(stack, cwd))!;
    const client = clickhouseClient(host, secrets, "admin");
    const began = process.hrtime.bigint();
    const chunk = 1_000_000;
    for (let done = 0; done < rows; done += chunk) {
      const n = Math.min(chunk, rows - done);
      await client.command({
        query: `INSERT INTO posthog.sharded_events (uuid, event, properties, timestamp, team_id, distinct_id, elements_chain, created_at, _timestamp, _offset)
          SELECT generateUUIDv4(), concat('event-', toString(number % 20)), concat('{"$browser":"b', toString(number % 7), '"}'),
            toDateTime('2026-09-01 00:00:00') + intDiv(number, 100), 1 + number % 5, concat('user-', toString(number % 100000)), '', now(), now(), number + ${done}
          FROM system.numbers LIMIT ${n}`,
      });
    }
    await client.close();
    const insertMs = Number(process.hrtime.bigint() - began) / 1e6;
    const data = join(one.dir, "clickhouse", host.name, "data");
    const bytes = Number(execFileSync("du", ["-sb", data], { encoding: "utf8" }).split("\t")[0]);
    const copyTo = join(cwd, "copy");
    const c0 = process.hrtime.bigint();
    execFileSync("cp", ["-a", data, copyTo]);
    execFileSync("sync");
    const copyMs = Number(process.hrtime.bigint() - c0) / 1e6;
    rmSync(copyTo, { recursive: true, force: true });

    writeFileSync(file, yaml(2));
    const u0 = process.hrtime.bigint();
    const two = await up({ stack, config: parseStackFile(yaml(2), "bench"), cwd, log: () => undefined, schema: posthogSchemaStep });
    const upMs = Number(process.hrtime.bigint() - u0) / 1e6;
    const caught = two.catchUps[0];
    if (!caught || caught.rows !== rows) throw new Error(`the new replica caught up with ${caught?.rows} rows, not ${rows}`);
    return { rows, bytes, copyMs, catchUpMs: caught.seconds * 1000, upMs, insertMs };
  } finally {
    await down({ stack, cwd, purge: true, log: () => undefined });
    rmSync(cwd, { recursive: true, force: true });
  }
}
