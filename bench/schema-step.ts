// The schema step the benchmarks' own stacks run on `up`: the built-in PostHog declaration on every host.
import type { Topology } from "../infra/model/topology.ts";
import { closeAll, connectAll } from "../infra/loopback/schema.ts";
import type { StackSecrets } from "../infra/loopback/secrets.ts";
import { apply } from "../schema/apply.ts";
import { posthogSchema } from "../schema/posthog.ts";

export async function posthogSchemaStep(t: Topology, secrets: StackSecrets): Promise<boolean> {
  const conns = connectAll(t, secrets);
  try {
    return (await apply(posthogSchema(t.database), t, conns)).converged;
  } finally {
    await closeAll(conns);
  }
}
