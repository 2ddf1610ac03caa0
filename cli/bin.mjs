#!/usr/bin/env node
// The `chstack` command. Runs the compiled build in dist/ (scripts/build.mjs; `npm ci` makes it), rebuilt
// first when a source is newer. Where dist/ cannot be written, the TypeScript sources run through tsx.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  console.error(`chstack needs Node.js 20.6 or newer, this is ${process.versions.node}`);
  process.exit(1);
}
const { build, freshBuild } = await import("../scripts/build.mjs");
const main = freshBuild() ?? (await build().catch(() => undefined));
if (main) {
  await import(main);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./main.ts");
}
