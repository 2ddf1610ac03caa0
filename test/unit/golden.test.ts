// The loopback renderings of the golden stacks, pinned file by file. UPDATE_GOLDEN=1 rewrites them.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, test } from "node:test";
import { GOLDENS, goldenDir, renderGolden } from "../support/goldens.ts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("golden loopback renderings", () => {
  for (const name of GOLDENS) {
    test(`${name} matches test/golden/loopback-${name}`, () => {
      const files = renderGolden(name);
      const dir = goldenDir(name);
      if (process.env.UPDATE_GOLDEN === "1") {
        rmSync(dir, { recursive: true, force: true });
        for (const [path, content] of Object.entries(files)) {
          mkdirSync(dirname(join(dir, path)), { recursive: true });
          writeFileSync(join(dir, path), content);
        }
      }
      assert.deepEqual(filesUnder(dir), Object.keys(files).sort(), "the same set of files");
      for (const [path, content] of Object.entries(files)) {
        assert.equal(readFileSync(join(dir, path), "utf8"), content, `${path} differs from the golden`);
      }
    });
  }
});
