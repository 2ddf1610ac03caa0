// Runs the Kubernetes program once under mocks and prints the recording as JSON (one run per process:
// Pulumi's runtime is global). Input (stdin): { config, stack, previousOutputs?, sentinel? }.
import { readFileSync } from "node:fs";
import { parseStackConfig } from "../../infra/config/load.ts";
import { runProgram } from "../../infra/k8s/harness.ts";

const input = JSON.parse(readFileSync(0, "utf8")) as { config: Record<string, unknown>; stack: string; previousOutputs?: Record<string, unknown>; sentinel?: string };
const config = parseStackConfig(input.config, "test", { rejectPlaintextSecrets: false });
const started = process.hrtime.bigint();
try {
  const run = await runProgram(config, { stack: input.stack, previousOutputs: input.previousOutputs, sentinel: input.sentinel });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ ok: true, ms, ...run }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: (e as Error).message, objects: (e as { registered?: unknown[] }).registered ?? [] }));
}
