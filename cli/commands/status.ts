import { Command, InvalidArgumentError } from "commander";
import { summary } from "../catalog.ts";
import { formatHealth } from "../../health/format.ts";
import { openKubernetesHealth } from "../../health/kubernetes.ts";
import type { StackConfig } from "../../infra/config/schema.ts";
import { statusWithHealth, type StackHealthStatus, type StackStatus } from "../../infra/loopback/status.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

type StatusOptions = StackOptions & { watch?: true | number; timeout?: number; kubernetes?: boolean; forward?: boolean; context?: string };

const positive = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number of seconds`);
  return n;
};

export function statusCommand(): Command {
  const cmd = withStackOptions(new Command("status"));
  return cmd
    .description(summary("status"))
    .option("--json", "print the status and its health report as JSON (docs/cli.md, docs/health.md)")
    .option("-w, --watch [seconds]", "refresh every N seconds (default 2) until Ctrl-C; with --json one object per line", positive("--watch"))
    .option("--timeout <seconds>", "give each server this long to answer before it is reported (default 2)", positive("--timeout"))
    .option("--kubernetes", "check the stack deployed on Kubernetes instead (credentials from CHSTACK_ADMIN_PASSWORD, docs/health.md)")
    .option("--forward", "with --kubernetes: reach every server through kubectl port-forward")
    .option("--context <name>", "with --forward: kubectl's context (default: its current one)")
    .addHelpText("after", [
      "",
      "Health: every ClickHouse host (up, version, uptime, replication queue and delay, read-only, ZooKeeper",
      "session, parts, disk, schema parity), every ZooKeeper node (mode, connections, outstanding requests),",
      "Postgres, the app, and rows per shard and replica of each replicated table. Rules: docs/health.md.",
      "",
      "Exit status: 0 healthy, 3 degraded, 4 down, 1 failure (a bad config), 64 bad command line.",
    ].join("\n"))
    .action(async (opts: StatusOptions) => {
      if ((opts.forward || opts.context) && !opts.kubernetes) cmd.error("error: --forward and --context go with --kubernetes");
      return run(opts, async () => {
        const { config, stack } = loadFromOptions(opts);
        const timeoutMs = opts.timeout === undefined ? undefined : opts.timeout * 1000;
        if (opts.kubernetes) return kubernetesStatus(opts, stack, config, timeoutMs);
        const once = async () => {
          const st = await statusWithHealth({ stack, config, timeoutMs });
          process.exitCode = st.health.exitCode;
          return st;
        };
        if (opts.watch === undefined) {
          const st = await once();
          console.log(opts.json ? JSON.stringify(st, null, 2) : formatStatusAndHealth(st));
          return;
        }
        await watch(opts.watch === true ? 2 : opts.watch, async () => {
          const st = await once();
          if (opts.json) return `${JSON.stringify(st)}\n`;
          const clear = process.stdout.isTTY ? "\x1b[2J\x1b[H" : "";
          return `${clear}${watchHeader(opts.watch!)}\n${formatStatusAndHealth(st)}\n${clear ? "" : "\n"}`;
        });
      });
    });
}

const watchHeader = (every: true | number) => `${new Date().toISOString()}  every ${every === true ? 2 : every} s, Ctrl-C to stop`;

/** The health report of the stack deployed on Kubernetes, reached directly or through kubectl port-forward. */
async function kubernetesStatus(opts: StatusOptions, stack: string, config: StackConfig, timeoutMs: number | undefined): Promise<void> {
  const k = await openKubernetesHealth({ stack, config, forward: opts.forward, context: opts.context, timeoutMs });
  const ns = config.kubernetes.namespace;
  const head = `stack ${stack}, cluster ${k.topology.cluster} on Kubernetes, namespace ${ns}${opts.forward ? ", through kubectl port-forward" : ""}` +
    (k.postgres ? "" : `\n(Postgres not checked: ${config.postgres.mode === "external" ? "it is external" : "set CHSTACK_POSTGRES_PASSWORD"})`);
  const render = async (oneLine: boolean) => {
    const health = await k.check();
    process.exitCode = health.exitCode;
    const json = { stack, cluster: k.topology.cluster, target: "kubernetes", namespace: ns, forwarded: Boolean(opts.forward), health };
    return opts.json ? JSON.stringify(json, null, oneLine ? undefined : 2) : `${head}\n\n${formatHealth(health)}`;
  };
  try {
    if (opts.watch === undefined) return console.log(await render(false));
    await watch(opts.watch === true ? 2 : opts.watch, async () => {
      const out = await render(true);
      if (opts.json) return `${out}\n`;
      const clear = process.stdout.isTTY ? "\x1b[2J\x1b[H" : "";
      return `${clear}${watchHeader(opts.watch!)}\n${out}\n${clear ? "" : "\n"}`;
    });
  } finally {
    await k.close();
  }
}

/** The server table, then the health report; for a stack of which nothing runs, one line says so. */
export function formatStatusAndHealth(st: StackHealthStatus): string {
  if (st.hosts.every((h) => h.state === "down")) {
    return `${formatStatus(st)}\n\nhealth: down: no server of stack ${st.stack} runs (\`chstack up --stack ${st.stack}\` starts them) [exit ${st.health.exitCode}]`;
  }
  return `${formatStatus(st)}\n\n${formatHealth(st.health)}`;
}

/** Print `render()` every `seconds` until Ctrl-C (or SIGTERM); the exit status is the last report's. */
async function watch(seconds: number, render: () => Promise<string>): Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let done = false;
  const onSignal = () => {
    done = true;
    stop();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    while (!done) {
      const began = Date.now();
      process.stdout.write(await render());
      const wait = Math.max(0, seconds * 1000 - (Date.now() - began));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, wait)))]);
      clearTimeout(timer);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
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
