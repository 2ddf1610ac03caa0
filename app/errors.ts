// Errors that answer a request: a status, a short kind and one message saying what to fix.
import type { z } from "zod";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly issues?: readonly string[],
  ) {
    super(message);
    this.name = "HttpError";
  }

  body(): { error: string; message: string; issues?: readonly string[] } {
    return this.issues ? { error: this.kind, message: this.message, issues: this.issues } : { error: this.kind, message: this.message };
  }
}

/** How a value is described in a message: "string", "number", "array", "null", "object", ... */
export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** `prefix.path.to.field: message`, one line per issue (at most `max`). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly (string | number)[] = [], max = 20): string[] {
  return issues.slice(0, max).map((i) => {
    const path = [...prefix, ...i.path.map((p) => (typeof p === "symbol" ? String(p.description) : p))].join(".");
    return path ? `${path}: ${i.message}` : i.message;
  });
}

/** A 400 naming the first problem, all of them (up to 20) in `issues`. */
export function validationError(kind: string, lines: readonly string[], total = lines.length): HttpError {
  const more = total > lines.length ? [`... and ${total - lines.length} more`] : [];
  return new HttpError(400, kind, lines[0] ?? "invalid input", [...lines, ...more]);
}
