import { Command, InvalidArgumentError, Option } from "commander";
import { summary } from "../catalog.ts";
import { status } from "../../infra/loopback/status.ts";
import { readSecrets } from "../../infra/loopback/secrets.ts";
import { postgresClient } from "../../infra/loopback/servers.ts";
import { loopbackHosts } from "../../infra/loopback/hosts.ts";
import { readState, stateDir } from "../../infra/loopback/state.ts";
import { formatSummary } from "../../load/batches.ts";
import { load } from "../../load/run.ts";
import { ensureLoadTeams } from "../../load/teams.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

const integer = (min: number, max: number) => (v: string) => {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
  return n;
};

interface LoadCommandOptions extends StackOptions {
  events: number;
  rate: number;
  batch: number;
  concurrency: number;
  seed: number;
}

export function loadCommand(): Command {
  return withStackOptions(new Command("load"))
    .description(summary("load"))
    .addOption(new Option("--events <n>", "how many events to send").argParser(integer(1, 1_000_000_000)).makeOptionMandatory())
    .addOption(new Option("--rate <n>", "events per second; 0 sends as fast as the app takes them").argParser(integer(0, 10_000_000)).default(0))
    .addOption(new Option("--batch <n>", "events per /batch/ request").argParser(integer(1, 100_000)).default(500))
    .addOption(new Option("--concurrency <n>", "requests in flight").argParser(integer(1, 256)).default(8))
    .addOption(new Option("--seed <n>", "the event generator's seed (same seed, same events)").argParser(integer(0, 2 ** 32 - 1)).default(1))
    .option("--json", "print the summary as JSON: { sent, accepted, rejected, rejections, seconds, eventsPerSecond }")
    .action(async (opts: LoadCommandOptions) =>
      run(opts, async () => {
        const { config, stack } = loadFromOptions(opts);
        const st = status({ stack, config });
        const app = st.hosts.find((h) => h.role === "app");
        if (!st.app || !app) throw new Error(`stack ${stack} has no app: add \`chstack:app: {}\` to its config and run \`chstack up --stack ${stack}\``);
        if (app.state !== "up") throw new Error(`the app of stack ${stack} is not running: run \`chstack up --stack ${stack}\` first`);
        const secrets = readSecrets(st.secretsFile);
        if (!secrets) throw new Error(`stack ${stack} has no credentials yet: run \`chstack up --stack ${stack}\` first`);
        const t = loopbackHosts(config, stack, readState(stateDir(stack))).topology;
        const pg = postgresClient(t, secrets, "app");
        await pg.connect();
        let keys;
        try {
          keys = await ensureLoadTeams(pg);
        } finally {
          await pg.end();
        }
        const now = new Date();
        const reference = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
        const out = opts.json ? process.stderr : process.stdout;
        const s = await load({ url: st.app.url, events: opts.events, rate: opts.rate, batchSize: opts.batch, concurrency: opts.concurrency, seed: opts.seed, reference, keys, out });
        console.log(opts.json ? JSON.stringify(s, null, 2) : formatSummary(s));
        if (s.rejected > 0) process.exitCode = 1;
      }),
    );
}
