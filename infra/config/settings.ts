// ClickHouse settings a stack may set, keyed by the server's own snake_case names. Only settings that
// both ClickHouse 18.16 (the loopback target) and current ClickHouse (the Kubernetes target) accept
// are listed: an unknown name is refused (a typo must not be silently ignored). Adding one is a
// one-line change here; see docs/clickhouse-config-elements.md for where each is documented.
import { z } from "zod";
import { int, oneOfStrings } from "./fields.ts";

const uint = () => int(0, Number.MAX_SAFE_INTEGER);
const bool = () =>
  z.union([z.boolean(), z.literal(0), z.literal(1)], { error: "must be true, false, 0 or 1" })
    .transform((v) => (v === true || v === 1 ? 1 : 0));
const text = () =>
  z.string({ error: "must be a string" }).regex(/^[^\p{Cc}]*$/u, { error: "must not contain control characters" });

/** Top-level server settings (config.xml elements). */
export const SERVER_SETTINGS = {
  max_concurrent_queries: uint(),
  max_connections: uint(),
  keep_alive_timeout: uint(),
  mark_cache_size: uint(),
  uncompressed_cache_size: uint(),
  max_table_size_to_drop: uint(),
  default_session_timeout: uint(),
  max_session_timeout: uint(),
  timezone: text(),
} as const;

/** Per-profile (query) settings, users.xml `<profiles>`. */
export const PROFILE_SETTINGS = {
  max_memory_usage: uint(),
  max_memory_usage_for_user: uint(),
  max_execution_time: uint(),
  max_threads: uint(),
  max_block_size: uint(),
  max_insert_block_size: uint(),
  max_rows_to_read: uint(),
  max_bytes_to_read: uint(),
  max_result_rows: uint(),
  max_result_bytes: uint(),
  max_bytes_before_external_group_by: uint(),
  max_bytes_before_external_sort: uint(),
  max_query_size: uint(),
  max_ast_elements: uint(),
  max_expanded_ast_elements: uint(),
  max_distributed_connections: uint(),
  connect_timeout: uint(),
  receive_timeout: uint(),
  send_timeout: uint(),
  priority: uint(),
  insert_quorum: uint(),
  insert_distributed_sync: bool(),
  insert_deduplicate: bool(),
  select_sequential_consistency: bool(),
  prefer_localhost_replica: bool(),
  skip_unavailable_shards: bool(),
  max_replica_delay_for_distributed_queries: uint(),
  fallback_to_stale_replicas_for_distributed_queries: bool(),
  distributed_aggregation_memory_efficient: bool(),
  log_queries: bool(),
  use_uncompressed_cache: bool(),
  join_use_nulls: bool(),
  optimize_move_to_prewhere: bool(),
  load_balancing: oneOfStrings(["random", "nearest_hostname", "in_order"]),
  distributed_product_mode: oneOfStrings(["deny", "local", "global", "allow"]),
} as const;

/** Settings chstack sets itself for each user's privileges; a stack may not override them. */
export const MANAGED_PROFILE_SETTINGS = ["readonly", "allow_ddl"] as const;

/** Server elements chstack renders itself (ports, paths, topology); a stack may not override them. */
export const MANAGED_SERVER_SETTINGS = [
  "path", "tmp_path", "user_files_path", "format_schema_path", "users_config", "logger",
  "listen_host", "tcp_port", "http_port", "interserver_http_port", "interserver_http_host",
  "remote_servers", "zookeeper", "macros", "distributed_ddl", "default_profile",
] as const;

export type ServerSettings = { [K in keyof typeof SERVER_SETTINGS]?: z.output<(typeof SERVER_SETTINGS)[K]> };
export type ProfileSettings = { [K in keyof typeof PROFILE_SETTINGS]?: z.output<(typeof PROFILE_SETTINGS)[K]> };

/** Defaults small enough for 6+ servers on a 2-core, 24 GiB machine; raise them for production. */
export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  max_concurrent_queries: 100,
  mark_cache_size: 64 * 1024 * 1024,
  uncompressed_cache_size: 64 * 1024 * 1024,
  timezone: "UTC",
};

export const DEFAULT_PROFILE_SETTINGS: ProfileSettings = {
  max_memory_usage: 2 * 1024 ** 3,
  max_threads: 2,
  load_balancing: "random",
};

const managedHint: Record<string, string> = {
  ...Object.fromEntries(MANAGED_SERVER_SETTINGS.map((k) => [k, "is rendered by chstack from the topology and target; remove it"])),
  ...Object.fromEntries(MANAGED_PROFILE_SETTINGS.map((k) => [k, "is set by chstack for each user's privileges; remove it"])),
};

/** Strict maps of known settings; unknown and managed names get a message of their own (errors.ts). */
const optionalShape = <S extends Record<string, z.ZodType>>(shape: S) =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()])) as { [K in keyof S]: z.ZodOptional<S[K]> };
export const serverSettingsSchema = () => z.strictObject(optionalShape(SERVER_SETTINGS));
export const profileSettingsSchema = () => z.strictObject(optionalShape(PROFILE_SETTINGS));

/** Why a settings key is refused beyond "unknown", if chstack manages it. */
export function managedSettingReason(key: string): string | undefined {
  return managedHint[key];
}
