import { Command } from "commander";
import { summary } from "../catalog.ts";
import { status, type StackStatus } from "../../infra/loopback/status.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

export function statusCommand(): Command {
  return withStackOptions(new Command("status"))
    .description(summary("status"))
    .option("--json", "print the status as JSON (shape documented in docs/cli.md)")
    .action(async (opts: StackOptions) =>
      run(opts, () => {
        const { config, stack } = loadFromOptions(opts);
        const st = status({ stack, config });
        console.log(opts.json ? JSON.stringify(st, null, 2) : formatStatus(st));
      }),
    );
}

export function formatStatus(st: StackStatus): string {
  const rows = [["NAME", "ROLE", "SHARD", "REPLICA", "PORTS", "PID", "STATE"]];
  for (const h of st.hosts) {
    rows.push([
      h.name, h.role, h.shard === null ? "-" : String(h.shard), h.replica === null ? "-" : String(h.replica),
      Object.entries(h.ports).map(([k, v]) => `${k} ${v}`).join(", "), h.pid === null ? "-" : String(h.pid), stateOf(h),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const up = st.hosts.filter((h) => h.state === "up").length;
  const cleanup = st.pendingCleanup.map((c) => `replica metadata of the removed host ${c.host} is still in ZooKeeper (since ${c.since}${c.lastError ? `; last error: ${c.lastError}` : ""}): the next \`chstack up\` retries`);
  const app = st.app ? [`app: ${st.app.url}`] : [];
  return [`stack ${st.stack}, cluster ${st.cluster}: ${up} of ${st.hosts.length} servers up`, ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()), ...app, ...cleanup].join("\n");
}

/** up / down, and for a ClickHouse host in the middle of a topology change, where it stands. */
const stateOf = (h: StackStatus["hosts"][number]) =>
  h.wanted === false ? `${h.state}, to retire` : h.state === "up" && h.published === false ? "up, not published" : h.state;
