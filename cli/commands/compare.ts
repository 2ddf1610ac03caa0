import { Command, Option } from "commander";
import { summary } from "../catalog.ts";
import { loadFromOptions, run, withStackOptions, type StackOptions } from "../options.ts";
import { CLICKHOUSE_FORMATS, type ClickHouseFormat } from "../../compare/encode.ts";
import { formatResult } from "../../compare/format.ts";
import { progress } from "../../compare/progress.ts";
import { cleanCompare, DEFAULT_REFERENCE, DEFAULT_RUNS, DEFAULT_SEED, runCompare, validateOptions } from "../../compare/run.ts";

interface CompareCliOptions extends StackOptions {
  events?: string;
  seed: string;
  reference: string;
  runs: string;
  reload?: boolean;
  clean?: boolean;
  format: ClickHouseFormat;
  browser: "materialized" | "json";
}

/** A day as typed (YYYY-MM-DD, a real date) as its UTC midnight, else an invalid date. */
function parseDay(s: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T00:00:00Z`) : new Date(Number.NaN);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s) ? d : new Date(Number.NaN);
}

/** A whole number as typed: digits, optionally grouped with _ or , (10_000_000). */
const wholeNumber = (s: string) => (/^\d+([_,]\d+)*$/.test(s) ? Number(s.replace(/[_,]/g, "")) : Number.NaN);

export function compareCommand(): Command {
  return withStackOptions(new Command("compare"))
    .description(summary("compare"))
    .option("-n, --events <n>", "how many events to load into both databases (e.g. 1000000 or 1_000_000)")
    .option("--seed <n>", "seed of the event generator", String(DEFAULT_SEED))
    .option("--reference <day>", "the day (UTC, YYYY-MM-DD) the 90 days of events end before", DEFAULT_REFERENCE.toISOString().slice(0, 10))
    .option("--runs <n>", "timed runs per query and database, after one warm-up; the median is reported", String(DEFAULT_RUNS))
    .option("--reload", "drop and load again even if the same events are loaded already")
    .option("--clean", "drop compare's own tables from both databases and exit")
    .addOption(new Option("--format <format>", "ClickHouse insert format").choices([...CLICKHOUSE_FORMATS]).default("RowBinary"))
    .addOption(new Option("--browser <design>", "the $browser breakdown reads a materialized column (mat_$browser / a stored generated column) or the JSON at query time").choices(["materialized", "json"]).default("materialized"))
    .option("--json", "print the result as JSON (progress goes to stderr)")
    .addHelpText(
      "after",
      "\nLoads the same generated PostHog events into ClickHouse (database chstack_compare, PostHog's events tables,\n" +
        "through the Distributed table) and into Postgres (schema chstack_compare, table events with its indexes),\n" +
        "runs the same analytics queries on both, checks that both return the same rows, and prints each query's\n" +
        "median time on both, their ratio, and the storage each uses. A rerun with the same events and seed\n" +
        "reuses the load. Needs the loopback stack up. Only compare's own tables are ever dropped. See docs/compare.md.\n" +
        "Exit status: 0 same results, 1 results differ or failure (stack not up), 64 bad command line.",
    )
    .action(async (opts: CompareCliOptions, cmd: Command) =>
      run(opts, async () => {
        const { config, stack } = loadFromOptions(opts);
        const out = opts.json ? process.stderr : process.stdout;
        const log = (line: string) => out.write(`${line}\n`);
        if (opts.clean) return cleanCompare({ stack, config, log });
        // A bad command line exits 64, as commander's own errors do.
        if (opts.events === undefined) return cmd.error("error: --events is required (how many events to load), e.g. --events 1000000");
        const reference = parseDay(opts.reference);
        const o = { events: wholeNumber(opts.events), seed: wholeNumber(opts.seed), reference, runs: wholeNumber(opts.runs) };
        const problems = validateOptions(o);
        if (problems.length > 0) return cmd.error(`error: ${problems.join("; ")}`);
        process.once("SIGINT", () => {
          out.write("\ninterrupted: nothing half-loaded is ever reused (the next run loads again)\n");
          process.exit(130);
        });
        const r = await runCompare({
          stack, config, ...o, reload: opts.reload, format: opts.format, browser: opts.browser, log,
          progress: (label, total) => progress(label, total, out),
        });
        if (opts.json) console.log(JSON.stringify(r, null, 2));
        else console.log(`\n${formatResult(r)}`);
        if (!r.identical) {
          const first = r.queries.find((q) => !q.identical)!;
          console.error(`error: the databases returned different results: ${first.difference}`);
          process.exitCode = 1;
        }
      }),
    );
}
