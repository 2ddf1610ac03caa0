// How long each command takes to start and finish, beside `node -e 0`, spawned as a user types them:
// `./chstack` (the compiled build), `npx chstack` (npx's own resolution on top), and the TypeScript
// sources through tsx (how the command ran before it was compiled). Wall time, median of `runs`.
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface StartRow {
  readonly label: string;
  readonly medianMs: number;
}

function wall(cwd: string, argv: readonly string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd, stdio: "ignore" });
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (r.error) throw r.error;
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/** `cwd` holds the running stack `stack`, whose schema has converged (so `up` is a no-op). */
export function commandStarts(cwd: string, stack: string, runs: number): StartRow[] {
  mkdirSync(join(cwd, "node_modules/.bin"), { recursive: true }); // as in a project that depends on chstack
  symlinkSync(join(root, "cli/bin.mjs"), join(cwd, "node_modules/.bin/chstack"));
  const chstack = join(root, "chstack");
  const s = ["--stack", stack];
  const rows: [string, string[]][] = [
    ["node -e 0 (the floor)", [process.execPath, "-e", "0"]],
    ["./chstack --help", [chstack, "--help"]],
    ["./chstack validate", [chstack, "validate", ...s]],
    ["./chstack status", [chstack, "status", ...s]],
    ["./chstack down (a stack that is not running)", [chstack, "down", "--stack", "not-running"]],
    ["./chstack up (no-op: all running, schema converged)", [chstack, "up", ...s]],
    ["npx chstack status", ["npx", "chstack", "status", ...s]],
    ["status from the TypeScript sources (tsx)", [process.execPath, "--import", pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href, join(root, "cli/main.ts"), "status", ...s]],
  ];
  wall(cwd, [chstack, "--help"], 1); // the build in dist/ is current
  return rows.map(([label, argv]) => ({ label, medianMs: wall(cwd, argv, runs) }));
}
