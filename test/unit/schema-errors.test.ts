import assert from "node:assert/strict";
import { test } from "node:test";
import { committedForInactive } from "../../schema/apply.ts";
import { formatServerError, serverError } from "../../schema/errors.ts";

test("18.16's error text: code, its name, the message on one line", () => {
  const e = serverError(new Error("Code: 44, e.displayText() = DB::Exception: Wrong column name. Cannot find column c to insert after, e.what() = DB::Exception\n"));
  assert.deepEqual(e, { code: 44, type: "ILLEGAL_COLUMN", message: "Wrong column name. Cannot find column c to insert after" });
  assert.equal(formatServerError(e), "Code 44 ILLEGAL_COLUMN: Wrong column name. Cannot find column c to insert after");
});

test("current ClickHouse's error text: the name it sends, no version suffix", () => {
  const e = serverError(new Error("Code: 60. DB::Exception: Table db.t does not exist.\n Maybe you meant db.u?. (UNKNOWN_TABLE) (version 25.8.1.1)"));
  assert.deepEqual(e, { code: 60, type: "UNKNOWN_TABLE", message: "Table db.t does not exist. Maybe you meant db.u?" });
});

test("a code the table does not know keeps its number; an error that is not the server's keeps its message", () => {
  assert.deepEqual(serverError(new Error("Code: 4242, e.displayText() = DB::Exception: something, e.what() = DB::Exception")), { code: 4242, type: undefined, message: "something" });
  assert.deepEqual(serverError(new Error("connect ECONNREFUSED 127.0.0.1:19021")), { code: undefined, type: undefined, message: "connect ECONNREFUSED 127.0.0.1:19021" });
  assert.equal(formatServerError(serverError("plain")), "plain");
});

test("a replicated ALTER answered UNFINISHED for an inactive replica counts as applied; other errors do not", () => {
  const alter = { phase: 3, host: "h0", kind: "add-column", table: "db.t", column: "c", sql: "ALTER TABLE db.t ADD COLUMN c String", group: ["h0", "h1"] } as const;
  const inactive = serverError(new Error("Code: 341, e.displayText() = DB::Exception: Alter is not finished because some replicas are inactive right now: h1. Alter will be done asynchronously, e.what() = DB::Exception"));
  assert.equal(committedForInactive(alter, inactive), true);
  assert.equal(committedForInactive({ ...alter, group: undefined }, inactive), false, "not a replicated ALTER");
  assert.equal(committedForInactive({ ...alter, phase: 4 }, inactive), false);
  assert.equal(committedForInactive(alter, serverError(new Error("Code: 341, e.displayText() = DB::Exception: Mutation is not finished, e.what() = DB::Exception"))), false);
  assert.equal(committedForInactive(alter, serverError(new Error("Code: 242, e.displayText() = DB::Exception: Table is in readonly mode, e.what() = DB::Exception"))), false);
});
