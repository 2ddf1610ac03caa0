// The same health report against a stack deployed on Kubernetes: the topology of the Kubernetes target
// (the Services' and pods' cluster DNS names), reached directly (from a pod in the cluster) or through
// `kubectl port-forward` (from anywhere kubectl works). Credentials come from the environment, as the
// schema Job takes them: CHSTACK_ADMIN_USER (default: the config's admin user), CHSTACK_ADMIN_PASSWORD,
// and CHSTACK_POSTGRES_PASSWORD to check an in-stack Postgres.
import type { StackConfig } from "../infra/config/schema.ts";
import { loadDeclaration } from "../infra/declaration.ts";
import { usersSecretName } from "../infra/model/names.ts";
import { kubernetesTarget } from "../infra/model/targets.ts";
import { buildTopology, type Topology } from "../infra/model/topology.ts";
import { collectHealth } from "./collect.ts";
import { evaluate } from "./evaluate.ts";
import type { HealthReport, Thresholds } from "./facts.ts";
import { forwardTargets, startForwards, type Forwards } from "./port-forward.ts";
import { collectPostgres } from "./postgres.ts";

export interface KubernetesHealthOptions {
  readonly stack: string;
  readonly config: StackConfig;
  readonly env?: NodeJS.ProcessEnv;
  /** Through `kubectl port-forward` (default: the cluster's own addresses, for a process inside it). */
  readonly forward?: boolean;
  readonly kubectl?: string;
  readonly context?: string;
  readonly timeoutMs?: number;
  readonly thresholds?: Thresholds;
}

export interface KubernetesHealth {
  readonly topology: Topology;
  /** Postgres is checked (in-stack, and CHSTACK_POSTGRES_PASSWORD given). */
  readonly postgres: boolean;
  check(): Promise<HealthReport>;
  /** Stops the port-forwards. */
  close(): Promise<void>;
}

export class MissingCredentialsError extends Error {}

export async function openKubernetesHealth(o: KubernetesHealthOptions): Promise<KubernetesHealth> {
  const env = o.env ?? process.env;
  const t = buildTopology(o.config, kubernetesTarget(o.config), o.stack);
  const ns = o.config.kubernetes.namespace;
  const password = env.CHSTACK_ADMIN_PASSWORD;
  if (!password) {
    throw new MissingCredentialsError(`CHSTACK_ADMIN_PASSWORD is not set: the admin password is in the Secret ${usersSecretName(t.cluster)}-credentials of namespace ${ns} (key admin-password); see docs/health.md`);
  }
  const pg = o.config.postgres;
  const pgPassword = env.CHSTACK_POSTGRES_PASSWORD;
  const postgres = pg.mode === "in-stack" && Boolean(pgPassword);
  const declaration = await loadDeclaration(t.database, o.config.schema.declaration);
  let forwards: Forwards | undefined;
  if (o.forward) forwards = await startForwards(forwardTargets(t, { postgres, app: true }), { namespace: ns, kubectl: o.kubectl, context: o.context });
  return {
    topology: t,
    postgres,
    async check() {
      const facts = await collectHealth(t, {
        clickhouse: { username: env.CHSTACK_ADMIN_USER || t.users.admin.name, password },
        timeoutMs: o.timeoutMs,
        declaration,
        down: forwards?.failed,
        address: forwards?.address,
        postgres: postgres && pg.mode === "in-stack"
          ? (a, ms) => collectPostgres({ ...a, user: pg.user, password: pgPassword!, database: pg.database }, ms)
          : undefined,
      });
      return evaluate(facts, o.thresholds);
    },
    close: async () => forwards?.stop(),
  };
}
