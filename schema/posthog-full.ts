// PostHog's own ClickHouse tables, written as PostHog writes them (posthog/models/event/sql.py,
// person/sql.py, sessions/sql.py, clickhouse/kafka_engine.py and table_engines.py in PostHog/posthog):
// the events tables with their materialized columns, the person tables and sessions. Column types,
// engines and keys are PostHog's; where ClickHouse 18.16 lacks what PostHog uses, the nearest form it
// takes is used and the reason is given beside it. Use it with `schema.declaration: schema/posthog-full.ts`.
import { defineSchema, distributed, table, type Declaration, type DistributedTableInput, type LocalTableInput } from "./declare.ts";

type ColumnInput = LocalTableInput["columns"][number];

const column = (name: string, type: string): ColumnInput => ({ name, type });
const withDefault = (name: string, type: string, kind: "DEFAULT" | "MATERIALIZED" | "ALIAS", expression: string): ColumnInput => ({ name, type, default: { kind, expression } });

// 18.16 has no DateTime64: DateTime keeps second precision, and the 'UTC' time zone where PostHog names it.
const DATETIME_UTC = "DateTime('UTC')";

/** kafka_engine.py's KAFKA_COLUMNS: on every table the Kafka pipeline writes. */
const KAFKA_COLUMNS = [column("_timestamp", "DateTime"), column("_offset", "UInt64")];

/** EVENTS_TABLE_BASE_SQL's columns. PostHog compresses the JSON columns with CODEC(ZSTD(3)), which 18.16 lacks. */
const EVENT_COLUMNS: ColumnInput[] = [
  column("uuid", "UUID"),
  column("event", "VARCHAR"),
  column("properties", "VARCHAR"),
  column("timestamp", DATETIME_UTC),
  column("team_id", "Int64"),
  column("distinct_id", "VARCHAR"),
  column("elements_chain", "VARCHAR"),
  column("created_at", DATETIME_UTC),
  column("person_id", "UUID"),
  column("person_created_at", "DateTime"),
  column("person_properties", "VARCHAR"),
  ...[0, 1, 2, 3, 4].map((i) => column(`group${i}_properties`, "VARCHAR")),
  ...[0, 1, 2, 3, 4].map((i) => column(`group${i}_created_at`, "DateTime")),
  column("person_mode", "Enum8('full' = 0, 'propertyless' = 1, 'force_upgrade' = 2)"),
];

/**
 * EVENTS_TABLE_MATERIALIZED_COLUMNS. PostHog extracts with trim_quotes_expr(JSONExtractRaw(properties, 'p'));
 * 18.16 has no JSONExtract*, and visitParamExtractString gives the same unquoted string. PostHog's COMMENT
 * 'column_materializer::...' is left out (18.16 cannot create a replicated table with column comments), and
 * so are its minmax indexes (18.16 has no data-skipping indexes). `Enum(...)` without values is newer than
 * 18.16: the values are written out.
 */
const EVENT_MATERIALIZED: ColumnInput[] = [
  ...["$group_0", "$group_1", "$group_2", "$group_3", "$group_4", "$window_id", "$session_id"].map((p) =>
    withDefault(p, "VARCHAR", "MATERIALIZED", `visitParamExtractString(properties, '${p}')`)),
  withDefault("elements_chain_href", "String", "MATERIALIZED", `extract(elements_chain, '(?::|\\")href="(.*?)"')`),
  withDefault("elements_chain_texts", "Array(String)", "MATERIALIZED", `arrayDistinct(extractAll(elements_chain, '(?::|\\")text="(.*?)"'))`),
  withDefault("elements_chain_ids", "Array(String)", "MATERIALIZED", `arrayDistinct(extractAll(elements_chain, '(?::|\\")attr_id="(.*?)"'))`),
  withDefault(
    "elements_chain_elements", "Array(Enum8('a' = 1, 'button' = 2, 'form' = 3, 'input' = 4, 'select' = 5, 'textarea' = 6, 'label' = 7))", "MATERIALIZED",
    `arrayDistinct(extractAll(elements_chain, '(?:^|;)(a|button|form|input|select|textarea|label)(?:\\\\.|$|:)'))`,
  ),
];

/** INSERTED_AT_COLUMN: Nullable(DateTime64(6, 'UTC')) DEFAULT NOW64() in PostHog. */
const INSERTED_AT = withDefault("inserted_at", "Nullable(DateTime)", "DEFAULT", "now()");

