// The app: a Deployment and a Service, wired by the app contract (docs/app-contract.md) to the ClickHouse
// cluster Service and to Postgres, with every credential from a Secret.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appName, serviceFqdn } from "../model/names.ts";
import type { Topology } from "../model/topology.ts";
import { labels, selectorLabels } from "./labels.ts";
import { containerSecurity, image, resources } from "./pods.ts";
import { nodePortSpec } from "./clickhouse.ts";

export interface AppArgs {
  readonly topology: Topology;
  readonly clickhouse: { readonly host: string; readonly httpPort: number; readonly credentialsSecret: string };
  readonly postgresSecret: string;
  /** The bootstrap team's API key (a secret Output), delivered through the Secret `app-<cluster>-bootstrap`. */
  readonly teamKey: pulumi.Output<string>;
}

export class App extends pulumi.ComponentResource {
  public readonly url: string;

  constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chstack:index:App", name, {}, opts);
    const t = args.topology;
    const app = t.config.app;
    if (!app) throw new Error("App: the stack config has no app");
    const ns = t.config.kubernetes.namespace;
    const n = appName(t.cluster);
    const lbl = labels(t, "app");
    const sel = selectorLabels(t, "app");
    const secretEnvName = `${n}-env`;
    const secretEnv = Object.entries(app.secretEnv);
    if (secretEnv.length > 0) {
      new k8s.core.v1.Secret(`${name}-env`, {
        metadata: { name: secretEnvName, namespace: ns, labels: lbl },
        type: "Opaque",
        stringData: Object.fromEntries(secretEnv.map(([k, v]) => {
          if (typeof v !== "string") throw new Error(`app.secretEnv.${k}: the Pulumi engine passed an encrypted value`);
          return [k, pulumi.secret(v)];
        })),
      }, { parent: this });
    }
    const bootstrapSecret = `${n}-bootstrap`;
    new k8s.core.v1.Secret(`${name}-bootstrap`, {
      metadata: { name: bootstrapSecret, namespace: ns, labels: lbl },
      type: "Opaque",
      stringData: { APP_BOOTSTRAP_TEAM_TOKEN: pulumi.secret(args.teamKey) },
    }, { parent: this });
    const fromSecret = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: n, namespace: ns, labels: lbl },
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: sel },
        template: {
          metadata: { labels: lbl },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "app",
              ...image(t.config, app.image),
              env: [
                // The app contract.
                { name: "CLICKHOUSE_URL", value: `http://${args.clickhouse.host}:${args.clickhouse.httpPort}` },
                { name: "CLICKHOUSE_HOST", value: args.clickhouse.host },
                { name: "CLICKHOUSE_DATABASE", value: t.database },
                { name: "CLICKHOUSE_CLUSTER", value: t.cluster },
                { name: "CLICKHOUSE_USER", value: t.users.writer.name },
                fromSecret("CLICKHOUSE_PASSWORD", args.clickhouse.credentialsSecret, "writer-password"),
                fromSecret("DATABASE_URL", args.postgresSecret, "DATABASE_URL"),
                { name: "PORT", value: String(app.port) },
                // The reference app creates this team with this key on start (a no-op once it exists).
                fromSecret("APP_BOOTSTRAP_TEAM_TOKEN", bootstrapSecret, "APP_BOOTSTRAP_TEAM_TOKEN"),
                ...Object.entries(app.env).map(([k, v]) => ({ name: k, value: v })),
                ...secretEnv.map(([k]) => fromSecret(k, secretEnvName, k)),
              ],
              ports: [{ name: "http", containerPort: app.port }],
              resources: resources(app.resources),
              securityContext: containerSecurity,
              readinessProbe: { tcpSocket: { port: app.port }, periodSeconds: 10 },
            }],
          },
        },
      },
    }, { parent: this });
    new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: n, namespace: ns, labels: lbl },
      spec: nodePortSpec(sel, [{ name: "http", port: app.port, targetPort: app.port }], "http", t.config.kubernetes.nodePorts?.app),
    }, { parent: this });
    this.url = `http://${serviceFqdn(n, ns)}:${app.port}`;
    this.registerOutputs({ url: this.url });
  }
}
