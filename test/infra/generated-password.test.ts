// The dynamic provider's own functions (under mocks the engine never calls them; `pulumi up` does).
import assert from "node:assert/strict";
import { test } from "node:test";
import { generatedPasswordProvider as provider } from "../../infra/k8s/generated-password.ts";

test("create: 32 letters and digits, a new one each time; diff: unchanged unless the length changes", async () => {
  const a = await provider.create!({ length: 32 });
  const b = await provider.create!({ length: 32 });
  assert.match(a.outs.result, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(a.outs.result, b.outs.result);
  assert.notEqual(a.id, b.id);
  assert.deepEqual(await provider.diff!(a.id, a.outs, { length: 32 }), { changes: false, replaces: [], deleteBeforeReplace: false });
  assert.deepEqual((await provider.diff!(a.id, a.outs, { length: 40 })).replaces, ["length"]);
});
