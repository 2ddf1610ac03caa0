// chstack: the command line. Thin: parse flags, call the library, print.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { packageRoot } from "../infra/package-root.ts";
import { COMMANDS } from "./catalog.ts";

const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };

const program = new Command("chstack")
  .description("ClickHouse S x R with ZooKeeper and Postgres, from one stack config: on Kubernetes with Pulumi, or as local processes")
  .version(pkg.version);

// The command being run is defined in full; the others only by name and summary, for the help listing.
const named = process.argv[2] === "help" ? process.argv[3] : process.argv[2];
for (const [name, entry] of Object.entries(COMMANDS)) {
  program.addCommand(name === named ? await entry.load() : new Command(name).description(entry.summary).usage("[options]"));
}

// Every command, however deep: help and version exit 0, any other command-line error exits 64 (EX_USAGE),
// apart from the results commands give themselves (schema plan: 2 = statements pending).
(function configure(cmd: Command) {
  cmd.showHelpAfterError("(run with --help for usage)").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 64));
  cmd.commands.forEach(configure);
})(program);

await program.parseAsync(process.argv);
