import { Command } from "commander";
import { summary } from "../catalog.ts";
import { down } from "../../infra/loopback/down.ts";
import { checkStackName, loadStackConfig } from "../../infra/config/load.ts";
import { run, withStackOptions, type StackOptions } from "../options.ts";

export function downCommand(): Command {
  return withStackOptions(new Command("down"))
    .description(summary("down"))
    .option("--purge", "also delete the stack's state: data, logs, generated files and credentials")
    .option("--json", "print what was stopped as JSON")
    .addHelpText("after", "\nOnly processes this stack started are ever signalled. Data is kept unless --purge.")
    .action(async (opts: StackOptions & { purge?: boolean }) =>
      run(opts, async () => {
        // The stack's name is all `down` needs: it works from the state it recorded, even with a broken config.
        const stack = opts.config ? loadStackConfig({ stack: opts.stack, configFile: opts.config }).stack : checkStackName(opts.stack ?? "dev");
        const result = await down({ stack, purge: opts.purge, log: opts.json ? () => undefined : (l) => console.log(l) });
        if (opts.json) return console.log(JSON.stringify({ stack, ...result }, null, 2));
        const n = result.stopped.length + result.killed.length;
        console.log(`stack ${stack}: ${n === 0 ? "nothing was running" : `${n} server(s) stopped`}${result.purged ? "; state deleted" : ""}`);
      }),
    );
}
