// What every collector shares: a deadline, and an error said in a few words.
import { formatServerError, serverError } from "../schema/errors.ts";

export const DEFAULT_TIMEOUT_MS = 2000;

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer in ${ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`}`);
  }
}

/** Run `fn` with an abort signal that fires after `ms`; reject with a TimeoutError then, whatever `fn` does. */
export function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      ctl.abort();
      reject(new TimeoutError(ms));
    }, ms);
    fn(ctl.signal).then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

const SYSCALL: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused", ECONNRESET: "connection reset", EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable", ENOTFOUND: "name not found", EAI_AGAIN: "name lookup failed", ETIMEDOUT: "connection timed out",
};

/** `connection refused`, `no answer in 2 s`, `Code 516 AUTHENTICATION_FAILED: ...`: one line. */
export function describeError(e: unknown): string {
  if (e instanceof TimeoutError) return e.message;
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  for (const code of [err?.code, err?.cause?.code]) if (typeof code === "string" && SYSCALL[code]) return SYSCALL[code]!;
  if (typeof err?.message === "string" && /abort/i.test(err.message)) return "aborted";
  return formatServerError(serverError(e)) || "error";
}
