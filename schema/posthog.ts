// The default declaration: PostHog's events schema as it ran on ClickHouse around the move from Postgres,
// in types that 18.16 has (DateTime, not DateTime64; String properties, not JSON).
import { defineSchema, distributed, table, type Declaration, type DistributedTableInput, type LocalTableInput } from "./declare.ts";

// No column comments: ClickHouse 18.16 cannot create a Replicated table that has them.
const col = (name: string, type: string, extra: { default?: string } = {}) => ({
  name,
  type,
  ...(extra.default ? { default: { kind: "DEFAULT" as const, expression: extra.default } } : {}),
});

export function posthogSchema(database: string): Declaration {
  return defineSchema({ tables: posthogTables(database) });
}

/** The declaration's raw inputs, to derive variants from (add a column, change a key). */
export function posthogTables(database: string): (LocalTableInput | DistributedTableInput)[] {
  return [
    table({
      database,
      name: "sharded_events",
      columns: [
        col("uuid", "UUID"),
        col("event", "String"),
        col("properties", "String"), // JSON text
        col("timestamp", "DateTime"),
        col("team_id", "Int64"),
        col("distinct_id", "String"),
        col("elements_chain", "String"),
        col("created_at", "DateTime"),
        col("_timestamp", "DateTime"), // ingestion time: the ReplacingMergeTree version
        col("_offset", "UInt64"),
      ],
      engine: { family: "ReplacingMergeTree", version: "_timestamp" },
      partitionBy: "toYYYYMM(timestamp)",
      // PostHog hashed the UUID itself; 18.16 accepts cityHash64(uuid) in CREATE but refuses it at INSERT
      // ("Unexpected type UUID of argument of function cityHash64"): hash its text, on every version.
      orderBy: ["team_id", "toDate(timestamp)", "event", "cityHash64(distinct_id)", "cityHash64(toString(uuid))"],
      sampleBy: "cityHash64(distinct_id)",
    }),
    distributed({ database, name: "writable_events", local: "sharded_events", shardingKey: "sipHash64(distinct_id)" }),
    distributed({ database, name: "events", local: "sharded_events", shardingKey: "sipHash64(distinct_id)" }),
    // Persons are small and joined with every query: one replica set over all hosts ("noshard").
    table({
      database,
      name: "person",
      columns: [
        col("id", "UUID"),
        col("created_at", "DateTime"),
        col("team_id", "Int64"),
        col("properties", "String"),
        col("is_identified", "UInt8"),
        col("is_deleted", "UInt8", { default: "0" }),
        col("version", "UInt64"),
        col("_timestamp", "DateTime"),
        col("_offset", "UInt64"),
      ],
      engine: { family: "ReplacingMergeTree", version: "version" },
      zookeeperPath: `/clickhouse/tables/noshard/${database}.person`,
      orderBy: ["team_id", "id"],
    }),
    table({
      database,
      name: "person_distinct_id",
      columns: [col("distinct_id", "String"), col("person_id", "UUID"), col("team_id", "Int64"), col("_sign", "Int8"), col("_timestamp", "DateTime"), col("_offset", "UInt64")],
      engine: { family: "CollapsingMergeTree", sign: "_sign" },
      zookeeperPath: `/clickhouse/tables/noshard/${database}.person_distinct_id`,
      orderBy: ["team_id", "distinct_id", "person_id"],
    }),
  ];
}
