import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import { summary } from "../catalog.ts";
import { stringify } from "yaml";
import { buildTopology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { hashPasswords } from "../../infra/render/clickhouse/index.ts";
import { secretsFile } from "../../infra/loopback/state.ts";
import { clickhousePasswords, generateSecrets, readSecrets } from "../../infra/loopback/secrets.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

/** Marks a directory as ours, so that a second render may replace it and nothing else is ever deleted. */
const MARKER = ".chstack-render";

export function renderCommand(): Command {
  const cmd = new Command("render").description(summary("render"));
  cmd.addCommand(
    withStackOptions(new Command("loopback"))
      .description("Write every loopback host's ClickHouse files and every ZooKeeper node's zoo.cfg and myid into DIR")
      .requiredOption("-o, --out <dir>", "output directory: new, empty, or an earlier render's")
      .option("--json", "print what was written as JSON")
      .addHelpText(
        "after",
        "\nPaths are relative to the stack's state dir (.chstack/<stack>/), exactly as `chstack up` writes them.\n" +
          "Users carry the stack's own password hashes once `up` has generated them, else throwaway ones.",
      )
      .action(async (opts: StackOptions & { out: string }) =>
        run(opts, () => {
          const { config, stack } = loadFromOptions(opts);
          const topology = buildTopology(config, loopbackTarget(config), stack);
          const secrets = readSecrets(secretsFile(stack));
          const files = renderLoopback(topology, hashPasswords(clickhousePasswords(secrets ?? generateSecrets(config))));
          const out = resolve(opts.out);
          prepareOutDir(out);
          for (const [path, content] of Object.entries(files)) {
            mkdirSync(dirname(join(out, path)), { recursive: true });
            writeFileSync(join(out, path), content);
          }
          writeFileSync(join(out, MARKER), `chstack render loopback --stack ${stack}\n`);
          const credentials = secrets ? "stack" : "throwaway";
          if (opts.json) {
            console.log(JSON.stringify({ stack, target: "loopback", out, credentials, files: Object.keys(files).sort() }, null, 2));
          } else {
            console.log(`wrote ${Object.keys(files).length} files for ${topology.hosts.length} ClickHouse hosts and ${topology.coordination.nodes.length} ZooKeeper node(s) into ${out}`);
            if (!secrets) console.log(`note: stack ${stack} has no credentials yet; users.d carries throwaway password hashes (chstack up generates the stack's own)`);
          }
        }),
      ),
  );
  cmd.addCommand(
    withStackOptions(new Command("k8s"))
      .description("Run the Kubernetes program in-process (mocked engine) and write every object as validated YAML into DIR")
      .requiredOption("-o, --out <dir>", "output directory: new, empty, or an earlier render's")
      .option("--json", "print what was written as JSON")
      .addHelpText(
        "after",
        "\nNothing reaches a cluster. Generated passwords show as a placeholder, and Pulumi secrets of the stack file\n" +
          "(never decrypted) as a labelled placeholder, both inside Secret objects only.",
      )
      .action(async (opts: StackOptions & { out: string }) =>
        run(opts, async () => {
          const { config, stack } = loadFromOptions(opts);
          const { runProgram } = await import("../../infra/k8s/harness.ts");
          const { validateObjects } = await import("../../infra/k8s/validate.ts");
          const result = await runProgram(withSecretPlaceholders(config), { stack });
          const problems = validateObjects(result.objects);
          if (problems.length > 0) throw new Error(`the program emits invalid objects (nothing written):\n  ${problems.join("\n  ")}`);
          const out = resolve(opts.out);
          prepareOutDir(out);
          mkdirSync(out, { recursive: true });
          const files = result.objects.map((o, i) => {
            const file = `${String(i + 1).padStart(3, "0")}-${String(o.kind).toLowerCase()}-${o.metadata.name}.yaml`;
            writeFileSync(join(out, file), stringify(o));
            return file;
          });
          writeFileSync(join(out, MARKER), `chstack render k8s --stack ${stack}\n`);
          if (opts.json) console.log(JSON.stringify({ stack, target: "kubernetes", out, files }, null, 2));
          else console.log(`wrote ${files.length} Kubernetes objects (validated) for stack ${stack} into ${out}`);
        }),
      ),
  );
  return cmd;
}

/** Pulumi secrets of a stack file stay encrypted: the rendering names them instead. */
function withSecretPlaceholders<T>(value: T, path: string[] = []): T {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if ("secure" in value) return `<pulumi secret ${path.join(".")}>` as T;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecretPlaceholders(v, [...path, k])])) as T;
  }
  return value;
}

function prepareOutDir(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  if (!entries.includes(MARKER)) throw new Error(`${out} is not empty and was not written by chstack render; choose a new directory`);
  for (const entry of entries) rmSync(join(out, entry), { recursive: true, force: true });
}
