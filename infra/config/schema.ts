// The stack config: Pulumi structured config under the `chstack:` namespace of `Pulumi.<stack>.yaml`,
// the one config every target reads. Each top-level key below is one `chstack:<key>` entry.
// Defaults keep a stack file short; `docs/config.md` documents every field.
import { z } from "zod";

import {
  dnsLabel, dnsSubdomain, envName, image, int, labelKey, labelValue, network, oneOfNumbers, port, quantity,
  quantityValue, secret, sqlName,
  MAX_CPU, MAX_MEMORY, MAX_STORAGE,
} from "./fields.ts";
import { DEFAULT_PROFILE_SETTINGS, DEFAULT_SERVER_SETTINGS, profileSettingsSchema, serverSettingsSchema } from "./settings.ts";
import { tooLongName } from "../model/names.ts";
import { loopbackPortRange } from "../model/ports.ts";

export const MAX_SHARDS = 256;
export const MAX_REPLICAS = 16;
export const CLUSTER_NAME_MAX = 63;

const resources = (requests: { cpu: string; memory: string }, limits: { memory: string; cpu?: string }) =>
  z
    .strictObject({
      requests: z.strictObject({ cpu: quantity(MAX_CPU).default(requests.cpu), memory: quantity(MAX_MEMORY).default(requests.memory) }).prefault({}),
      limits: z
        .strictObject({ cpu: quantity(MAX_CPU).optional(), memory: quantity(MAX_MEMORY).default(limits.memory) })
        .prefault(limits.cpu ? { cpu: limits.cpu } : {}),
    })
    .superRefine((r, ctx) => {
      for (const k of ["cpu", "memory"] as const) {
        const req = r.requests[k];
        const lim = r.limits[k];
        if (req && lim && quantityValue(req) > quantityValue(lim)) {
          ctx.addIssue({ code: "custom", path: ["requests", k], message: `must not exceed limits.${k} (${lim}), got ${req}` });
        }
      }
    })
    .prefault({});

const storage = (size: string) =>
  z.strictObject({ size: quantity(MAX_STORAGE).default(size), className: dnsSubdomain().optional() }).prefault({});

const clusterName = () =>
  z
    .string({ error: "must be an identifier" })
    .max(CLUSTER_NAME_MAX, { error: `must be an identifier of at most ${CLUSTER_NAME_MAX} characters` })
    .regex(/^[a-z](?:[a-z0-9_]*[a-z0-9])?$/, {
      error: "must be an identifier: a lowercase letter, then lowercase letters, digits or _ (not ending in _)",
    });

const user = (name: string) =>
  z
    .strictObject({
      name: sqlName().default(name),
      /** Kubernetes target only; generated when absent. Never read by the loopback target. */
      password: secret().optional(),
      /** Networks allowed to log in (IPs or CIDRs); defaults depend on the target. */
      networks: z
        .array(network())
        .min(1, { error: "must list at least one network" })
        .optional(),
    })
    .prefault({});

const clickhouse = z
  .strictObject({
    /** Cluster name: in remote_servers, macros, ZooKeeper root and every Kubernetes name. */
    cluster: clusterName().default("posthog"),
    /**
     * A second cluster in remote_servers: one shard listing every host as a replica. A Distributed table
     * over a table replicated to every host (a ZooKeeper path without {shard}) reads through it, so each
     * row comes back once (PostHog's `posthog_single_shard`). None by default.
     */
    singleShardCluster: clusterName().optional(),
    shards: int(1, MAX_SHARDS).default(1),
    replicas: int(1, MAX_REPLICAS).default(1),
    /** The database the app uses (CLICKHOUSE_DATABASE). */
    database: sqlName().default("posthog"),
    /** Kubernetes target: a current LTS image. The loopback target runs Debian's clickhouse-server. */
    image: image().default("clickhouse/clickhouse-server:25.8"),
    resources: resources({ cpu: "500m", memory: "1Gi" }, { memory: "4Gi" }),
    storage: storage("20Gi"),
    /** Kubernetes container ports; the loopback target derives its own from loopback.portBase. */
    ports: z
      .strictObject({ tcp: port().default(9000), http: port().default(8123), interserver: port().default(9009) })
      .superRefine(distinctPorts)
      .prefault({}),
    settings: serverSettingsSchema().prefault({}).transform((s) => ({ ...DEFAULT_SERVER_SETTINGS, ...s })),
    profiles: z
      .strictObject({
        default: profileSettingsSchema().prefault({}),
        admin: profileSettingsSchema().prefault({}),
        writer: profileSettingsSchema().prefault({}),
        readonly: profileSettingsSchema().prefault({}),
      })
      .prefault({})
      .transform((p) => ({ ...p, default: { ...DEFAULT_PROFILE_SETTINGS, ...p.default } })),
    users: z
      .strictObject({
        admin: user("chstack_admin"),
        writer: user("chstack_app"),
        readonly: user("chstack_reader"),
        interserver: user("chstack_interserver"),
      })
      .superRefine((users, ctx) => {
        const seen = new Map<string, string>();
        for (const [role, u] of Object.entries(users)) {
          if (u.name === "default") ctx.addIssue({ code: "custom", path: [role, "name"], message: 'must not be "default" (chstack removes the stock default user)' });
          const first = seen.get(u.name);
          if (first) ctx.addIssue({ code: "custom", path: [role, "name"], message: `must differ from clickhouse.users.${first}.name, got "${u.name}" for both` });
          else seen.set(u.name, role);
        }
      })
      .prefault({}),
  })
  .superRefine((ch, ctx) => {
    if (ch.singleShardCluster !== undefined && ch.singleShardCluster === ch.cluster) {
      ctx.addIssue({ code: "custom", path: ["singleShardCluster"], message: `must differ from clickhouse.cluster, got "${ch.cluster}" for both` });
    }
  })
  .prefault({});

