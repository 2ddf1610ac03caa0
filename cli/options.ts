// Options every stack command shares, and how a command's failure becomes an exit code.
import { Option, type Command } from "commander";
import { ConfigError } from "../infra/config/errors.ts";
import { loadStackConfig, type LoadedConfig } from "../infra/config/load.ts";

export interface StackOptions {
  stack?: string;
  config?: string;
  json?: boolean;
}

/** `--stack NAME` and `--config FILE` (the file's stack name is its `Pulumi.<name>.yaml` part unless --stack is given). */
export function withStackOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("-s, --stack <name>", "stack name: reads Pulumi.<name>.yaml (default: dev)"))
    .addOption(new Option("-c, --config <file>", "read the stack config from this YAML file (same shape as Pulumi.<stack>.yaml)"));
}

export function loadFromOptions(opts: StackOptions): LoadedConfig {
  return loadStackConfig({ stack: opts.stack, configFile: opts.config });
}

/** Exit codes: 0 done, 1 invalid config or failed, 64 bad command line (commander's own errors, see main.ts). */
export async function run(opts: { json?: boolean }, action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (e instanceof ConfigError) {
      if (opts.json) console.log(JSON.stringify({ valid: false, source: e.source, problems: e.problems }, null, 2));
      else console.error(`error: ${e.message}`);
    } else if (opts.json) {
      console.log(JSON.stringify({ error: (e as Error).message }, null, 2));
    } else {
      console.error(`error: ${(e as Error).message}`);
    }
    process.exitCode = 1;
  }
}
