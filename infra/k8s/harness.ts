// Runs the Kubernetes program in-process under pulumi.runtime.setMocks: what `chstack render k8s` writes
// out and what the tests inspect. Nothing reaches a cluster or the Pulumi engine. Generated passwords are a
// fixed value (`sentinel`) so that a test can look for it everywhere.
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema.ts";
import { loadDeclaration } from "../declaration.ts";
import { createStack } from "./stack.ts";
import { GENERATED_PASSWORD } from "./generated-password.ts";

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, any>;
  /** Options the mocks do not carry, recorded by a stack transformation. */
  readonly parent?: string;
  readonly dependsOn: readonly string[];
  readonly protect: boolean;
  /** The URN of the provider a custom resource is registered with. */
  readonly provider?: string;
}

export interface Run {
  readonly resources: readonly Recorded[];
  readonly outputs: Record<string, unknown>;
  /** Kubernetes objects (apiVersion/kind/metadata/...), as `kubectl apply` would take them. */
  readonly objects: readonly Record<string, any>[];
}

export interface RunOptions {
  readonly stack: string;
  /** What the previous run exported (for the StatefulSet guard); none for a first run. */
  readonly previousOutputs?: Record<string, unknown>;
  /** The value every generated password takes. */
  readonly sentinel?: string;
  /** The project directory (schema.declaration is relative to it); default: the working directory. */
  readonly dir?: string;
}

const PROJECT = "chstack";
/** The key that marks a serialized secret in the inputs the mocks receive (Pulumi's specialSigKey). */
const SIG = "4dabf18193072939515e22adb298388d";

/** Inputs as the Kubernetes API would receive them: secret envelopes opened. */
function unwrap(v: unknown): any {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") {
    if (SIG in v && "value" in v) return unwrap((v as { value: unknown }).value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

/** The resources of a dependsOn: arrays, promises and Outputs of them, nested (as the SDK takes it). */
async function gather(d: unknown): Promise<pulumi.Resource[]> {
  if (!d) return [];
  if (Array.isArray(d)) return (await Promise.all(d.map(gather))).flat();
  if (d instanceof Promise) return gather(await d);
  if (pulumi.Output.isInstance(d)) return gather(await new Promise((r) => (d as pulumi.Output<unknown>).apply(r)));
  return [d as pulumi.Resource];
}

/** One run per process: Pulumi's runtime state is global. */
export async function runProgram(config: StackConfig, opts: RunOptions): Promise<Run> {
  const sentinel = opts.sentinel ?? "generated-at-pulumi-up";
  const declaration = await loadDeclaration(config.clickhouse.database, config.schema.declaration, opts.dir);
  const inputs = new Map<string, { type: string; name: string; inputs: Record<string, any> }>();
  await pulumi.runtime.setMocks(
    {
      newResource(a) {
        const state = a.type === GENERATED_PASSWORD ? { ...a.inputs, result: sentinel }
          : a.type === "pulumi:pulumi:StackReference" ? { ...a.inputs, outputs: opts.previousOutputs ?? {} }
          : a.inputs;
        inputs.set(`${a.type}::${a.name}`, { type: a.type, name: a.name, inputs: unwrap(a.inputs) });
        return { id: `${a.name}-id`, state };
      },
      call: (a) => a.inputs,
    },
    PROJECT,
    opts.stack,
    false,
    "organization",
  );

  const seen: { resource: pulumi.Resource; name: string; type: string; opts: pulumi.CustomResourceOptions }[] = [];
  const registered = () => [...inputs.values()].filter((v) => v.type.startsWith("kubernetes:")).map((v) => v.inputs);
  let outputs: unknown;
  try {
    outputs = await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        seen.push({ resource: args.resource, name: args.name, type: args.type, opts: args.opts as pulumi.CustomResourceOptions });
        return undefined;
      });
      const out = await createStack(config, opts.stack, declaration);
      return {
        clickhouse: out.clickhouse,
        postgresHost: out.postgresHost,
        appUrl: out.appUrl ?? null,
        schemaJob: out.schemaJob,
        statefulSetShapes: out.statefulSetShapes,
        retiredHosts: out.retiredHosts,
        guard: out.guard,
      };
    });
  } catch (e) {
    // A refused run: what reached the engine anyway.
    throw Object.assign(e as Error, { registered: registered() });
  }

  const urnOf = (r: pulumi.Resource) => new Promise<string>((resolve) => r.urn.apply(resolve));
  const urns = await Promise.all(seen.map((s) => urnOf(s.resource)));
  const names = new Map(seen.map((s, i) => [s.resource, urns[i]!]));
  const resources = await Promise.all(seen.map(async (s, i) => {
    const parent = s.opts.parent ? names.get(s.opts.parent) ?? (await urnOf(s.opts.parent)) : undefined;
    const deps = await gather(s.opts.dependsOn);
    return {
      type: s.type, name: s.name, urn: urns[i]!,
      inputs: inputs.get(`${s.type}::${s.name}`)?.inputs ?? {},
      parent,
      dependsOn: await Promise.all(deps.map((d) => names.get(d) ?? urnOf(d))),
      protect: Boolean(s.opts.protect),
      provider: s.opts.provider ? await urnOf(s.opts.provider) : undefined,
    };
  }));
  const objects = resources
    .filter((r) => r.type.startsWith("kubernetes:"))
    .map((r) => ({ ...r.inputs }));
  return { resources, outputs: (outputs ?? {}) as Record<string, unknown>, objects };
}