const zookeeper = z.strictObject({
  kind: z.literal("zookeeper"),
  size: oneOfNumbers([1, 3, 5], "an odd ensemble keeps a quorum").default(1),
  image: image().default("zookeeper:3.8"),
  /** JVM heap in MiB, for both targets. */
  heapMb: int(64, 65536).default(256),
  resources: resources({ cpu: "100m", memory: "512Mi" }, { memory: "1Gi" }),
  storage: storage("5Gi"),
  ports: z
    .strictObject({ client: port().default(2181), peer: port().default(2888), election: port().default(3888) })
    .superRefine(distinctPorts)
    .prefault({}),
});

const keeper = z.strictObject({
  kind: z.literal("keeper"),
  size: oneOfNumbers([1, 3, 5], "an odd ensemble keeps a quorum").default(1),
  image: image().default("clickhouse/clickhouse-keeper:25.8"),
  resources: resources({ cpu: "100m", memory: "256Mi" }, { memory: "1Gi" }),
  storage: storage("5Gi"),
  ports: z.strictObject({ client: port().default(9181), peer: port().default(9234) }).superRefine(distinctPorts).prefault({}),
});

const coordination = z
  .preprocess(
    (v) => (v && typeof v === "object" && !Array.isArray(v) && !("kind" in v) ? { ...v, kind: "zookeeper" } : v),
    z.discriminatedUnion("kind", [zookeeper, keeper], { error: 'must have kind "zookeeper" or "keeper"' }),
  )
  .prefault({});

const postgres = z
  .preprocess(
    (v) => (v && typeof v === "object" && !Array.isArray(v) && !("mode" in v) ? { ...v, mode: "in-stack" } : v),
    z.discriminatedUnion(
      "mode",
      [
        z.strictObject({
          mode: z.literal("in-stack"),
          image: image().default("postgres:15"),
          database: sqlName().default("posthog"),
          user: sqlName().default("posthog"),
          /** Kubernetes target only; generated when absent. */
          password: secret().optional(),
          port: port().default(5432),
          resources: resources({ cpu: "100m", memory: "256Mi" }, { memory: "1Gi" }),
          storage: storage("10Gi"),
        }),
        /** Kubernetes target only: the loopback target always runs its own Postgres 15. */
        z.strictObject({ mode: z.literal("external"), url: secret() }),
      ],
      { error: 'must have mode "in-stack" or "external"' },
    ),
  )
  .prefault({});

/** Variables chstack sets on the app itself (the app contract, docs/app-contract.md). */
export const APP_CONTRACT_ENV = [
  "CLICKHOUSE_URL", "CLICKHOUSE_HOST", "CLICKHOUSE_DATABASE", "CLICKHOUSE_CLUSTER", "CLICKHOUSE_USER",
  "CLICKHOUSE_PASSWORD", "DATABASE_URL", "PORT", "APP_BOOTSTRAP_TEAM_TOKEN",
] as const;

/** The reference app's image (app/Dockerfile); `npm run kind:up` builds it and loads it into kind. */
export const REFERENCE_APP_IMAGE = "chstack/app:0.1.0";

const app = z.strictObject({
  /** Default: the reference app (app/); build and push it for a real cluster, or name PostHog's own image. */
  image: image().default(REFERENCE_APP_IMAGE),
  replicas: int(1, 100).default(1),
  port: port().default(8000),
  env: z.record(envName(), z.string({ error: "must be a string (quote numbers and booleans)" })).default({}),
  /** Pulumi secrets only; delivered through a Kubernetes Secret. */
  secretEnv: z.record(envName(), secret()).default({}),
  resources: resources({ cpu: "100m", memory: "256Mi" }, { memory: "1Gi" }),
}).superRefine((a, ctx) => {
  for (const group of ["env", "secretEnv"] as const) {
    for (const key of Object.keys(a[group])) {
      if ((APP_CONTRACT_ENV as readonly string[]).includes(key)) {
        ctx.addIssue({ code: "custom", path: [group, key], message: "is set by chstack (the app contract); remove it" });
      }
    }
  }
  for (const key of Object.keys(a.secretEnv)) {
    if (key in a.env) ctx.addIssue({ code: "custom", path: ["secretEnv", key], message: "is also in app.env; keep it in one place" });
  }
});

