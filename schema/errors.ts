// A ClickHouse server's error as people and scripts read it: its code, its name and its message on one
// line, in the shape both 18.16 ("Code: 44, e.displayText() = DB::Exception: ..., e.what() = ...") and
// current ClickHouse ("Code: 60. DB::Exception: ... (UNKNOWN_TABLE) (version ...)") send it.

export interface ServerError {
  /** ClickHouse's error code, when the server sent one. */
  readonly code?: number;
  /** Its name (UNKNOWN_TABLE): sent by current servers; for 18.16 from the table below. */
  readonly type?: string;
  /** The server's message, on one line. */
  readonly message: string;
}

/** Names of the codes a schema apply meets, as current ClickHouse's errorCodeToName() gives them (checked in chdb). */
const NAMES: Readonly<Record<number, string>> = {
  15: "DUPLICATE_COLUMN", 16: "NO_SUCH_COLUMN_IN_TABLE", 36: "BAD_ARGUMENTS", 43: "ILLEGAL_TYPE_OF_ARGUMENT",
  44: "ILLEGAL_COLUMN", 47: "UNKNOWN_IDENTIFIER", 48: "NOT_IMPLEMENTED", 49: "LOGICAL_ERROR", 53: "TYPE_MISMATCH",
  57: "TABLE_ALREADY_EXISTS", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR", 81: "UNKNOWN_DATABASE", 159: "TIMEOUT_EXCEEDED",
  164: "READONLY", 192: "UNKNOWN_USER", 193: "WRONG_PASSWORD", 209: "SOCKET_TIMEOUT", 210: "NETWORK_ERROR",
  225: "NO_ZOOKEEPER", 242: "TABLE_IS_READ_ONLY", 253: "REPLICA_ALREADY_EXISTS", 341: "UNFINISHED",
  386: "NO_COMMON_TYPE", 497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED", 517: "CANNOT_ASSIGN_ALTER",
  524: "ALTER_OF_COLUMN_IS_FORBIDDEN", 999: "KEEPER_EXCEPTION", 1000: "POCO_EXCEPTION",
};

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

export function serverError(e: unknown): ServerError {
  const err = e as { message?: unknown; code?: unknown; type?: unknown };
  const text = typeof err?.message === "string" ? err.message : String(e);
  const m = /Code:\s*(\d+)[.,]\s*(?:e\.displayText\(\) = )?(?:DB::Exception: )?(.*?)(?:,? e\.what\(\) = \S+)?\s*$/s.exec(text);
  const code = m ? Number(m[1]) : /^\d+$/.test(String(err?.code ?? "")) ? Number(err.code) : undefined;
  let message = oneLine(m ? m[2]! : text).replace(/\s*\(version [^)]*\)\s*$/, "");
  let type = typeof err?.type === "string" && err.type ? err.type : undefined;
  const named = /\s*\(([A-Z][A-Z0-9_]+)\)\s*$/.exec(message);
  if (named) {
    type ??= named[1];
    message = message.slice(0, named.index);
  }
  message = message.replace(/[.\s]+$/, "");
  return { code, type: type ?? (code !== undefined ? NAMES[code] : undefined), message };
}

/** `Code 44 ILLEGAL_COLUMN: Wrong column name ...`, or the message alone when the server sent no code. */
export const formatServerError = (e: ServerError) =>
  e.code === undefined ? e.message : `Code ${e.code}${e.type ? ` ${e.type}` : ""}: ${e.message}`;
