// A Job that runs one bundled Node program (infra/k8s/schema-bundle.ts) on a stock Node image, the
// bundle mounted from an immutable ConfigMap of the Job's own name. The schema step and the retire steps
// of a topology change are such Jobs. Pulumi waits for a Job; a failed Job fails `pulumi up`.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Topology } from "../model/topology.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, image } from "./pods.ts";

export const BUNDLE_FILE = "job.cjs";

export interface NodeJobArgs {
  /** The Job's and its ConfigMap's name: change it to run again. */
  readonly jobName: string;
  readonly code: string;
  readonly env: k8s.types.input.core.v1.EnvVar[];
  /** Labels beside the schema component's (whose NetworkPolicy rules admit it to ClickHouse, ZooKeeper, Postgres). */
  readonly labels?: Record<string, string>;
  readonly activeDeadlineSeconds?: number;
  /** Retries of a failed pod (default 3); 0 for a check whose refusal is final. */
  readonly backoffLimit?: number;
}

/** `opts.dependsOn` (a list) is what the Job waits for, beside its bundle. */
export function nodeJob(name: string, t: Topology, a: NodeJobArgs, opts: pulumi.CustomResourceOptions & { dependsOn?: pulumi.Resource[] }): k8s.batch.v1.Job {
  const ns = t.config.kubernetes.namespace;
  const lbl = { ...labels(t, "schema"), ...a.labels };
  const code = new k8s.core.v1.ConfigMap(`${name}-bundle`, {
    metadata: { name: a.jobName, namespace: ns, labels: lbl },
    immutable: true,
    data: { [BUNDLE_FILE]: a.code },
  }, { ...opts, dependsOn: [] });
  return new k8s.batch.v1.Job(`${name}-job`, {
    metadata: { name: a.jobName, namespace: ns, labels: lbl },
    spec: {
      backoffLimit: a.backoffLimit ?? 3,
      activeDeadlineSeconds: a.activeDeadlineSeconds ?? 1800,
      template: {
        metadata: { labels: { ...lbl, ...selectorLabels(t, "schema") } },
        spec: {
          restartPolicy: "Never",
          securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [{
            name: "job",
            ...image(t.config, t.config.schema.jobImage),
            command: ["node", `/job/${BUNDLE_FILE}`],
            env: a.env,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            securityContext: containerSecurity,
            volumeMounts: [{ name: "bundle", mountPath: "/job", readOnly: true }],
          }],
          volumes: [{ name: "bundle", configMap: { name: code.metadata.name } }],
        },
      },
    },
  }, { ...opts, dependsOn: [code, ...(opts.dependsOn ?? [])] });
}
