// Bundles the app (app/main.ts and everything it imports: fastify, pg, @clickhouse/client, zod) into one
// ES module, app.mjs, that runs with plain `node` and no node_modules: what app/Dockerfile ships.
//   node app/build.mjs [OUTDIR]      (default: dist/app/, git-ignored beside the command line's build)
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, "..", "dist", "app"));
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: { app: join(here, "main.ts") },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // pg loads its optional native binding only when asked (it is not); nothing else is left out
  external: ["pg-native"],
  // bundled CommonJS dependencies expect these; an ES module has none
  banner: {
    js: [
      'import { createRequire as __appRequire } from "node:module";',
      'import { fileURLToPath as __appPath } from "node:url";',
      "const require = __appRequire(import.meta.url);",
      "const __filename = __appPath(import.meta.url);",
      'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));',
    ].join("\n"),
  },
  legalComments: "linked",
  sourcemap: true,
  logLevel: "warning",
});
process.stdout.write(`${join(outdir, "app.mjs")}\n`);