export function posthogFullTables(database: string): (LocalTableInput | DistributedTableInput)[] {
  const noshard = (name: string) => `/clickhouse/tables/noshard/${database}.${name}`;
  return [
    table({
      database,
      name: "sharded_events",
      columns: [...EVENT_COLUMNS, ...EVENT_MATERIALIZED, ...KAFKA_COLUMNS, INSERTED_AT],
      engine: { family: "ReplacingMergeTree", version: "_timestamp" },
      partitionBy: "toYYYYMM(timestamp)",
      // PostHog: cityHash64(uuid). 18.16 accepts that in CREATE and refuses it at every INSERT: hash the text.
      orderBy: ["team_id", "toDate(timestamp)", "event", "cityHash64(distinct_id)", "cityHash64(toString(uuid))"],
      sampleBy: "cityHash64(distinct_id)",
    }),
    // WRITABLE_EVENTS_TABLE_SQL: the base columns and the Kafka columns, nothing materialized.
    distributed({ database, name: "writable_events", local: "sharded_events", shardingKey: "sipHash64(distinct_id)", columns: [...EVENT_COLUMNS, ...KAFKA_COLUMNS].map((c) => c.name) }),
    // DISTRIBUTED_EVENTS_TABLE_SQL: every column, the materialized ones readable by name.
    distributed({ database, name: "events", local: "sharded_events", shardingKey: "sipHash64(distinct_id)" }),
    table({
      database,
      name: "person",
      columns: [
        column("id", "UUID"), column("created_at", "DateTime"), column("team_id", "Int64"), column("properties", "VARCHAR"),
        column("is_identified", "Int8"), withDefault("is_deleted", "Int8", "DEFAULT", "0"), column("version", "UInt64"), ...KAFKA_COLUMNS,
      ],
      engine: { family: "ReplacingMergeTree", version: "version" },
      zookeeperPath: noshard("person"),
      orderBy: ["team_id", "id"],
    }),
    table({
      database,
      name: "person_distinct_id",
      columns: [
        column("distinct_id", "VARCHAR"), column("person_id", "UUID"), column("team_id", "Int64"),
        withDefault("_sign", "Int8", "DEFAULT", "1"), withDefault("is_deleted", "Int8", "ALIAS", "if(_sign = -1, 1, 0)"), ...KAFKA_COLUMNS,
      ],
      engine: { family: "CollapsingMergeTree", sign: "_sign" },
      zookeeperPath: noshard("person_distinct_id"),
      orderBy: ["team_id", "distinct_id", "person_id"],
    }),
    table({
      database,
      name: "person_distinct_id2",
      columns: [
        column("team_id", "Int64"), column("distinct_id", "VARCHAR"), column("person_id", "UUID"), column("is_deleted", "Int8"),
        withDefault("version", "Int64", "DEFAULT", "1"), ...KAFKA_COLUMNS, column("_partition", "UInt64"),
      ],
      engine: { family: "ReplacingMergeTree", version: "version" },
      zookeeperPath: noshard("person_distinct_id2"),
      orderBy: ["team_id", "distinct_id"],
      settings: { index_granularity: 512 },
    }),
    table({
      database,
      name: "sharded_sessions",
      // SESSIONS_TABLE_BASE_SQL. 18.16 has no SimpleAggregateFunction: its aggregates are AggregateFunction
      // states, but for the timestamp PostHog partitions and orders by: a plain value (an aggregate state
      // cannot be a key; being in the key, rows of other days never merge into it).
      columns: [
        column("session_id", "VARCHAR"),
        column("team_id", "Int64"),
        column("distinct_id", "AggregateFunction(any, String)"),
        column("min_first_timestamp", DATETIME_UTC),
        column("max_last_timestamp", `AggregateFunction(max, ${DATETIME_UTC})`),
        column("urls", "AggregateFunction(groupUniqArrayArray, Array(String))"),
        ...["entry_url", "initial_utm_source", "initial_utm_campaign", "initial_utm_medium", "initial_utm_term", "initial_utm_content", "initial_referring_domain"]
          .map((name) => column(name, `AggregateFunction(argMin, Nullable(VARCHAR), ${DATETIME_UTC})`)),
        column("exit_url", `AggregateFunction(argMax, Nullable(VARCHAR), ${DATETIME_UTC})`),
        column("event_count", "AggregateFunction(sum, Int64)"),
        column("pageview_count", "AggregateFunction(sum, Int64)"),
        column("_timestamp", "AggregateFunction(max, DateTime)"),
      ],
      engine: { family: "AggregatingMergeTree" },
      partitionBy: "toYYYYMM(min_first_timestamp)",
      orderBy: ["toDate(min_first_timestamp)", "team_id", "session_id"],
      settings: { index_granularity: 512 },
    }),
    // PostHog shards sessions by sipHash64(distinct_id); here distinct_id is an aggregate state: by session.
    distributed({ database, name: "writable_sessions", local: "sharded_sessions", shardingKey: "sipHash64(session_id)" }),
    distributed({ database, name: "sessions", local: "sharded_sessions", shardingKey: "sipHash64(session_id)" }),
  ];
}

export function posthogFullSchema(database: string): Declaration {
  return defineSchema({ tables: posthogFullTables(database) });
}

export default posthogFullSchema;