const kubernetes = z
  .strictObject({
    namespace: dnsLabel().default("chstack"),
    /** Extra labels on every object, beside the app.kubernetes.io/* ones. */
    labels: z.record(labelKey(), labelValue()).default({}),
    /** Create (and protect) the namespace; false when it exists already. */
    createNamespace: z.boolean({ error: "must be true or false" }).default(true),
    /** NodePorts for ClickHouse HTTP and the app (a kind cluster maps them to the laptop); none by default. */
    nodePorts: z.strictObject({ clickhouseHttp: int(30000, 32767).optional(), app: int(30000, 32767).optional() }).optional(),
    /** Every container's imagePullPolicy; unset: Kubernetes' default. `Never` for images loaded into the nodes (kind, the e2e suite). */
    imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"], { error: 'must be "Always", "IfNotPresent" or "Never"' }).optional(),
  })
  .prefault({});

const schemaSection = z
  .strictObject({
    /**
     * A TypeScript or JavaScript module, relative to the project, whose default export is a declaration
     * (defineSchema) or a function of the database name returning one. Default: the built-in PostHog schema.
     */
    declaration: z
      .string({ error: "must be a module path" })
      .regex(/^(?!\/)[A-Za-z0-9_./-]+\.(m?ts|m?js)$/, { error: "must be a relative path to a .ts, .mts, .js or .mjs module" })
      .refine((p) => !p.split("/").includes(".."), { error: "must stay inside the project (no .. segment)" })
      .optional(),
    /** Kubernetes target: the image the schema Job runs its bundle with (any image with Node.js 20+ as `node`). */
    jobImage: image().default("node:24-alpine"),
  })
  .prefault({});

const scaling = z
  .strictObject({
    /**
     * Remove shards although they hold rows (their rows leave every query). `pulumi up` reads it; the
     * loopback target takes it too, or `chstack up --allow drop-shard` for one run. Set it for the one run
     * that removes the shard, then remove it again.
     */
    allowDropShard: z.boolean({ error: "must be true or false" }).default(false),
  })
  .prefault({});

const loopback = z
  .strictObject({
    /** First port of this stack's range on 127.0.0.1; see infra/model/ports.ts for the layout. */
    portBase: int(1024, 65535).default(19000),
  })
  .prefault({});

/**
 * Runs a whole-config check only when the fields it reads parsed cleanly (an issue at, above or below one
 * of those paths skips it; an unknown key elsewhere does not), so that every other problem is still
 * reported at once and the check never sees a half-parsed section.
 */
const whenValid = (...paths: string[][]) => ({
  when: (payload: { issues: readonly { code?: string; path?: readonly PropertyKey[] }[] }) =>
    !payload.issues.some(
      (i) =>
        i.code !== "unrecognized_keys" &&
        paths.some((p) => {
          const n = Math.min(p.length, i.path?.length ?? 0);
          return n === 0 || p.slice(0, n).every((key, j) => i.path?.[j] === key);
        }),
    ),
});

export const stackConfigSchema = z
  .strictObject({ clickhouse, coordination, postgres, app: app.optional(), kubernetes, loopback, schema: schemaSection, scaling })
  .superRefine((c, ctx) => {
    const ch = c.clickhouse;
    const long = tooLongName(ch.cluster, ch.shards, ch.replicas, c.coordination.size);
    if (long) {
      ctx.addIssue({
        code: "custom",
        path: ["clickhouse", "cluster"],
        message: `makes the Kubernetes ${long.kind} name "${long.name}" ${long.name.length} characters long, over the limit of ${long.max}; choose a shorter cluster name`,
      });
    }
  }, whenValid(["clickhouse", "cluster"], ["clickhouse", "shards"], ["clickhouse", "replicas"], ["coordination"]))
  .superRefine((c, ctx) => {
    const ch = c.clickhouse;
    const range = loopbackPortRange(c.loopback.portBase, ch.shards * ch.replicas);
    if (range.last > 65535) {
      ctx.addIssue({
        code: "custom",
        path: ["loopback", "portBase"],
        message: `must leave room for ${ch.shards} shards x ${ch.replicas} replicas: their ports would run from ${range.first} to ${range.last}, past 65535`,
      });
    }
  }, whenValid(["clickhouse", "shards"], ["clickhouse", "replicas"], ["loopback"]));

/** Every port of one server must differ. */
function distinctPorts(ports: Record<string, number>, ctx: z.RefinementCtx<Record<string, number>>) {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(ports)) {
    const first = seen.get(String(value));
    if (first) ctx.addIssue({ code: "custom", path: [name], message: `must differ from ${first} (both are ${value})` });
    else seen.set(String(value), name);
  }
}

/** The validated, fully defaulted stack config. */
export type StackConfig = z.output<typeof stackConfigSchema>;
/** What a stack file may hold (everything optional that has a default). */
export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type UserRole = keyof StackConfig["clickhouse"]["users"];
export type CoordinationKind = StackConfig["coordination"]["kind"];
