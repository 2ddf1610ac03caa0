// Small pieces the StatefulSet builders share: a data volume claim, and the config checksum annotation.
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";

export function volumeClaim(name: string, storage: { size: string; className?: string }): k8s.types.input.core.v1.PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: storage.size } }, ...(storage.className ? { storageClassName: storage.className } : {}) },
  };
}

/** A pod annotation that changes with the files a server only reads at start: a change rolls the pod. */
export const checksum = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);
