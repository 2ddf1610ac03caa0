// What each ClickHouse version can take, so that a declaration needing more is refused before any statement
// is sent. Thresholds are conservative (a feature is assumed from the first release known to have it).
import type { TableDecl } from "./declare.ts";

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly text: string;
}

export function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`not a ClickHouse version: ${JSON.stringify(text)}`);
  return { major: Number(m[1]), minor: Number(m[2]), text };
}

const atLeast = (v: Version, major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);

export const FEATURES = {
  /** Column CODEC(...): 19.x (measured: a syntax error on 18.16). */
  codec: { name: "column CODEC", since: [19, 11] },
  /** Table TTL: 19.6 (measured: a syntax error on 18.16). */
  ttl: { name: "table TTL", since: [19, 6] },
  /** COMMENT on a column of a Replicated table (measured on 18.16: CREATE fails with "Table structure in
   * ZooKeeper is too different", ALTER ... COMMENT COLUMN times out). */
  replicatedComment: { name: "column COMMENT on a replicated table", since: [19, 11] },
  /** LowCardinality without `allow_experimental_low_cardinality_type` (18.16 needs it in the session;
   * current ClickHouse refuses the setting as unknown). */
  lowCardinality: { name: "LowCardinality without the experimental setting", since: [19, 0] },
  /** ReplacingMergeTree(ver, is_deleted): 23.2. */
  replacingIsDeleted: { name: "ReplacingMergeTree's is_deleted column", since: [23, 2] },
  /** Data-skipping indexes without the experimental setting: 20.1 (18.16: a syntax error). */
  skippingIndex: { name: "data-skipping INDEX", since: [20, 1] },
  /** Projections: 21.6 as an experiment, production-ready from 22.2. */
  projection: { name: "PROJECTION", since: [22, 2] },
  /** ALTER TABLE ... MODIFY SETTING. */
  modifySetting: { name: "ALTER ... MODIFY SETTING", since: [19, 11] },
} as const;

export type Feature = keyof typeof FEATURES;

export function supports(v: Version, feature: Feature): boolean {
  const [major, minor] = FEATURES[feature].since;
  return atLeast(v, major, minor);
}

/** The features a declared table uses, each with the field that uses it. */
export function featuresUsed(t: TableDecl): [Feature, string][] {
  const used: [Feature, string][] = [];
  if (t.kind !== "table") return used;
  if (t.engine.family === "ReplacingMergeTree" && t.engine.isDeleted) used.push(["replacingIsDeleted", "engine.isDeleted"]);
  t.indexes.forEach((x, i) => used.push(["skippingIndex", `indexes.${i} (${x.name})`]));
  t.projections.forEach((x, i) => used.push(["projection", `projections.${i} (${x.name})`]));
  t.columns.forEach((c, i) => {
    if (c.codec) used.push(["codec", `columns.${i}.codec (${c.name})`]);
    if (c.comment !== undefined && t.replicated) used.push(["replicatedComment", `columns.${i}.comment (${c.name})`]);
  });
  if (t.ttl) used.push(["ttl", "ttl"]);
  return used;
}

/** Session settings a statement needs on a host's version: 18.16 takes LowCardinality only with the experimental one. */
export function sessionSettings(sql: string, version: string | undefined): Record<string, number> | undefined {
  if (!version || supports(parseVersion(version), "lowCardinality") || !/\bLowCardinality\s*\(/.test(sql)) return undefined;
  return { allow_experimental_low_cardinality_type: 1 };
}
