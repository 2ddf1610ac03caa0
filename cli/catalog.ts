// The commands, each with its one-line summary and the module that defines it. Only the module of the
// command being run is loaded, so a command pays for what it uses and `--help` for nothing.
import type { Command } from "commander";

interface Entry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const COMMANDS = {
  up: {
    summary: "Start the loopback stack (ZooKeeper, ClickHouse S x R, Postgres on 127.0.0.1) or converge it to its config",
    load: () => import("./commands/up.ts").then((m) => m.upCommand()),
  },
  status: {
    summary: "Show every server of the loopback stack and a health report: replication, ZooKeeper, Postgres, the app, schema parity; exit 3 degraded, 4 down",
    load: () => import("./commands/status.ts").then((m) => m.statusCommand()),
  },
  down: {
    summary: "Stop every server of the loopback stack by its recorded pid, gracefully then forcefully",
    load: () => import("./commands/down.ts").then((m) => m.downCommand()),
  },
  schema: {
    summary: "Plan and apply the declared tables on every host of the loopback stack",
    load: () => import("./commands/schema.ts").then((m) => m.schemaCommand()),
  },
  validate: {
    summary: "Validate a stack config and print the resolved topology; every problem is listed, with its field",
    load: () => import("./commands/validate.ts").then((m) => m.validateCommand()),
  },
  render: {
    summary: "Write the generated server files of a target into a directory, for review",
    load: () => import("./commands/render.ts").then((m) => m.renderCommand()),
  },
  load: {
    summary: "Send realistic events through the app's capture API (several teams, skewed events and users, 90 days), with progress and a summary",
    load: () => import("./commands/load.ts").then((m) => m.loadCommand()),
  },
  kind: {
    summary: "The stack on a local kind cluster (needs Docker, kind and the Pulumi CLI)",
    load: () => import("./commands/kind.ts").then((m) => m.kindCommand()),
  },
  compare: {
    summary: "Load the same events into ClickHouse and Postgres, run the same analytics queries on both, compare results, times and storage",
    load: () => import("./commands/compare.ts").then((m) => m.compareCommand()),
  },
} as const satisfies Record<string, Entry>;

export type CommandName = keyof typeof COMMANDS;

export const summary = (name: CommandName): string => COMMANDS[name].summary;
