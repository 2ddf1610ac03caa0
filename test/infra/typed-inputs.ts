// Compile-time check, run by `tsc --noEmit` in npm test: Pulumi's typed inputs refuse an unknown field,
// which kubernetes-models would accept at run time (a misspelt `replica` would be silently dropped).
import type * as k8s from "@pulumi/kubernetes";

export const misspelt: k8s.apps.v1.StatefulSetArgs = {
  spec: {
    // @ts-expect-error `replica` is not a StatefulSetSpec field (it is `replicas`)
    replica: 2,
    serviceName: "x",
    selector: { matchLabels: { a: "b" } },
    template: { spec: { containers: [] } },
  },
};
