// Which declaration a stack converges: `--declaration MODULE`, else `schema.declaration` of the stack
// config, else the built-in PostHog events schema. Both targets read it the same way.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Declaration } from "../schema/declare.ts";
import { posthogSchema } from "../schema/posthog.ts";

export async function loadDeclaration(database: string, module: string | undefined, baseDir = process.cwd()): Promise<Declaration> {
  if (!module) return posthogSchema(database);
  const file = resolve(baseDir, module);
  if (!existsSync(file)) throw new Error(`schema.declaration: no such module: ${file}`);
  const mod = (await importTypeScript(pathToFileURL(file).href)) as { default?: unknown };
  const d = typeof mod.default === "function" ? (mod.default as (db: string) => Declaration)(database) : mod.default;
  if (!d || typeof d !== "object" || !Array.isArray((d as Declaration).tables)) {
    throw new Error(`${module}: its default export must be a declaration from defineSchema(...) or a function (database) => declaration`);
  }
  return d as Declaration;
}

/** The compiled command line has no TypeScript loader until a TypeScript module needs one: then tsx. */
async function importTypeScript(url: string): Promise<unknown> {
  try {
    return await import(url);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw e;
    const { register } = await import("tsx/esm/api");
    register();
    return import(`${url}?typescript`); // a URL of its own: the failed import of `url` stays cached
  }
}
