// The SQL of every step, from validated declarations only (identifiers were checked, expressions are
// single expressions, strings are literals). No ON CLUSTER: the applier runs each statement on the hosts
// the plan names.
import type { Column, DistributedTable, LocalTable, Projection, SkippingIndex } from "./declare.ts";
import { distributedColumns, engineParameters, fullName, zookeeperPathOf } from "./tables.ts";
import { quoteName, stringLiteral } from "./expressions.ts";

export const createDatabase = (db: string) => `CREATE DATABASE IF NOT EXISTS ${db}`;

export function columnDefinition(c: Column): string {
  let sql = `${quoteName(c.name)} ${c.type}`;
  if (c.default) sql += ` ${c.default.kind} ${c.default.expression}`;
  if (c.comment !== undefined) sql += ` COMMENT ${stringLiteral(c.comment)}`;
  if (c.codec) sql += ` CODEC(${c.codec.join(", ")})`;
  return sql;
}

const keyList = (exprs: readonly string[]) => (exprs.length === 1 ? exprs[0]! : `(${exprs.join(", ")})`);

export function engineClause(t: LocalTable): string {
  const family = t.replicated ? `Replicated${t.engine.family}` : t.engine.family;
  const args: string[] = t.replicated ? [stringLiteral(zookeeperPathOf(t)), stringLiteral(t.replicaName)] : [];
  args.push(...engineParameters(t.engine).map((p) => quoteName(p.name)));
  return args.length > 0 ? `${family}(${args.join(", ")})` : family;
}

export const indexDefinition = (x: SkippingIndex) => `INDEX ${quoteName(x.name)} ${x.expression} TYPE ${x.type} GRANULARITY ${x.granularity}`;

export const projectionDefinition = (x: Projection) => `PROJECTION ${quoteName(x.name)} (${x.query.trim()})`;

export function createLocalTable(t: LocalTable): string {
  const body = [...t.columns.map(columnDefinition), ...t.indexes.map(indexDefinition), ...t.projections.map(projectionDefinition)];
  const lines = [`CREATE TABLE IF NOT EXISTS ${fullName(t)}`, "(", body.map((d) => `    ${d}`).join(",\n"), ")", `ENGINE = ${engineClause(t)}`];
  if (t.partitionBy) lines.push(`PARTITION BY ${t.partitionBy}`);
  lines.push(`ORDER BY ${keyList(t.orderBy)}`);
  if (t.primaryKey) lines.push(`PRIMARY KEY ${keyList(t.primaryKey)}`);
  if (t.sampleBy) lines.push(`SAMPLE BY ${t.sampleBy}`);
  if (t.ttl) lines.push(`TTL ${t.ttl}`);
  const settings = Object.entries(t.settings);
  if (settings.length > 0) lines.push(`SETTINGS ${settings.map(([k, v]) => `${k} = ${typeof v === "number" ? v : stringLiteral(v)}`).join(", ")}`);
  return lines.join("\n");
}

/**
 * A Distributed table carries its columns of the local table (all: what `AS local` would copy) and names its
 * database literally. `cluster` is the stack's; the table may name its one-shard cluster instead.
 */
export function createDistributedTable(t: DistributedTable, stackCluster: string): string {
  const cluster = t.cluster ?? stackCluster;
  return [
    `CREATE TABLE IF NOT EXISTS ${fullName(t)}`,
    "(",
    distributedColumns(t).map((c) => `    ${columnDefinition(c)}`).join(",\n"),
    ")",
    `ENGINE = Distributed(${[cluster, t.target.database, t.target.name, ...(t.shardingKey ? [t.shardingKey] : [])].join(", ")})`,
  ].join("\n");
}

const afterClause = (after: string | undefined) => (after ? ` AFTER ${quoteName(after)}` : "");

export const addColumn = (table: string, c: Column, after: string | undefined) =>
  `ALTER TABLE ${table} ADD COLUMN ${columnDefinition(c)}${afterClause(after)}`;

/** New columns and the sorting key that appends them, in one statement (ClickHouse requires both together). */
export const addColumnsAndOrderBy = (table: string, columns: readonly { column: Column; after: string | undefined }[], orderBy: readonly string[]) =>
  `ALTER TABLE ${table} ${columns.map(({ column, after }) => `ADD COLUMN ${columnDefinition(column)}${afterClause(after)}`).join(", ")}, MODIFY ORDER BY ${keyList(orderBy)}`;
/** Type, default and codec of a column (its comment has a statement of its own). */
export const modifyColumn = (table: string, c: Column) => `ALTER TABLE ${table} MODIFY COLUMN ${columnDefinition({ ...c, comment: undefined })}`;
export const commentColumn = (table: string, c: Column) => `ALTER TABLE ${table} COMMENT COLUMN ${quoteName(c.name)} ${stringLiteral(c.comment ?? "")}`;
export const dropColumn = (table: string, column: string) => `ALTER TABLE ${table} DROP COLUMN ${quoteName(column)}`;
export const modifyTtl = (table: string, ttl: string) => `ALTER TABLE ${table} MODIFY TTL ${ttl}`;
/** A new index covers new parts; `MATERIALIZE INDEX` (a mutation) would build it for existing ones. */
export const addIndex = (table: string, x: SkippingIndex) => `ALTER TABLE ${table} ADD ${indexDefinition(x)}`;
export const dropIndex = (table: string, name: string) => `ALTER TABLE ${table} DROP INDEX ${quoteName(name)}`;
/** A new projection covers new parts; `MATERIALIZE PROJECTION` (a mutation) would build it for existing ones. */
export const addProjection = (table: string, x: Projection) => `ALTER TABLE ${table} ADD ${projectionDefinition(x)}`;
export const dropProjection = (table: string, name: string) => `ALTER TABLE ${table} DROP PROJECTION ${quoteName(name)}`;
export const dropTable = (table: string) => `DROP TABLE ${table}`;
export const syncReplica = (table: string) => `SYSTEM SYNC REPLICA ${table}`;
