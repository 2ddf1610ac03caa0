// The golden stacks: their fixture configs, their fixed test-only credentials, and their rendering.
// The loopback integration tests boot exactly these renderings.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadStackConfig } from "../../infra/config/load.ts";
import { buildTopology, type Topology } from "../../infra/model/topology.ts";
import { loopbackTarget } from "../../infra/model/targets.ts";
import { hashPasswords } from "../../infra/render/clickhouse/index.ts";
import type { Files } from "../../infra/render/files.ts";
import { renderLoopback } from "../../infra/render/loopback.ts";
import { clickhousePasswords, secretsSchema, type StackSecrets } from "../../infra/loopback/secrets.ts";

export const GOLDENS = ["1x1", "2x2", "3x2"] as const;
export type GoldenName = (typeof GOLDENS)[number];

export const fixturePath = (file: string) => fileURLToPath(new URL(`../fixtures/${file}`, import.meta.url));
export const goldenDir = (name: GoldenName) => fileURLToPath(new URL(`../golden/loopback-${name}/`, import.meta.url));

export function goldenSecrets(): StackSecrets {
  return secretsSchema.parse(JSON.parse(readFileSync(fixturePath("golden-secrets.json"), "utf8")));
}

export function goldenTopology(name: GoldenName, stack = `golden-${name}`): Topology {
  const { config } = loadStackConfig({ configFile: fixturePath(`golden-${name}.yaml`), stack });
  return buildTopology(config, loopbackTarget(config), stack);
}

export function renderGolden(name: GoldenName): Files {
  return renderLoopback(goldenTopology(name), hashPasswords(clickhousePasswords(goldenSecrets())));
}
