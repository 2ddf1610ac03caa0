// chstack: the command line. Thin: parse flags, call the library, print.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { downCommand } from "./commands/down.ts";
import { kindCommand } from "./commands/kind.ts";
import { renderCommand } from "./commands/render.ts";
import { schemaCommand } from "./commands/schema.ts";
import { statusCommand } from "./commands/status.ts";
import { upCommand } from "./commands/up.ts";
import { validateCommand } from "./commands/validate.ts";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("chstack")
  .description("ClickHouse S x R with ZooKeeper and Postgres, from one stack config: on Kubernetes with Pulumi, or as local processes")
  .version(pkg.version)
  .addCommand(upCommand())
  .addCommand(statusCommand())
  .addCommand(downCommand())
  .addCommand(schemaCommand())
  .addCommand(validateCommand())
  .addCommand(renderCommand())
  .addCommand(kindCommand());

// Every command, however deep: help and version exit 0, any other command-line error exits 64 (EX_USAGE),
// apart from the results commands give themselves (schema plan: 2 = statements pending).
(function configure(cmd: Command) {
  cmd.showHelpAfterError("(run with --help for usage)").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 64));
  cmd.commands.forEach(configure);
})(program);

await program.parseAsync(process.argv);
