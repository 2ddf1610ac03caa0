// Helpers for the Kubernetes program tests: run it in a child process, find objects, compare runs.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Recorded } from "../../infra/k8s/harness.ts";

const runner = fileURLToPath(new URL("./k8s-run.ts", import.meta.url));

export interface ProgramRun {
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
  readonly resources: Recorded[];
  readonly objects: Record<string, any>[];
  readonly outputs: Record<string, any>;
}

export function runK8s(config: Record<string, unknown>, opts: { stack?: string; previousOutputs?: Record<string, unknown>; sentinel?: string } = {}): ProgramRun {
  const r = spawnSync(process.execPath, ["--import", "tsx", runner], {
    input: JSON.stringify({ config, stack: opts.stack ?? "test", previousOutputs: opts.previousOutputs, sentinel: opts.sentinel }),
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0 && !r.stdout) throw new Error(`the program run failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as ProgramRun;
  // The runtime reports an unhandled program error on stderr while the harness may still return.
  return r.stderr.includes("refused, nothing changed") ? { ...out, ok: false, error: r.stderr } : out;
}

export const byKind = (run: ProgramRun, kind: string) => run.objects.filter((o) => o.kind === kind);
export const object = (run: ProgramRun, kind: string, name: string) => run.objects.find((o) => o.kind === kind && o.metadata?.name === name);
export const resource = (run: ProgramRun, type: string, name: string) => run.resources.find((r) => r.type === type && r.name === name);
