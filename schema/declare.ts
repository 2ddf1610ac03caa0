// The table declaration API: typed, validated by zod, refused as a whole (every problem named by table and
// field) before anything reaches a server.
import { z } from "zod";
import { columnNameProblem, expressionProblem, identifierProblem, normalizeExpression, projectionQueryProblem, topLevelShape } from "./expressions.ts";
import { fullName } from "./tables.ts";

const ident = () => z.string().superRefine((v, ctx) => {
  const p = identifierProblem(v);
  if (p) ctx.addIssue({ code: "custom", message: p });
});
/** A column name: anything ClickHouse takes backquoted. */
const columnName = () => z.string().superRefine((v, ctx) => {
  const p = columnNameProblem(v);
  if (p) ctx.addIssue({ code: "custom", message: p });
});
/** An index type: a name and its arguments (`set(100)`: the name may be a keyword, so only the arguments are an expression). */
const indexType = () => z.string().superRefine((v, ctx) => {
  const m = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*(\(.*\))?\s*$/s.exec(v);
  const p = !m ? "must be an index type such as minmax, set(100) or bloom_filter(0.01)" : m[1] ? expressionProblem(`f${m[1]}`) : undefined;
  if (p) ctx.addIssue({ code: "custom", message: p });
});
/** A projection's query: `SELECT ... [GROUP BY ...] [ORDER BY ...]`, no FROM. */
const projectionQuery = () => z.string().superRefine((v, ctx) => {
  const p = projectionQueryProblem(v);
  if (p) ctx.addIssue({ code: "custom", message: p });
});
const expr = () => z.string().superRefine((v, ctx) => {
  const p = expressionProblem(v);
  if (p) ctx.addIssue({ code: "custom", message: p });
});
/** A column type: a name, optionally with arguments, and nothing else. */
const columnType = () => z.string().superRefine((v, ctx) => {
  // One name and at most one bracket group: `Nullable(UInt64) EPHEMERAL (0)` is two things, not a type.
  const p = expressionProblem(v) ?? (/^[A-Za-z][A-Za-z0-9_]*\s*(\(\))?$/.test(topLevelShape(v.trim())) ? undefined : "must be a ClickHouse type such as UInt64, String or Nullable(String)");
  if (p) ctx.addIssue({ code: "custom", message: p });
});

const column = z.strictObject({
  name: columnName(),
  type: columnType(),
  /** DEFAULT, MATERIALIZED or ALIAS with its expression. */
  default: z.strictObject({ kind: z.enum(["DEFAULT", "MATERIALIZED", "ALIAS"]), expression: expr() }).optional(),
  /** Compression codecs, e.g. ["Delta", "ZSTD(1)"]: ClickHouse 19.11+ only. */
  codec: z.array(expr().refine((c) => /^[A-Za-z][A-Za-z0-9]*\s*(\(\))?$/.test(topLevelShape(c.trim())), "must be a codec such as ZSTD(1) or Delta")).min(1).optional(),
  comment: z.string().max(1024).refine((c) => !/[\u0000-\u001f]/.test(c), "must not contain control characters").optional(),
});

const engine = z.discriminatedUnion("family", [
  z.strictObject({ family: z.literal("MergeTree") }),
  /** `isDeleted`: a UInt8 column marking deleted rows (ClickHouse 23.2+); it needs `version`. */
  z.strictObject({ family: z.literal("ReplacingMergeTree"), version: columnName().optional(), isDeleted: columnName().optional() }),
  z.strictObject({ family: z.literal("AggregatingMergeTree") }),
  z.strictObject({ family: z.literal("CollapsingMergeTree"), sign: columnName() }),
], { error: "must have family MergeTree, ReplacingMergeTree, AggregatingMergeTree or CollapsingMergeTree" });

/** Absolute, no empty, `.` or `..` segment (ZooKeeper refuses them). */
const ZK_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9_{}.-]+)+$/;

