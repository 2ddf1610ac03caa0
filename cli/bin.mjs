#!/usr/bin/env node
// The `chstack` command: registers tsx so the TypeScript sources run as they are, then starts the CLI.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  console.error(`chstack needs Node.js 20.6 or newer, this is ${process.versions.node}`);
  process.exit(1);
}
const { register } = await import("tsx/esm/api");
register();
await import("./main.ts");
