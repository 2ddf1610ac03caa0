// The ledger: on every host, a small non-replicated table recording what the applier ran there, when, for
// which declaration, and with what result. It lives with the data it describes, so a host's ledger says
// what that host went through (a new host starts empty), and `schema status` reads parity from it.
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
  readonly result: "ok" | "failed";
  readonly error?: string;
}

/** Record statements, or (without a task) the outcome of a whole apply on this host, in one insert. Values are bound. */
export async function record(conn: HostConnection, entries: LedgerEntry | readonly LedgerEntry[]): Promise<void> {
  const rows = (Array.isArray(entries) ? entries : [entries]) as readonly LedgerEntry[];
  if (rows.length === 0) return;
  await conn.insert(LEDGER_TABLE, rows.map((e) => ({
    applied_at: now(), apply_id: e.applyId, host: conn.host, declaration_hash: e.hash, phase: e.task?.phase ?? 0,
    step: e.task?.kind ?? "apply", table_name: e.task?.table ?? "", column_name: e.task?.column ?? "",
    statement: e.task?.sql ?? "", result: e.result, error: e.error ?? "",
  })));
}

export interface LedgerStatus {
  readonly host: string;
  readonly declarationHash: string | null;
  readonly result: string | null;
  /** What failed, when the last apply did. */
  readonly error: string | null;
  readonly appliedAt: string | null;
  readonly statements: number;
}

/** The last apply recorded on a host, if any. */
export async function lastApply(conn: HostConnection): Promise<LedgerStatus> {
  const [exists] = await conn.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = '${LEDGER_DATABASE}' AND name = 'schema_ledger'`);
  if (Number(exists?.n ?? 0) === 0) return { host: conn.host, declarationHash: null, result: null, error: null, appliedAt: null, statements: 0 };
  const [row] = await conn.query<{ hash: string; result: string; error: string; at: string; statements: string }>(
    `SELECT argMax(declaration_hash, applied_at) AS hash, argMax(result, applied_at) AS result, argMax(error, applied_at) AS error,
       toString(max(applied_at)) AS at,
       (SELECT count() FROM ${LEDGER_TABLE} WHERE step != 'apply') AS statements
     FROM ${LEDGER_TABLE} WHERE step = 'apply'`,
  );
  return { host: conn.host, declarationHash: row?.hash || null, result: row?.result || null, error: row?.error || null, appliedAt: row?.at || null, statements: Number(row?.statements ?? 0) };
}
