// Where this package's files are, from any module of it: the sources run as they are (tsx) or bundled
// into dist/, at different depths, so the root is found, not counted.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

/** The directory of chstack's own package.json, searched upwards from this module. */
export function packageRoot(): string {
  if (found) return found;
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const file = join(d, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === "chstack") return (found = d);
    if (d === dirname(d)) throw new Error(`chstack's package.json was not found above ${fileURLToPath(import.meta.url)}`);
  }
}
