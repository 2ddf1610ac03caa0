// The schema step as a program of its own, bundled with its declaration into one file that runs on plain
// Node 20+ (a stock Node image on Kubernetes; `node` against a loopback stack in the tests).
//
// The program validated the config and the declaration (zod); the job takes them as data, so that its
// bundle carries no validation library. Input, from the environment:
//   CHSTACK_SCHEMA_INPUT    JSON { stack, target: "kubernetes" | "loopback", config }: the validated stack config
//   CHSTACK_ADMIN_USER      the schema admin user
//   CHSTACK_ADMIN_PASSWORD  its password (a Secret on Kubernetes)
// Exit status: 0 every host converged; 1 refused (a host not ready, drift) or not converged; 2 bad input.
import type { StackConfig } from "../infra/config/schema.ts";
import { targetFor, type TargetKind } from "../infra/model/targets.ts";
import { buildTopology } from "../infra/model/topology.ts";
import { apply, HostsNotReadyError, PlanBlockedError } from "../schema/apply.ts";
import { connect } from "../schema/connection.ts";
import type { Declaration } from "../schema/declare.ts";
import { formatApply, formatPlan } from "../cli/schema-format.ts";

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
