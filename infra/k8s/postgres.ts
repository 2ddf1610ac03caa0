// Postgres on Kubernetes: a StatefulSet with its PVC and a generated password in a Secret; or, for
// postgres.mode external, only a Secret carrying the URL from the stack config.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { postgresName, serviceFqdn } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { shapeOf, type Shapes } from "./guard.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, image, keepVolumes, podSecurity, resources } from "./pods.ts";
import { volumeClaim } from "./volumes.ts";

export interface PostgresArgs {
  readonly topology: Topology;
  /** The in-stack server's password (a secret Output). */
  readonly password: pulumi.Output<string>;
}

/** The official image runs as uid 999 (postgres). */
const PG_UID = 999;

export class Postgres extends pulumi.ComponentResource {
  /** The Secret with DATABASE_URL (and, in the stack, the server's user, database and password). */
  public readonly secretName: string;
  /** In-cluster host name, or "(external)". */
  public readonly host: string;
  /** The immutable fields of its StatefulSet (see guard.ts); none for an external Postgres. */
  public readonly shapes: Shapes = {};

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:Postgres", name, {}, opts);
    const t = args.topology;
    const pg = t.config.postgres;
    const ns = t.config.kubernetes.namespace;
    const svc = postgresName(t.cluster);
    const lbl = labels(t, "postgres");
    const sel = selectorLabels(t, "postgres");
    this.secretName = `${svc}-credentials`;

    if (pg.mode === "external") {
      if (typeof pg.url !== "string") throw new Error("postgres.url: the Pulumi engine passed an encrypted value");
      new k8s.core.v1.Secret(`${name}-credentials`, {
        metadata: { name: this.secretName, namespace: ns, labels: lbl },
        type: "Opaque",
        stringData: { DATABASE_URL: pulumi.secret(pg.url) },
      }, { parent: this });
      this.host = "(external)";
      this.registerOutputs({ host: this.host });
      return;
    }

    this.host = serviceFqdn(svc, ns);
    new k8s.core.v1.Secret(`${name}-credentials`, {
      metadata: { name: this.secretName, namespace: ns, labels: lbl },
      type: "Opaque",
      stringData: {
        POSTGRES_USER: pg.user,
        POSTGRES_DB: pg.database,
        POSTGRES_PASSWORD: args.password,
        DATABASE_URL: pulumi.interpolate`postgres://${pg.user}:${args.password.apply(encodeURIComponent)}@${this.host}:${pg.port}/${pg.database}`,
      },
    }, { parent: this });

    new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: svc, namespace: ns, labels: lbl },
      spec: { clusterIP: "None", selector: sel, ports: [{ name: "postgres", port: pg.port, targetPort: pg.port }] },
    }, { parent: this });

    const env = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: this.secretName, key } } });
    const stsArgs: k8s.apps.v1.StatefulSetArgs = {
      metadata: { name: svc, namespace: ns, labels: lbl },
      spec: {
        serviceName: svc,
        replicas: 1,
        selector: { matchLabels: sel },
        persistentVolumeClaimRetentionPolicy: keepVolumes,
        template: {
          metadata: { labels: lbl },
          spec: {
            securityContext: podSecurity(PG_UID),
            containers: [{
              name: "postgres",
              ...image(t.config, pg.image),
              args: ["-c", `port=${pg.port}`],
              env: [env("POSTGRES_USER"), env("POSTGRES_DB"), env("POSTGRES_PASSWORD"), { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" }],
              ports: [{ name: "postgres", containerPort: pg.port }],
              resources: resources(pg.resources),
              securityContext: containerSecurity,
              readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database] }, periodSeconds: 10 },
              livenessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(pg.port)] }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
              volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
            }],
          },
        },
        volumeClaimTemplates: [volumeClaim("data", pg.storage)],
      },
    };
    new k8s.apps.v1.StatefulSet(`${name}-statefulset`, stsArgs, { parent: this, protect: true });
    this.shapes = { [svc]: shapeOf(stsArgs) };
    this.registerOutputs({ host: this.host, secretName: this.secretName });
  }
}
