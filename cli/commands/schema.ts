import { Command, Option } from "commander";
import { summary } from "../catalog.ts";
import { apply, PlanBlockedError, planFor } from "../../schema/apply.ts";
import { lastApply, type LedgerStatus } from "../../schema/ledger.ts";
import { ALLOW_KINDS, type AllowKind } from "../../schema/plan.ts";
import { loopbackHosts } from "../../infra/loopback/hosts.ts";
import { closeAll, connectAll } from "../../infra/loopback/schema.ts";
import { loadDeclaration } from "../../infra/declaration.ts";
import { readSecrets } from "../../infra/loopback/secrets.ts";
import { readState, secretsFile, stateDir, withStackLock } from "../../infra/loopback/state.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";
import { formatApply, formatPlan } from "../schema-format.ts";

type SchemaOptions = StackOptions & { declaration?: string; allow?: AllowKind[] };

/** The loopback stack's topology, connections and declaration. */
async function open(opts: SchemaOptions) {
  const { config, stack } = loadFromOptions(opts);
  const t = loopbackHosts(config, stack, readState(stateDir(stack))).topology;
  // The declaration first: a bad one is reported as such, even on a stack that never ran.
  const decl = await loadDeclaration(config.clickhouse.database, opts.declaration ?? config.schema.declaration);
  const secrets = readSecrets(secretsFile(stack));
  if (!secrets) throw new Error(`stack ${stack} has no credentials yet: run \`chstack up --stack ${stack}\` first`);
  return { stack, t, decl, conns: connectAll(t, secrets) };
}

/** What a host's ledger says of its last apply, and of which declaration. */
function ledgerLine(l: LedgerStatus | { error?: string }, current: string, inSync: boolean): string {
  if (!("host" in l)) return `its ledger is unreadable (${l.error})`;
  if (!l.declarationHash) return "no apply recorded";
  const of = l.declarationHash === current ? "this declaration" : `an earlier declaration, ${l.declarationHash}`;
  if (l.result === "interrupted") return `last apply (${of}) began ${l.began} and never finished${l.planned ? ` (${l.planned})` : ""}: it was interrupted; ${inSync ? "the host matches the declaration now" : "schema apply again converges"}`;
  return `last apply ${l.appliedAt} (${of}) ${l.result === "ok" ? "succeeded" : `failed${l.error ? `: ${l.error}` : ""}`}`;
}

const withDeclaration = (cmd: Command) =>
  withStackOptions(cmd).option("-d, --declaration <module>", "a TypeScript module whose default export is the declaration (default: schema.declaration of the stack config, else the built-in PostHog events schema)");

export function schemaCommand(): Command {
  const cmd = new Command("schema").description(summary("schema"));

  cmd.addCommand(
    withDeclaration(new Command("plan"))
      .description("Show, per shard and per host, the statements that would converge every host, and any drift; changes nothing")
      .option("--json", "print the plan as JSON")
      .addHelpText("after", "\nExit status: 0 nothing to do, 2 statements or drift pending, 1 failure (a host unreachable, a bad declaration), 64 bad command line.")
      .action(async (opts: SchemaOptions) =>
        run(opts, async () => {
          const { stack, t, decl, conns } = await open(opts);
          try {
            const p = await planFor(decl, t, conns);
            console.log(opts.json ? JSON.stringify({ stack, ...p }, null, 2) : formatPlan(p, stack));
            process.exitCode = p.unreachable.length > 0 ? 1 : p.tasks.length > 0 || p.drift.length > 0 ? 2 : 0;
          } finally {
            await closeAll(conns);
          }
        }),
      ),
  );

  cmd.addCommand(
    withDeclaration(new Command("apply"))
      .description("Apply the plan: every host converges, or the command says which did not and what is left")
      .addOption(new Option("--allow <kind...>", "allow a destructive change").choices([...ALLOW_KINDS]))
      .option("--json", "print the result as JSON (progress goes to stderr)")
      .addHelpText("after", "\nNothing is applied while the plan holds drift that is not allowed, or needs a migration.\nExit status: 0 converged, 1 refused or not converged, 64 bad command line.")
      .action(async (opts: SchemaOptions) =>
        run(opts, async () => {
          const { stack, t, decl, conns } = await open(opts);
          const log = (line: string) => (opts.json ? console.error(line) : console.log(line));
          try {
            const result = await withStackLock(stateDir(stack), "schema apply", () => apply(decl, t, conns, { allow: new Set(opts.allow ?? []), log }));
            console.log(opts.json ? JSON.stringify({ stack, ...result }, null, 2) : formatApply(result));
            if (!result.converged) process.exitCode = 1;
          } catch (e) {
            if (!(e instanceof PlanBlockedError)) throw e;
            console.log(opts.json ? JSON.stringify({ stack, refused: true, plan: e.plan }, null, 2) : `${formatPlan(e.plan, stack)}\n\n${e.message}`);
            process.exitCode = 1;
          } finally {
            await closeAll(conns);
          }
        }),
      ),
  );

  cmd.addCommand(
    withDeclaration(new Command("status"))
      .description("Per host: the last apply recorded in its ledger, and whether it matches the current declaration")
      .option("--json", "print the status as JSON")
      .action(async (opts: SchemaOptions) =>
        run(opts, async () => {
          const { stack, t, decl, conns } = await open(opts);
          try {
            const p = await planFor(decl, t, conns);
            const hosts = await Promise.all(t.hosts.map(async (h) => {
              const ledger = await lastApply(conns.get(h.name)!).catch((e: Error) => ({ error: e.message.split("\n")[0] }));
              const pending = p.tasks.filter((x) => x.host === h.name || x.group?.includes(h.name)).length;
              const reachable = !p.unreachable.some((u) => u.host === h.name);
              return { host: h.name, shard: h.address.shardIndex, reachable, pendingStatements: pending, inSync: reachable && pending === 0, ledger };
            }));
            if (opts.json) return console.log(JSON.stringify({ stack, declarationHash: p.declarationHash, hosts }, null, 2));
            console.log(`schema status for stack ${stack}, declaration ${p.declarationHash}`);
            for (const h of hosts) {
              const now = !h.reachable ? `unreachable (${p.unreachable.find((u) => u.host === h.host)!.error})` : h.inSync ? "matches the declaration" : `${h.pendingStatements} statement(s) pending`;
              console.log(`  ${h.host}: ${now}; ${ledgerLine(h.ledger, p.declarationHash, h.inSync)}`);
            }
          } finally {
            await closeAll(conns);
          }
        }),
      ),
  );
  return cmd;
}
