// Integration-test stacks: a throwaway project directory holding one golden stack's config (its own stack
// name and port range) and the golden credentials, so `up` boots exactly the golden rendering. `destroy`
// stops what the stack started, by the pids it recorded, and deletes the directory.
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadStackConfig } from "../../infra/config/load.ts";
import { clickhouseClient } from "../../infra/loopback/servers.ts";
import { readState, stateDir } from "../../infra/loopback/state.ts";
import { isUnder, processesByCwd, stopServer } from "../../infra/loopback/procs.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { buildTopology, type Topology } from "../../infra/model/topology.ts";
import { fixturePath, goldenSecrets, type GoldenName } from "./goldens.ts";

const bin = fileURLToPath(new URL("../../cli/bin.mjs", import.meta.url));

export interface TestStack {
  readonly name: string;
  readonly cwd: string;
  readonly dir: string;
  readonly topology: Topology;
  chstack(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  client(hostIndex: number, role?: "admin" | "writer" | "readonly"): ReturnType<typeof clickhouseClient>;
  destroy(): Promise<void>;
}

export interface TestStackOptions {
  /** Edit the golden's stack config (YAML text) before it is written. */
  readonly config?: (yaml: string) => string;
  /** Files written into the project directory first (a declaration module the config names). */
  readonly files?: Readonly<Record<string, string>>;
}

/** A stack of a golden's topology; `portBase` moves it to a range of its own (then it is not the golden rendering). */
export function testStack(golden: GoldenName, name: string, portBase?: number, o: TestStackOptions = {}): TestStack {
  const cwd = mkdtempSync(join(tmpdir(), `chstack-${name}-`));
  const fixture = readFileSync(fixturePath(`golden-${golden}.yaml`), "utf8");
  const moved = portBase === undefined ? fixture : fixture.replace(/portBase: \d+/, `portBase: ${portBase}`);
  writeFileSync(join(cwd, `Pulumi.${name}.yaml`), o.config ? o.config(moved) : moved);
  for (const [file, text] of Object.entries(o.files ?? {})) writeFileSync(join(cwd, file), text);
  const dir = stateDir(name, cwd);
  mkdirSync(dir, { recursive: true });
  copyFileSync(fixturePath("golden-secrets.json"), join(dir, "secrets.json"));
  chmodSync(join(dir, "secrets.json"), 0o600);
  const { config } = loadStackConfig({ stack: name, dir: cwd });
  const topology = buildTopology(config, loopbackTarget(config), name);
  const secrets = goldenSecrets();

  const chstack = (...args: string[]) => runChstack(cwd, [...args, "--stack", name]);

  return {
    name, cwd, dir, topology, chstack,
    client: (i, role = "admin") => clickhouseClient(topology.hosts[i]!, secrets, role),
    async destroy() {
      await chstack("down", "--purge");
      // Whatever `down` could not stop (it failed, or the state is damaged) is stopped here, by recorded pid.
      try {
        const state = readState(dir);
        for (const p of Object.values(state?.processes ?? {})) await stopServer(p, 5_000);
      } catch {
        // nothing recorded
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** Run the chstack command in a project directory. */
export function runChstack(
  cwd: string,
  args: readonly string[],
  onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export const pidsOf = (stack: TestStack): Record<string, number> =>
  Object.fromEntries(Object.entries(readState(stack.dir)?.processes ?? {}).map(([n, p]) => [n, p.pid]));

/** Every process whose working directory is inside `dir` (every server of a loopback stack runs there). */
export const processesIn = (dir: string): number[] => processesByCwd((cwd) => isUnder(cwd, dir)).map((p) => p.pid);

export const processExists = (pid: number): boolean => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

/** Rows of a query, as objects. */
export async function rows<T>(client: ReturnType<typeof clickhouseClient>, query: string): Promise<T[]> {
  return (await client.query({ query, format: "JSONEachRow" })).json<T>();
}

/** Run `fn` with a client of the stack's host `i`, closed afterwards. */
export async function withClient<T>(
  stack: TestStack, i: number, fn: (c: ReturnType<typeof clickhouseClient>) => Promise<T>, role: "admin" | "writer" | "readonly" = "admin",
): Promise<T> {
  const c = stack.client(i, role);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

export interface HealthSummary { code: number | null; verdict: string; summary: string; reasons: string[] }

/** `status --json`'s verdict, exit code and reasons. */
export async function healthOf(stack: TestStack): Promise<HealthSummary> {
  const r = await stack.chstack("status", "--json");
  const h = JSON.parse(r.stdout).health as Omit<HealthSummary, "code">;
  return { code: r.code, verdict: h.verdict, summary: h.summary, reasons: h.reasons };
}

/** Poll the health report until `ok` holds (servers settle; failing entries are counted after a few tries). */
export async function healthUntil(stack: TestStack, what: string, ok: (h: HealthSummary) => boolean, timeoutMs = 60_000): Promise<HealthSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await healthOf(stack);
    if (ok(h)) return h;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; last: exit ${h.code}, ${JSON.stringify(h.reasons)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
