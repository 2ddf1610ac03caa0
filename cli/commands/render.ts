import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import { buildTopology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { hashPasswords } from "../../infra/render/clickhouse/index.ts";
import { secretsFile } from "../../infra/loopback/state.ts";
import { clickhousePasswords, generatePassword, readSecrets } from "../../infra/loopback/secrets.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

/** Marks a directory as ours, so that a second render may replace it and nothing else is ever deleted. */
const MARKER = ".chstack-render";

export function renderCommand(): Command {
  const cmd = new Command("render").description("Write the generated server files of a target into a directory, for review");
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
          const passwords = secrets
            ? clickhousePasswords(secrets)
            : { admin: generatePassword(), writer: generatePassword(), readonly: generatePassword(), interserver: generatePassword() };
          const files = renderLoopback(topology, hashPasswords(passwords));
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
  return cmd;
}

function prepareOutDir(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  if (!entries.includes(MARKER)) throw new Error(`${out} is not empty and was not written by chstack render; choose a new directory`);
  for (const entry of entries) rmSync(join(out, entry), { recursive: true, force: true });
}
