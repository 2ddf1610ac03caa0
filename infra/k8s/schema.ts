// The schema step in the cluster: a Job on a stock Node LTS image running the schema job bundle (the
// unchanged planner and applier, with the declaration built in) from a ConfigMap. Both are named by a hash
// of the bundle and the job's input, so a new declaration or topology runs it again and nothing else
// does. Pulumi waits for the Job; a failed Job fails `pulumi up`, and its log holds the applier's message.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema.ts";
import { kubeCluster } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import type { Declaration } from "../../schema/declare.ts";
import { nodeJob } from "./node-job.ts";
import { buildSchemaBundle } from "./schema-bundle.ts";

export interface SchemaArgs {
  readonly topology: Topology;
  readonly declaration: Declaration;
  /** The Secret with the admin's password (key `admin-password`). */
  readonly credentialsSecret: pulumi.Input<string>;
}

export { BUNDLE_FILE } from "./node-job.ts";

/**
 * What the job needs of the config to rebuild the topology, and nothing else: no secret (it travels as
 * an env literal), no app or image setting (a change there must not run the schema again).
 */
export function schemaJobInput(config: StackConfig, stack: string): { stack: string; target: "kubernetes"; config: unknown } {
  const { users, image: _image, resources: _resources, storage: _storage, ...clickhouse } = config.clickhouse;
  const names = Object.fromEntries(Object.entries(users).map(([role, u]) => [role, { name: u.name, ...(u.networks ? { networks: u.networks } : {}) }]));
  const { app: _app, postgres: _postgres, scaling: _scaling, schema: { jobImage: _jobImage, ...schema }, kubernetes: { imagePullPolicy: _policy, ...kubernetes }, ...rest } = config;
  return {
    stack,
    target: "kubernetes",
    config: { ...rest, schema, kubernetes, clickhouse: { ...clickhouse, users: names }, postgres: { mode: "in-stack", port: config.postgres.mode === "in-stack" ? config.postgres.port : 5432 } },
  };
}

export class Schema extends pulumi.ComponentResource {
  /** `schema-<cluster>-<hash>`: changes with the declaration or topology only. */
  public readonly jobName: string;
  public readonly bundleBytes: number;

  constructor(name: string, args: SchemaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:Schema", name, {}, opts);
    const t = args.topology;
    const bundle = buildSchemaBundle(args.declaration);
    const input = JSON.stringify(schemaJobInput(t.config, t.stack));
    const hash = createHash("sha256").update(bundle.sha256).update(input).digest("hex").slice(0, 10);
    this.jobName = `schema-${kubeCluster(t.cluster)}-${hash}`;
    this.bundleBytes = Buffer.byteLength(bundle.code);
    nodeJob(name, t, {
      jobName: this.jobName,
      code: bundle.code,
      env: [
        { name: "CHSTACK_SCHEMA_INPUT", value: input },
        { name: "CHSTACK_ADMIN_USER", value: t.users.admin.name },
        { name: "CHSTACK_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: args.credentialsSecret, key: "admin-password" } } },
      ],
    }, { parent: this });
    this.registerOutputs({ jobName: this.jobName });
  }
}
