// Checks every Kubernetes object the program emits: the Kubernetes 1.27 schema through kubernetes-models
// (types and required fields), plus our own invariants where that check is blind (it accepts a container
// without an image, replicas -1, and any string as a name).
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { isDnsLabel } from "../model/names.ts";

type KObject = Record<string, any>;
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/Job": Job,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

/** Every problem with one object, each line naming kind/name. Empty when it is fine. */
export function objectProblems(o: KObject): string[] {
  const id = `${o.kind ?? "?"}/${o.metadata?.name ?? "?"}`;
  const problems: string[] = [];
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) problems.push(`${id}: ${o.apiVersion} ${o.kind} is not a kind this program emits`);
  else {
    try {
      new Model(o).validate();
    } catch (e) {
      problems.push(`${id}: ${(e as Error).message.split("\n").slice(0, 3).join(" ")}`);
    }
  }
  if (!isDnsLabel(o.metadata?.name ?? "")) problems.push(`${id}: metadata.name must be a DNS-1123 label`);
  const spec = o.spec ?? {};
  if ((o.kind === "StatefulSet" || o.kind === "Deployment") && !(Number.isInteger(spec.replicas) && spec.replicas >= 1)) {
    problems.push(`${id}: spec.replicas must be an integer >= 1, got ${JSON.stringify(spec.replicas)}`);
  }
  const pod = spec.template?.spec;
  if (pod) {
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const cid = `${id}: container ${c.name ?? "?"}`;
      if (!c.image) problems.push(`${cid} has no image`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) problems.push(`${cid} has no cpu and memory requests`);
      if (!c.resources?.limits?.memory) problems.push(`${cid} has no memory limit`);
      if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${cid} may escalate privileges`);
    }
    // A Job's pod runs to completion: it has nothing to be ready for.
    if (o.kind !== "Job") for (const c of pod.containers ?? []) if (!c.readinessProbe) problems.push(`${id}: container ${c.name} has no readiness probe`);
    if ((pod.containers ?? []).length === 0) problems.push(`${id}: no containers`);
  }
  return problems;
}

export function validateObjects(objects: readonly KObject[]): string[] {
  return objects.flatMap(objectProblems);
}
