// The schema step in the cluster: a Job on a stock Node LTS image running the schema job bundle (the
// unchanged planner and applier, with the declaration built in) from a ConfigMap. Both are named by a hash
// of the bundle and the job's input, so a new declaration or topology runs it again and nothing else
// does. Pulumi waits for the Job; a failed Job fails `pulumi up`, and its log holds the applier's message.
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema.ts";
import { kubeCluster } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import type { Declaration } from "../../schema/declare.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, image } from "./pods.ts";
import { buildSchemaBundle } from "./schema-bundle.ts";

export interface SchemaArgs {
  readonly topology: Topology;
  readonly declaration: Declaration;
  /** The Secret with the admin's password (key `admin-password`). */
  readonly credentialsSecret: pulumi.Input<string>;
}

export const BUNDLE_FILE = "schema-job.cjs";

/**
 * What the job needs of the config to rebuild the topology, and nothing else: no secret (it travels as
 * an env literal), no app or image setting (a change there must not run the schema again).
 */
export function schemaJobInput(config: StackConfig, stack: string): { stack: string; target: "kubernetes"; config: unknown } {
  const { users, image: _image, resources: _resources, storage: _storage, ...clickhouse } = config.clickhouse;
  const names = Object.fromEntries(Object.entries(users).map(([role, u]) => [role, { name: u.name, ...(u.networks ? { networks: u.networks } : {}) }]));
  const { app: _app, postgres: _postgres, schema: { jobImage: _jobImage, ...schema }, kubernetes: { imagePullPolicy: _policy, ...kubernetes }, ...rest } = config;
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
    const ns = t.config.kubernetes.namespace;
    const bundle = buildSchemaBundle(args.declaration);
    const input = JSON.stringify(schemaJobInput(t.config, t.stack));
    const hash = createHash("sha256").update(bundle.sha256).update(input).digest("hex").slice(0, 10);
    this.jobName = `schema-${kubeCluster(t.cluster)}-${hash}`;
    this.bundleBytes = Buffer.byteLength(bundle.code);
    const lbl = labels(t, "schema");

    const code = new k8s.core.v1.ConfigMap(`${name}-bundle`, {
      metadata: { name: this.jobName, namespace: ns, labels: lbl },
      immutable: true,
      data: { [BUNDLE_FILE]: bundle.code },
    }, { parent: this });

    new k8s.batch.v1.Job(`${name}-job`, {
      metadata: { name: this.jobName, namespace: ns, labels: lbl },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 1800,
        template: {
          metadata: { labels: { ...lbl, ...selectorLabels(t, "schema") } },
          spec: {
            restartPolicy: "Never",
            securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "schema",
              ...image(t.config, t.config.schema.jobImage),
              command: ["node", `/job/${BUNDLE_FILE}`],
              env: [
                { name: "CHSTACK_SCHEMA_INPUT", value: input },
                { name: "CHSTACK_ADMIN_USER", value: t.users.admin.name },
                { name: "CHSTACK_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: args.credentialsSecret, key: "admin-password" } } },
              ],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: containerSecurity,
              volumeMounts: [{ name: "bundle", mountPath: "/job", readOnly: true }],
            }],
            volumes: [{ name: "bundle", configMap: { name: code.metadata.name } }],
          },
        },
      },
    }, { parent: this, dependsOn: [code] });
    this.registerOutputs({ jobName: this.jobName });
  }
}
