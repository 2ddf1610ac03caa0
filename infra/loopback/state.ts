// Where a loopback stack keeps its state: `.chstack/<stack>/` under the working directory (git-ignored).
import { join, resolve } from "node:path";

export const STATE_ROOT = ".chstack";

export function stateDir(stack: string, cwd = process.cwd()): string {
  return resolve(cwd, STATE_ROOT, stack);
}

/** The generated credentials (0600), for scripts: see `chstack status --json` `secretsFile`. */
export function secretsFile(stack: string, cwd = process.cwd()): string {
  return join(stateDir(stack, cwd), "secrets.json");
}
