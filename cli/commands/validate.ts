import { Command } from "commander";
import { summary } from "../catalog.ts";
import { formatSummary, topologySummary } from "../summary.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";

export function validateCommand(): Command {
  return withStackOptions(new Command("validate"))
    .description(summary("validate"))
    .option("--json", "print the resolved topology (or the problems) as JSON")
    .addHelpText("after", "\nExit status: 0 valid, 1 invalid (every problem is printed), 64 bad command line.")
    .action(async (opts: StackOptions) =>
      run(opts, () => {
        const { config, stack, file } = loadFromOptions(opts);
        const summary = topologySummary(config, stack, file);
        console.log(opts.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
      }),
    );
}
