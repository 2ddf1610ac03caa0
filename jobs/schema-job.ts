// The schema step as a program of its own, bundled with its declaration into one file that runs on plain
// Node 20+ (a stock Node image on Kubernetes; `node` against a loopback stack in the tests).
//
// The program validated the config and the declaration (zod); the job takes them as data, so that its
// bundle carries no validation library. Input, from the environment:
//   CHSTACK_SCHEMA_INPUT    JSON { stack, target: "kubernetes" | "loopback", config }: the validated stack config
//   CHSTACK_ADMIN_USER      the schema admin user
//   CHSTACK_ADMIN_PASSWORD  its password (a Secret on Kubernetes)
// Before applying, it checks the cluster's health (health/: every ClickHouse host and ZooKeeper node) and
// prints the report; it refuses, applying nothing, when the verdict is down or a replica is read-only or
// without its ZooKeeper session (docs/health.md). Otherwise it goes on: a host that does not answer is
// refused by the applier itself, naming it.
// Exit status: 0 every host converged; 1 refused (unhealthy, a host not ready, drift) or not converged; 2 bad input.
import type { StackConfig } from "../infra/config/schema.ts";
import { targetFor, type TargetKind } from "../infra/model/targets.ts";
import { buildTopology } from "../infra/model/topology.ts";
import { apply, HostsNotReadyError, PlanBlockedError } from "../schema/apply.ts";
import { connect } from "../schema/connection.ts";
import type { Declaration } from "../schema/declare.ts";
import { formatApply, formatPlan } from "../cli/schema-format.ts";
import { collectHealth } from "../health/collect.ts";
import { applyBlockers, evaluate } from "../health/evaluate.ts";
import { formatHealth } from "../health/format.ts";

/** The cluster's servers may answer slower than a laptop's: more than the command line's 2 s. */
const HEALTH_TIMEOUT_MS = 5000;

export async function main(decl: Declaration, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let input: { stack: string; target: TargetKind; config: unknown };
  try {
    input = JSON.parse(env.CHSTACK_SCHEMA_INPUT ?? "");
  } catch {
    console.error("schema job: CHSTACK_SCHEMA_INPUT must hold { stack, target, config } as JSON");
    return 2;
  }
  const config = input.config as StackConfig | undefined;
  if (!config?.clickhouse?.cluster || (input.target !== "kubernetes" && input.target !== "loopback") || !env.CHSTACK_ADMIN_USER || !env.CHSTACK_ADMIN_PASSWORD) {
    console.error("schema job: bad input (config, target, CHSTACK_ADMIN_USER and CHSTACK_ADMIN_PASSWORD are required)");
    return 2;
  }
  const t = buildTopology(config, targetFor(input.target, config), input.stack);
  const conns = new Map(t.hosts.map((h) => [h.name, connect({
    host: h.name, url: `http://${h.endpoint.host}:${h.endpoint.ports.http}`, username: env.CHSTACK_ADMIN_USER!, password: env.CHSTACK_ADMIN_PASSWORD!,
  })]));
  try {
    const report = evaluate(await collectHealth(t, {
      clickhouse: { username: env.CHSTACK_ADMIN_USER!, password: env.CHSTACK_ADMIN_PASSWORD! }, timeoutMs: HEALTH_TIMEOUT_MS,
    }));
    console.log(`schema job: health of cluster ${t.cluster} before applying\n${formatHealth(report)}`);
    const blockers = applyBlockers(report);
    if (blockers.length > 0) {
      console.error(`schema job: refusing to apply, nothing was changed: ${blockers.join("; ")}`);
      return 1;
    }
    console.log(`schema job: ${t.hosts.length} hosts of cluster ${t.cluster}; applying once every one answers`);
    // Never half a cluster: apply refuses, applying nothing, unless every host answers.
    const result = await apply(decl, t, conns, { log: (l) => console.log(l), requireAllHosts: true });
    console.log(formatApply(result));
    return result.converged ? 0 : 1;
  } catch (e) {
    if (e instanceof HostsNotReadyError) {
      console.error(`schema job: ${e.message}`);
      return 1;
    }
    if (e instanceof PlanBlockedError) {
      console.error(`${formatPlan(e.plan, input.stack)}\nschema job: ${e.message}`);
      return 1;
    }
    console.error(`schema job: ${(e as Error).message}`);
    return 1;
  } finally {
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
  }
}
