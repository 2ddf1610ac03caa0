import { relative } from "node:path";
import { Command, Option } from "commander";
import { summary } from "../catalog.ts";
import { up } from "../../infra/loopback/up.ts";
import { closeAll, connectAll } from "../../infra/loopback/schema.ts";
import { loadDeclaration } from "../../infra/declaration.ts";
import { apply, PlanBlockedError } from "../../schema/apply.ts";
import { formatApply, formatPlan } from "../schema-format.ts";
import { status, type StackStatus } from "../../infra/loopback/status.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";
import { formatStatus } from "./status.ts";

export function upCommand(): Command {
  return withStackOptions(new Command("up"))
    .description(summary("up"))
    .option("--restart", "restart, one at a time, running servers whose files changed in a way that needs a restart")
    .option("--no-schema", "do not apply the declared schema after the servers are up")
    .option("-d, --declaration <module>", "the schema declaration module (default: the built-in PostHog events schema)")
    .addOption(new Option("--allow <kind...>", "allow a destructive topology change: drop-shard removes shards that hold rows").choices(["drop-shard"]))
    .option("--purge-removed", "delete the data of hosts the config no longer has (default: kept under .chstack/<stack>/retired/)")
    .option("--json", "print the final status as JSON (progress goes to stderr)")
    .addHelpText(
      "after",
      "\nStarts what is missing, restarts what died, leaves healthy servers alone. Generated credentials are\n" +
        "kept under .chstack/<stack>/ (0600). Installs the Debian packages it needs when run as root.\n" +
        "A changed shards or replicas count adds or removes hosts (docs/scaling.md): new hosts get the schema and\n" +
        "their shard's data before remote_servers lists them; a shard that holds rows is removed only with\n" +
        "--allow drop-shard.\n" +
        "Exit status: 0 converged, 1 failed (what this run started is stopped again), 64 bad command line.",
    )
    .action(async (opts: StackOptions & { restart?: boolean; schema: boolean; declaration?: string; allow?: string[]; purgeRemoved?: boolean }) =>
      run(opts, async () => {
        const { config, stack } = loadFromOptions(opts);
        const log = (line: string) => (opts.json ? console.error(line) : console.log(line));
        log(`stack ${stack}: cluster ${config.clickhouse.cluster}, ${config.clickhouse.shards} shards x ${config.clickhouse.replicas} replicas, ${config.coordination.size} ZooKeeper node(s), Postgres${config.app ? ", the app" : ""}`);
        let schemaOutcome = "schema: skipped (--no-schema)";
        const { postgres, published } = await up({
          stack, config, restart: opts.restart, log, allowDropShard: opts.allow?.includes("drop-shard") || config.scaling.allowDropShard, purgeRemoved: opts.purgeRemoved,
          schema: opts.schema === false ? undefined : async (t, secrets) => {
            const decl = await loadDeclaration(config.clickhouse.database, opts.declaration ?? config.schema.declaration);
            const conns = connectAll(t, secrets);
            log("schema: planning and applying the declared tables on every host");
            try {
              const r = await apply(decl, t, conns, { log });
              schemaOutcome = `schema: ${formatApply(r)}`;
              if (!r.converged) process.exitCode = 1;
              return r.converged;
            } catch (e) {
              if (!(e instanceof PlanBlockedError)) throw e;
              schemaOutcome = `${formatPlan(e.plan, stack)}\nschema: ${e.message}; the servers are up, run \`chstack schema plan\` for details`;
              process.exitCode = 1;
              return false;
            } finally {
              await closeAll(conns);
            }
          },
        });
        if (!published) process.exitCode = 1;
        const st = status({ stack, config });
        if (opts.json) return console.log(JSON.stringify(st, null, 2));
        console.log(`${schemaOutcome}\n\n${formatStatus(st)}\n\n${connectionHelp(st, postgres)}`);
      }),
    );
}

/** How to connect, as the stack's own Postgres user and database, with no password on any command line. */
export function connectionHelp(st: StackStatus, postgres: { user: string; database: string }): string {
  const dir = relative(process.cwd(), st.stateDir) || ".";
  const ch = st.hosts.find((h) => h.role === "clickhouse")!;
  const pg = st.hosts.find((h) => h.role === "postgres")!;
  return [
    `cluster ${st.cluster}; credentials in ${relative(process.cwd(), st.secretsFile)} (0600)`,
    `  clickhouse-client --config-file ${dir}/clickhouse-client.xml --port ${ch.ports.tcp}`,
    `  PGPASSFILE=${dir}/pgpass psql -h 127.0.0.1 -p ${pg.ports.tcp} -U ${shellWord(postgres.user)} ${shellWord(postgres.database)}`,
    ...(st.app ? [`  the app: ${st.app.url} (capture: POST ${st.app.url}/batch/ with the dev team's key, app.apiKey in the credentials file)`] : []),
    `  ./chstack status --stack ${st.stack}      ./chstack down --stack ${st.stack}`,
  ].join("\n");
}

/** A word the shell reads back unchanged. */
const shellWord = (w: string) => (/^[A-Za-z0-9_.\/-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);
