// The app's refusals in unit tests: what an HttpError says.
import assert from "node:assert/strict";
import { HttpError } from "../../app/errors.ts";

/** The HttpError `fn` throws: its status and message. */
export function refusal(fn: () => unknown): { status: number; message: string; issues?: readonly string[] } {
  try {
    fn();
  } catch (e) {
    if (e instanceof HttpError) return { status: e.status, message: e.message, ...(e.issues ? { issues: e.issues } : {}) };
    throw e;
  }
  assert.fail("expected an HttpError");
}
