// Builds the command line into dist/: cli/main.ts and everything it imports, bundled by esbuild into
// compiled JavaScript with one chunk per lazily loaded command, so a command loads only what it uses.
// `npm ci` runs it (prepare); cli/bin.mjs runs it again when a source is newer than the build.
//
// Each build goes to a directory of its own (dist/b-<time>-<pid>/) and dist/current.json then points at
// it, written by rename: a command starting while another rebuilds never reads a half-written file.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
const pointer = join(dist, "current.json");
/** Loaded at run time from node_modules: large, or with files of their own that a bundle cannot carry. */
const EXTERNAL = ["@pulumi/*", "kubernetes-models", "@kubernetes-models/*", "esbuild", "tsx", "chdb", "pg-native"];
/** Inputs that change the build beyond the sources esbuild reads. */
const ALSO = ["package.json", "package-lock.json", "scripts/build.mjs"];
/** Bundled CommonJS dependencies expect these; an ES module has none. */
const BANNER = [
  'import { createRequire as __chstackRequire } from "node:module";',
  'import { fileURLToPath as __chstackPath } from "node:url";',
  "const require = __chstackRequire(import.meta.url);",
  "const __filename = __chstackPath(import.meta.url);",
  'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));',
].join("\n");

/** The entry module of the current build if every input is older than it, else undefined. */
export function freshBuild() {
  let current;
  try {
    current = JSON.parse(readFileSync(pointer, "utf8"));
  } catch {
    return undefined;
  }
  for (const input of current.inputs) {
    let mtime;
    try {
      mtime = statSync(join(root, input)).mtimeMs;
    } catch {
      return undefined;
    }
    if (mtime > current.builtAt) return undefined;
  }
  const main = join(dist, current.dir, "main.js");
  return existsSync(main) ? pathToFileURL(main).href : undefined;
}

/** Builds dist/ anew and returns the entry module's URL. Throws if dist/ cannot be written. */
export async function build() {
  const { build: esbuild } = await import("esbuild");
  const builtAt = Date.now();
  const dir = `b-${builtAt}-${process.pid}`;
  const outdir = join(dist, dir);
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild({
    entryPoints: { main: join(root, "cli/main.ts") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    banner: { js: BANNER },
    metafile: true,
    minify: true,
    absWorkingDir: root,
    logLevel: "warning",
  });
  const inputs = [...Object.keys(result.metafile.inputs), ...ALSO];
  const tmp = `${pointer}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ dir, builtAt, inputs: inputs.filter((i) => !i.startsWith("node_modules/")) }, null, 1)}\n`);
  renameSync(tmp, pointer);
  // Earlier builds, once no command can still be loading chunks from them.
  for (const old of readdirSync(dist)) {
    if (old.startsWith("b-") && old !== dir && statSync(join(dist, old)).mtimeMs < builtAt - 60_000) rmSync(join(dist, old), { recursive: true, force: true });
  }
  return pathToFileURL(join(outdir, "main.js")).href;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = Date.now();
  await build();
  console.log(`chstack: built dist/ in ${Date.now() - started} ms`);
}
