// The ledger: on every host, a small non-replicated table recording what the applier ran there, when, for
// which declaration, and with what result. It lives with the data it describes, so a host's ledger says
// what that host went through (a new host starts empty), and `schema status` reads parity from it.
// An apply writes a `begin` row on each host before its first statement there and an `apply` row after
// its last: a `begin` with no `apply` is an apply that was interrupted (the tool killed, the host lost).
import type { HostConnection } from "./connection.ts";
import type { Task } from "./plan.ts";

export const LEDGER_DATABASE = "chstack";
export const LEDGER_TABLE = `${LEDGER_DATABASE}.schema_ledger`;

export const LEDGER_DDL = [
  `CREATE DATABASE IF NOT EXISTS ${LEDGER_DATABASE}`,
  `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
    applied_at DateTime, apply_id String, host String, declaration_hash String, phase UInt8,
    step String, table_name String, column_name String, statement String, result String, error String
  ) ENGINE = MergeTree ORDER BY (applied_at, apply_id)`,
];

const now = () => new Date().toISOString().slice(0, 19).replace("T", " ");

export interface LedgerEntry {
  readonly applyId: string;
  readonly hash: string;
  readonly task?: Task;
  /** `begin`: the apply is about to run `planned` statements on this host. */
  readonly result: "ok" | "failed" | "begin";
  readonly error?: string;
  readonly planned?: number;
}

/** Record statements, the start of an apply (`begin`), or (without a task) its outcome on this host, in one insert. Values are bound. */
export async function record(conn: HostConnection, entries: LedgerEntry | readonly LedgerEntry[]): Promise<void> {
  const rows = (Array.isArray(entries) ? entries : [entries]) as readonly LedgerEntry[];
  if (rows.length === 0) return;
  await conn.insert(LEDGER_TABLE, rows.map((e) => ({
    applied_at: now(), apply_id: e.applyId, host: conn.host, declaration_hash: e.hash, phase: e.task?.phase ?? 0,
    step: e.task?.kind ?? (e.result === "begin" ? "begin" : "apply"), table_name: e.task?.table ?? "", column_name: e.task?.column ?? "",
    statement: e.task?.sql ?? (e.planned !== undefined ? `${e.planned} statement(s) planned` : ""), result: e.result, error: e.error ?? "",
  })));
}

export interface LedgerStatus {
  readonly host: string;
  readonly declarationHash: string | null;
  /** ok, failed, or interrupted: it began on this host and recorded no outcome. */
  readonly result: "ok" | "failed" | "interrupted" | null;
  /** When the interrupted apply began, and what it had planned there. */
  readonly began?: string;
  readonly planned?: string;
  /** What failed, when the last apply did. */
  readonly error: string | null;
  readonly appliedAt: string | null;
  readonly statements: number;
}

/**
 * The last apply recorded on a host, if any: the latest to begin (within a second, the greatest id: ids are
 * time-ordered). An apply recorded before `begin` rows existed counts from its outcome row.
 */
export async function lastApply(conn: HostConnection): Promise<LedgerStatus> {
  const none = { host: conn.host, declarationHash: null, result: null, error: null, appliedAt: null, statements: 0 };
  const [exists] = await conn.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = '${LEDGER_DATABASE}' AND name = 'schema_ledger'`);
  if (Number(exists?.n ?? 0) === 0) return none;
  const [row] = await conn.query<{ hash: string; finished: string; result: string; error: string; began: string; at: string; planned: string; statements: string }>(
    `SELECT any(declaration_hash) AS hash, countIf(step = 'apply') AS finished, anyIf(result, step = 'apply') AS result,
       anyIf(error, step = 'apply') AS error, toString(min(applied_at)) AS began, toString(max(applied_at)) AS at,
       anyIf(statement, step = 'begin') AS planned,
       (SELECT count() FROM ${LEDGER_TABLE} WHERE step NOT IN ('apply', 'begin')) AS statements
     FROM ${LEDGER_TABLE} WHERE step IN ('apply', 'begin')
     GROUP BY apply_id ORDER BY min(applied_at) DESC, apply_id DESC LIMIT 1`,
  );
  if (!row) return none;
  const statements = Number(row.statements);
  if (Number(row.finished) === 0) {
    return { host: conn.host, declarationHash: row.hash || null, result: "interrupted", error: null, appliedAt: row.at, began: row.began, planned: row.planned, statements };
  }
  return { host: conn.host, declarationHash: row.hash || null, result: row.result === "ok" ? "ok" : "failed", error: row.error || null, appliedAt: row.at, statements };
}
