// What the e2e suite needs around a real cluster: a command runner that keeps a log per command and never
// prints a secret, kubectl reads, clickhouse-client and psql inside the pods, and the work directory (a
// copy of the checkout) that `npm run kind:up` and pulumi run in.
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CACHE = process.env.CHSTACK_CACHE ?? join(homedir(), ".cache", "chstack");

export function progress(line: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  /** Values replaced by *** in the log and in errors. */
  readonly secrets?: readonly string[];
  /** Stream the output to stderr (long commands: pulumi up). */
  readonly stream?: boolean;
  /** Resolve with a non-zero exit code instead of throwing. */
  readonly allowFailure?: boolean;
}
export interface RunResult { readonly code: number; readonly out: string; readonly stdout: string }

export class Runner {
  private n = 0;
  /** Values no log line or error may show, whatever command prints them (each stack password, once known). */
  private readonly known = new Set<string>();
  constructor(readonly logDir: string) { mkdirSync(logDir, { recursive: true }); }

  redactAlways(values: readonly string[]): void {
    for (const v of values) if (v.length > 0) this.known.add(v);
  }

  run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
    const all = [...this.known, ...(o.secrets ?? [])].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
    const redact = (s: string) => all.reduce((acc, v) => acc.split(v).join("***"), s);
    const shown = redact([cmd, ...args].join(" "));
    const log = join(this.logDir, `${String(++this.n).padStart(3, "0")}-${cmd.replace(/\W/g, "")}.log`);
    appendFileSync(log, `$ ${shown}\n`);
    if (o.stream) progress(`$ ${shown}`);
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let stdout = "";
      const take = (isStdout: boolean) => (b: Buffer) => {
        const s = b.toString();
        out += s;
        if (isStdout) stdout += s;
        appendFileSync(log, redact(s));
        if (o.stream) process.stderr.write(redact(s).replace(/^(?=.)/gm, "    "));
      };
      child.stdout.on("data", take(true));
      child.stderr.on("data", take(false));
      child.on("error", reject);
      child.stdin.end(o.input ?? "");
      child.on("close", (code, signal) => {
        const c = code ?? 128;
        if (c !== 0 && !o.allowFailure) {
          reject(new Error(`${shown} exited ${code ?? signal} (log ${log}):\n${redact(out).split("\n").slice(-25).join("\n")}`));
        } else resolve({ code: c, out: redact(out), stdout });
      });
    });
  }
}

/** A copy of the checkout (tracked and untracked-but-not-ignored files) with node_modules linked. */
export function workCopy(stackFile: string, stack: string): string {
  const dir = mkdtempSync(join(tmpdir(), "chstack-e2e-"));
  execFileSync("sh", ["-c", `git ls-files -co --exclude-standard -z | tar -c --null -T - -f - | tar -x -C '${dir}'`], { cwd: ROOT });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  copyFileSync(stackFile, join(dir, `Pulumi.${stack}.yaml`));
  return dir;
}

export type KubeObject = {
  metadata: { name: string; namespace?: string; uid: string; labels?: Record<string, string>; creationTimestamp: string };
  spec?: any;
  status?: any;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
};

export class Kube {
  constructor(private readonly r: Runner, readonly namespace: string) {}

  async list(kind: string, namespaced = true): Promise<KubeObject[]> {
    const args = ["get", kind, "-o", "json", ...(namespaced ? ["-n", this.namespace] : [])];
    return JSON.parse((await this.r.run("kubectl", args)).stdout).items as KubeObject[];
  }

  async exists(kind: string, name: string, namespaced = true): Promise<boolean> {
    const r = await this.r.run("kubectl", ["get", kind, name, "-o", "name", ...(namespaced ? ["-n", this.namespace] : [])], { allowFailure: true });
    if (r.code !== 0 && !/NotFound|not found/.test(r.out)) throw new Error(`kubectl get ${kind} ${name}: ${r.out}`);
    return r.code === 0;
  }

  async secret(name: string): Promise<Record<string, string>> {
    const s = JSON.parse((await this.r.run("kubectl", ["get", "secret", name, "-n", this.namespace, "-o", "json"])).stdout) as KubeObject;
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
  }

  /** Pods by name: uid and the sum of their containers' restart counts. */
  async pods(): Promise<Map<string, { uid: string; restarts: number; ready: boolean }>> {
    const pods = (await this.list("pods")).filter((p) => p.status?.phase !== "Succeeded");
    return new Map(pods.map((p) => [p.metadata.name, {
      uid: p.metadata.uid,
      restarts: (p.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount: number }) => n + c.restartCount, 0),
      ready: (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True"),
    }]));
  }

  exec(pod: string, container: string, command: readonly string[], secrets: readonly string[] = [], allowFailure = false): Promise<RunResult> {
    return this.r.run("kubectl", ["exec", "-n", this.namespace, pod, "-c", container, "--", ...command], { secrets, allowFailure });
  }
}

/** clickhouse-client in a ClickHouse pod, as the admin user. */
export function clickhouse(kube: Kube, user: string, password: string) {
  return async (pod: string, sql: string): Promise<string> =>
    (await kube.exec(pod, "clickhouse", ["clickhouse-client", "--user", user, "--password", password, "--query", sql], [password])).stdout.trim();
}

export async function eventually<T>(what: string, seconds: number, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const until = Date.now() + seconds * 1000;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await probe();
      error = undefined;
      if (ok(last)) return last;
    } catch (e) {
      error = e;
    }
    if (Date.now() > until) {
      throw new Error(`${what}: not so after ${seconds}s; last ${error ? `error: ${(error as Error).message}` : `value: ${JSON.stringify(last)}`}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