const localTable = z.strictObject({
  kind: z.literal("table"),
  database: ident(),
  name: ident(),
  columns: z.array(column).min(1, "must declare at least one column"),
  /** Data-skipping indexes (ClickHouse 20.1+): `type` as ClickHouse writes it, e.g. minmax, set(100), bloom_filter(0.01). */
  indexes: z.array(z.strictObject({
    name: columnName(),
    expression: expr(),
    type: indexType(),
    granularity: z.number().int().min(1).max(1_000_000).default(1),
  })).default([]),
  /**
   * Projections (ClickHouse 22.2+): a name and its query, e.g. `SELECT event, count() GROUP BY event`. A new
   * one covers new parts; `ALTER TABLE ... MATERIALIZE PROJECTION` (a mutation) builds it for existing ones.
   */
  projections: z.array(z.strictObject({ name: columnName(), query: projectionQuery() })).default([]),
  engine,
  /** Replicated within each shard (the default); false for a table of its own on every host. */
  replicated: z.boolean().default(true),
  /** Relative to the cluster's ZooKeeper root; default /clickhouse/tables/{shard}/<db>.<table>. */
  zookeeperPath: z.string().regex(ZK_PATH, "must be an absolute ZooKeeper path of letters, digits, _ . - / and {macros}").optional(),
  replicaName: z.string().regex(/^[A-Za-z0-9_{}.-]+$/, "must be letters, digits, _ . - and {macros}").default("{replica}"),
  orderBy: z.array(expr()).min(1, "must list at least one expression (use [\"tuple()\"] for none)"),
  partitionBy: expr().optional(),
  primaryKey: z.array(expr()).min(1).optional(),
  sampleBy: expr().optional(),
  /** Table TTL expression: ClickHouse 19.6+ only. */
  ttl: expr().optional(),
  settings: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a setting name"), z.union([z.number().int().nonnegative(), z.string().regex(/^[A-Za-z0-9_.-]*$/)])).default({}),
});

const distributedTable = z.strictObject({
  kind: z.literal("distributed"),
  database: ident(),
  name: ident(),
  /** The declared local table it fans out to: `table` (same database) or `database.table`. */
  local: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, "must be a table name or database.table"),
  /**
   * The cluster it reads through: the stack's (clickhouse.cluster, the default) or its one-shard cluster
   * (clickhouse.singleShardCluster), by name. A table replicated to every host needs the one-shard cluster.
   */
  cluster: ident().optional(),
  /** Optional: with none, a Distributed table takes no INSERT over several shards (reading works). */
  shardingKey: expr().optional(),
  /**
   * Which of the local table's columns it carries: "all" (default; for reading, MATERIALIZED and ALIAS
   * columns included), "writable" (those an INSERT may name: no MATERIALIZED or ALIAS column, so inserts
   * through it work), or a list of column names, in the order given.
   */
  columns: z.union([z.enum(["all", "writable"]), z.array(columnName()).min(1, "must name at least one column")]).default("all"),
});

const tableDecl = z.discriminatedUnion("kind", [localTable, distributedTable], { error: 'must have kind "table" or "distributed"' });

export type LocalTableInput = z.input<typeof localTable>;
export type DistributedTableInput = z.input<typeof distributedTable>;
export type LocalTable = z.output<typeof localTable>;
export type DistributedTable = z.output<typeof distributedTable> & { readonly target: LocalTable };
export type Column = z.output<typeof column>;
export type SkippingIndex = LocalTable["indexes"][number];
export type Projection = LocalTable["projections"][number];
export type Engine = z.output<typeof engine>;
export type TableDecl = LocalTable | DistributedTable;

export interface Declaration {
  /** Local tables first, then the Distributed tables over them: the order of creation. */
  readonly tables: readonly TableDecl[];
}

