import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import { summary } from "../catalog.ts";
import { loadStackConfig } from "../../infra/config/load.ts";
import { REFERENCE_APP_IMAGE } from "../../infra/config/schema.ts";
import { KIND_CLUSTER_NAME, renderKindConfig } from "../../infra/kind/config.ts";
import { backendUrl, downSteps, localBackendDir, missingToolsMessage, upSteps, type Step, type Tool } from "../../infra/kind/steps.ts";
import { kubernetesTarget } from "../../infra/model/targets.ts";
import { buildTopology } from "../../infra/model/topology.ts";
import { run } from "../options.ts";

type KindOptions = { stack: string; dryRun?: boolean; out?: string };

const onPath = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;

function kindConfigText(stack: string): string {
  const { config } = loadStackConfig({ stack });
  return renderKindConfig(buildTopology(config, kubernetesTarget(config), stack));
}

/** The environment every Pulumi command runs with: a local file backend and a passphrase (a local dev cluster). */
function pulumiEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? backendUrl(root), PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "chstack-kind-local" };
}

function execute(steps: readonly Step[], root: string, dryRun: boolean): void {
  const backend = localBackendDir(pulumiEnv(root).PULUMI_BACKEND_URL!);
  if (backend && !dryRun) mkdirSync(backend, { recursive: true });
  for (const s of steps) {
    console.log(`${dryRun ? "would" : "==>"} ${s.describe}: ${s.command.join(" ")}${s.unless ? ` || ${s.unless.join(" ")}` : ""}`);
    if (dryRun) continue;
    const r = spawnSync(s.command[0]!, s.command.slice(1), { stdio: "inherit", cwd: root, env: pulumiEnv(root) });
    if (r.status === 0) continue;
    if (s.unless && spawnSync(s.unless[0]!, s.unless.slice(1), { stdio: "inherit", cwd: root, env: pulumiEnv(root) }).status === 0) continue;
    throw new Error(`${s.describe} failed: ${s.command.join(" ")} exited ${r.status ?? r.signal}`);
  }
}

export function kindCommand(): Command {
  const cmd = new Command("kind").description(summary("kind"));
  const root = resolve(".");
  const common = (c: Command) => c.option("-s, --stack <name>", "stack name (Pulumi.<name>.yaml)", "kind").option("--dry-run", "print the steps instead of running them");

  cmd.addCommand(
    new Command("config").description("Write the kind cluster config generated from the stack config")
      .option("-s, --stack <name>", "stack name (Pulumi.<name>.yaml)", "kind")
      .option("-o, --out <file>", "where to write it", "kind/cluster.yaml")
      .action(async (opts: KindOptions) => run({}, () => {
        writeFileSync(resolve(opts.out!), kindConfigText(opts.stack));
        console.log(`wrote ${opts.out}`);
      })),
  );
  cmd.addCommand(
    common(new Command("up")).description("Create the kind cluster if needed, select or create the stack, and run pulumi up")
      .action(async (opts: KindOptions) => run({}, () => {
        const missing = (["docker", "kind", "pulumi"] as Tool[]).filter((t) => !onPath(t));
        const text = kindConfigText(opts.stack);
        const file = join(root, ".chstack", "kind", `${KIND_CLUSTER_NAME}.yaml`);
        if (missing.length > 0 && !opts.dryRun) throw new Error(missingToolsMessage(missing));
        if (missing.length > 0) console.log(`${missingToolsMessage(missing)}\n(dry run: the steps it would take follow)`);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
        const exists = !missing.includes("kind") && (spawnSync("kind", ["get", "clusters"], { encoding: "utf8" }).stdout ?? "").split("\n").includes(KIND_CLUSTER_NAME);
        const { config } = loadStackConfig({ stack: opts.stack });
        const referenceAppImage = config.app?.image === REFERENCE_APP_IMAGE ? REFERENCE_APP_IMAGE : undefined;
        execute(upSteps({ root, stack: opts.stack, kindConfigFile: file, referenceAppImage }, exists), root, Boolean(opts.dryRun));
      })),
  );
  cmd.addCommand(
    common(new Command("down")).description("Delete the kind cluster (and its volumes) and the stack's local state")
      .action(async (opts: KindOptions) => run({}, () => {
        const missing = (["kind", "pulumi"] as Tool[]).filter((t) => !onPath(t));
        if (missing.length > 0 && !opts.dryRun) throw new Error(missingToolsMessage(missing));
        execute(downSteps({ root, stack: opts.stack, kindConfigFile: "" }), root, Boolean(opts.dryRun));
      })),
  );
  return cmd;
}
