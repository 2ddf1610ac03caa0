// The schema the fault tests ingest into: PostHog's tables plus `faults.sharded_rows`, a plain
// ReplicatedMergeTree (no merge collapses a doubled row, so a count tells exactly-once) written through the
// Distributed table `faults.rows`, sharded by a key. The module text goes into a test stack's directory and
// its config names it (`chstack:schema: declaration`), so every `up` of that stack applies it.
import { fileURLToPath } from "node:url";

const schema = fileURLToPath(new URL("../../schema/", import.meta.url));

export const FAULT_DECLARATION_FILE = "faults-declaration.mts";

export const FAULT_DECLARATION = `import { defineSchema, distributed, table } from "${schema}declare.ts";
import { posthogTables } from "${schema}posthog.ts";
export default (db: string) => defineSchema({ tables: [
  ...posthogTables(db),
  table({ database: "faults", name: "sharded_rows", engine: { family: "MergeTree" }, orderBy: ["id"],
    columns: [{ name: "id", type: "UInt64" }, { name: "shard_key", type: "String" }] }),
  distributed({ database: "faults", name: "rows", local: "sharded_rows", shardingKey: "sipHash64(shard_key)" }),
] });
`;

/** testStack options: the fault schema as the stack's declaration. */
export const faultSchemaOptions = (config: (yaml: string) => string = (y) => y) => ({
  files: { [FAULT_DECLARATION_FILE]: FAULT_DECLARATION },
  config: (yaml: string) => `${config(yaml).trimEnd()}\n  chstack:schema:\n    declaration: ${FAULT_DECLARATION_FILE}\n`,
});