export class DeclarationError extends Error {
  readonly code = "DECLARATION_INVALID";
  constructor(readonly problems: readonly string[]) {
    super(`the schema declaration is refused (nothing was applied):\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

export { fullName, zookeeperPathOf } from "./tables.ts";
export const table = (t: Omit<LocalTableInput, "kind">): LocalTableInput => ({ kind: "table", ...t });
export const distributed = (t: Omit<DistributedTableInput, "kind">): DistributedTableInput => ({ kind: "distributed", ...t });

/** Validate a declaration; every problem is reported as `<db>.<table>: <field>: <rule>`. */
export function defineSchema(input: { tables: readonly unknown[] }): Declaration {
  const problems: string[] = [];
  const parsed: (LocalTable | z.output<typeof distributedTable>)[] = [];
  input.tables.forEach((raw, i) => {
    const r = tableDecl.safeParse(raw);
    const label = labelOf(raw, i);
    if (!r.success) {
      for (const issue of r.error.issues) problems.push(`${label}: ${issue.path.join(".") || "(table)"}: ${issue.message}`);
    } else parsed.push(r.data);
  });

  const seen = new Set<string>();
  for (const t of parsed) {
    if (seen.has(fullName(t))) problems.push(`${fullName(t)}: name: declared twice`);
    seen.add(fullName(t));
    if (t.kind === "table") problems.push(...localTableProblems(t).map((p) => `${fullName(t)}: ${p}`));
  }
  const locals = new Map(parsed.filter((t): t is LocalTable => t.kind === "table").map((t) => [fullName(t), t]));
  const tables: TableDecl[] = [...locals.values()];
  for (const t of parsed) {
    if (t.kind !== "distributed") continue;
    const targetName = t.local.includes(".") ? t.local : `${t.database}.${t.local}`;
    const target = locals.get(targetName);
    if (!target) {
      problems.push(`${fullName(t)}: local: ${targetName} is not a declared local table`);
      continue;
    }
    if (Array.isArray(t.columns)) {
      const have = new Set(target.columns.map((c) => c.name));
      t.columns.forEach((c, i) => {
        if (!have.has(c)) problems.push(`${fullName(t)}: columns.${i}: ${c} is not a column of ${targetName}`);
        else if (t.columns.indexOf(c) !== i) problems.push(`${fullName(t)}: columns.${i}: ${c} is listed twice`);
      });
    }
    tables.push({ ...t, target });
  }
  if (problems.length > 0) throw new DeclarationError(problems);
  return { tables };
}

function localTableProblems(t: LocalTable): string[] {
  const out: string[] = [];
  const names = new Map<string, number>();
  t.columns.forEach((c, i) => {
    if (names.has(c.name)) out.push(`columns.${i}.name: duplicates columns.${names.get(c.name)}.name (${c.name})`);
    names.set(c.name, i);
  });
  const indexNames = new Map<string, number>();
  t.indexes.forEach((x, i) => {
    if (indexNames.has(x.name)) out.push(`indexes.${i}.name: duplicates indexes.${indexNames.get(x.name)}.name (${x.name})`);
    indexNames.set(x.name, i);
  });
  const projectionNames = new Map<string, number>();
  t.projections.forEach((x, i) => {
    if (projectionNames.has(x.name)) out.push(`projections.${i}.name: duplicates projections.${projectionNames.get(x.name)}.name (${x.name})`);
    projectionNames.set(x.name, i);
  });
  const col = (name: string) => t.columns.find((c) => c.name === name);
  if (t.engine.family === "ReplacingMergeTree" && t.engine.version && !col(t.engine.version)) out.push(`engine.version: ${t.engine.version} is not a declared column`);
  if (t.engine.family === "ReplacingMergeTree" && t.engine.isDeleted) {
    const d = col(t.engine.isDeleted);
    if (!t.engine.version) out.push("engine.isDeleted: needs engine.version (ClickHouse takes is_deleted only after the version column)");
    else if (!d) out.push(`engine.isDeleted: ${t.engine.isDeleted} is not a declared column`);
    else if (d.type.trim() !== "UInt8") out.push(`engine.isDeleted: the is_deleted column must be UInt8, got ${d.type}`);
  }
  if (t.engine.family === "CollapsingMergeTree") {
    const sign = col(t.engine.sign);
    if (!sign) out.push(`engine.sign: ${t.engine.sign} is not a declared column`);
    else if (sign.type.trim() !== "Int8") out.push(`engine.sign: the sign column must be Int8, got ${sign.type}`);
  }
  const order = t.orderBy.map(normalizeExpression);
  const primary = (t.primaryKey ?? t.orderBy).map(normalizeExpression);
  if (t.primaryKey && !primary.every((p, i) => order[i] === p)) out.push("primaryKey: must be a prefix of orderBy");
  if (t.sampleBy && !primary.includes(normalizeExpression(t.sampleBy))) out.push("sampleBy: must be one of the primary key expressions");
  if (!t.replicated && t.zookeeperPath) out.push("zookeeperPath: only a replicated table has one");
  return out;
}

/** `<db>.<table>` when both are valid names; else the position, so that a hostile name cannot forge a line. */
function labelOf(raw: unknown, i: number): string {
  const r = raw as { database?: unknown; name?: unknown } | null;
  return identifierProblem(r?.database) || identifierProblem(r?.name) ? `tables.${i}` : `${r!.database as string}.${r!.name as string}`;
}
