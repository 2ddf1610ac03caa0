// A password generated once, on the resource's first `pulumi up`, and kept (as a secret) in the stack's
// state: a Pulumi dynamic resource, so that no resource plugin beyond the program's own is needed (the
// random provider is a plugin download, which an offline install cannot make).
import * as pulumi from "@pulumi/pulumi";

export interface GeneratedPasswordArgs {
  /** Characters of [A-Za-z0-9]: nothing to escape in XML (from_env), a URL or a shell. */
  readonly length: number;
}

// Serialized by Pulumi into the stack: self-contained, no captured module state.
export const generatedPasswordProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { length: number }) {
    const { randomBytes, randomUUID } = await import("node:crypto");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let result = "";
    while (result.length < inputs.length) {
      for (const b of randomBytes(64)) if (b < 248 && result.length < inputs.length) result += alphabet[b % 62]; // 248 = 4 * 62: no bias
    }
    return { id: randomUUID(), outs: { length: inputs.length, result } };
  },
  async diff(_id: string, olds: { length: number }, news: { length: number }) {
    const changed = olds.length !== news.length;
    return { changes: changed, replaces: changed ? ["length"] : [], deleteBeforeReplace: false };
  },
};

/** Its type token, as the engine (and a mocks test) sees it. */
export const GENERATED_PASSWORD = "pulumi-nodejs:dynamic/chstack:GeneratedPassword";

export class GeneratedPassword extends pulumi.dynamic.Resource {
  declare readonly result: pulumi.Output<string>;

  constructor(name: string, args: GeneratedPasswordArgs, opts?: pulumi.CustomResourceOptions) {
    super(generatedPasswordProvider, name, { length: args.length, result: undefined }, { ...opts, additionalSecretOutputs: ["result"] }, "chstack", "GeneratedPassword");
  }
}
