// Pieces every pod spec shares: resources from config, a non-root security context, anti-affinity.
import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../config/schema.ts";

type Resources = StackConfig["clickhouse"]["resources"];

export function resources(r: Resources): k8s.types.input.core.v1.ResourceRequirements {
  return {
    requests: { cpu: r.requests.cpu, memory: r.requests.memory },
    limits: { memory: r.limits.memory, ...(r.limits.cpu ? { cpu: r.limits.cpu } : {}) },
  };
}

/** Run as the image's own unprivileged user; no privilege escalation, no capabilities. */
export function podSecurity(uid: number): k8s.types.input.core.v1.PodSecurityContext {
  return { runAsUser: uid, runAsGroup: uid, fsGroup: uid, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
}

/** A container's image and its pull policy (`kubernetes.imagePullPolicy`; unset: Kubernetes' default). */
export function image(config: StackConfig, name: string): { image: string; imagePullPolicy?: string } {
  const policy = config.kubernetes.imagePullPolicy;
  return policy ? { image: name, imagePullPolicy: policy } : { image: name };
}

export const containerSecurity: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

/** Pods matching `selector` never share a node; spread across zones when there are zones. */
export function spreadApart(selector: Record<string, string>): {
  affinity: k8s.types.input.core.v1.Affinity;
  topologySpreadConstraints: k8s.types.input.core.v1.TopologySpreadConstraint[];
} {
  return {
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" }],
      },
    },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }],
  };
}

/** Data a StatefulSet holds: its PVCs stay when it is deleted or scaled down. */
export const keepVolumes = { whenDeleted: "Retain", whenScaled: "Retain" } as const;
