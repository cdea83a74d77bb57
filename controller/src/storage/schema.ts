// Table definitions and the DDL built from them. One list of columns serves
// every server version: types the server lacks are swapped for the nearest
// older one (see StorageFeatures).
import { TABLES, type StorageFeatures, type TableName } from './types.ts'

export interface ColumnSpec {
  readonly name: string
  /** Modern type; `LowCardinality(String)` and `DateTime64` are downgraded on old servers. */
  readonly type: string
  readonly default?: string
}

const INSERT_COLUMNS: readonly ColumnSpec[] = [
  /**
   * Token of the insert that stored the row, written on servers without
   * insert_deduplication_token, where a batch that may be stored already is
   * looked up by it. Empty elsewhere.
   */
  { name: 'batch_id', type: 'String' },
  { name: 'insert_date', type: 'Date', default: 'toDate(insert_ts)' },
  { name: 'insert_ts', type: "DateTime64(3, 'UTC')", default: 'now64(3)' },
]

const VIEWER_COLUMNS: readonly ColumnSpec[] = [
  { name: 'platform', type: 'LowCardinality(String)' },
  { name: 'app', type: 'LowCardinality(String)' },
  { name: 'version', type: 'LowCardinality(String)' },
  { name: 'os', type: 'LowCardinality(String)' },
  { name: 'browser', type: 'LowCardinality(String)' },
  { name: 'country', type: 'LowCardinality(String)' },
  { name: 'region', type: 'LowCardinality(String)' },
  { name: 'host', type: 'LowCardinality(String)' },
  { name: 'user_agent', type: 'String' },
]

export const SCHEMA: Readonly<Record<TableName, readonly ColumnSpec[]>> = {
  metrics: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** bit/s */
    { name: 'bitrate', type: 'Float64' },
    { name: 'frames', type: 'UInt32' },
    { name: 'width', type: 'UInt16' },
    { name: 'height', type: 'UInt16' },
    { name: 'fps', type: 'Float32' },
    { name: 'bytes', type: 'UInt64' },
    { name: 'seconds', type: 'Float32' },
    /** frames between keyframes */
    { name: 'keyframe_interval', type: 'Float32' },
    { name: 'codecs', type: 'LowCardinality(String)' },
    { name: 'probe_duration_ms', type: 'UInt32' },
    /** TR 101 290 first-priority counts of the MPEG-TS the agent read; NULL when it did not read the TS itself */
    { name: 'ts_sync_loss', type: 'Nullable(UInt32)' },
    { name: 'ts_pat_error', type: 'Nullable(UInt32)' },
    { name: 'ts_pmt_error', type: 'Nullable(UInt32)' },
    { name: 'ts_cc_error', type: 'Nullable(UInt32)' },
    { name: 'ts_pid_error', type: 'Nullable(UInt32)' },
    /** 1 when a programme's PCR_PID carried a PCR */
    { name: 'ts_pcr', type: 'Nullable(UInt8)' },
    /** JSON: [{program_number, pmt_pid, pcr_pid, streams: [{pid, stream_type, kind, codec}]}]; empty without TS analysis */
    { name: 'ts_programs', type: 'String' },
    ...INSERT_COLUMNS,
  ],
  statuses: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** 'up' | 'degraded' | 'down' */
    { name: 'status', type: 'LowCardinality(String)' },
    { name: 'reason', type: 'String' },
    /** tail of the failed probe's stderr or the player page's errors; empty when the agent sent none */
    { name: 'error_output', type: 'String' },
    ...INSERT_COLUMNS,
  ],
  heatmap: [
    { name: 'stream_id', type: 'String' },
    { name: 'uniq_id', type: 'String' },
    ...VIEWER_COLUMNS,
    ...INSERT_COLUMNS,
  ],
  events: [
    { name: 'stream_id', type: 'String' },
    { name: 'uniq_id', type: 'String' },
    { name: 'event', type: 'LowCardinality(String)' },
    { name: 'code', type: 'String' },
    { name: 'value', type: 'Float64' },
    ...VIEWER_COLUMNS,
    ...INSERT_COLUMNS,
  ],
  /** One row per picture and sound check; insert_ts is the check's end. */
  av_checks: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** seconds of media requested and decoded */
    { name: 'sample_s', type: 'Float32' },
    { name: 'decoded_s', type: 'Float32' },
    /** 1 when the window had a video or audio stream */
    { name: 'video', type: 'UInt8' },
    { name: 'audio', type: 'UInt8' },
    /** seconds of black picture, frozen picture and silence in the window */
    { name: 'black_s', type: 'Float32' },
    { name: 'freeze_s', type: 'Float32' },
    { name: 'silence_s', type: 'Float32' },
    /** JSON: {"black": [[start_s, end_s], ...], "freeze": [...], "silence": [...]} */
    { name: 'periods', type: 'String' },
    /** LUFS, dBTP and LU; NULL without audio or a finite value */
    { name: 'integrated_lufs', type: 'Nullable(Float32)' },
    { name: 'true_peak_dbtp', type: 'Nullable(Float32)' },
    { name: 'lra', type: 'Nullable(Float32)' },
    /** why the check failed; empty when it worked */
    { name: 'error', type: 'String' },
    ...INSERT_COLUMNS,
  ],
  playlist_checks: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** 1 when the manifest at the stream URL loaded and parsed */
    { name: 'ok', type: 'UInt8' },
    /** variants or representations checked, and those that loaded with a segment */
    { name: 'variants_ok', type: 'UInt32' },
    { name: 'variants_total', type: 'UInt32' },
    /** 1 when a checked media playlist had no new segment for 2 target durations */
    { name: 'stale', type: 'UInt8' },
    /** highest media sequence of the checked playlists; NULL when none loaded */
    { name: 'media_sequence', type: 'Nullable(Int64)' },
    { name: 'requests', type: 'UInt32' },
    { name: 'errors', type: 'UInt32' },
    { name: 'error_share', type: 'Float32' },
    /** segment download time / segment duration, highest of the pass */
    { name: 'max_download_ratio', type: 'Float32' },
    { name: 'discontinuities', type: 'UInt32' },
    /** media sequence resets or rewinds found in the pass */
    { name: 'resets', type: 'UInt32' },
    /** why the pass failed; empty when it worked */
    { name: 'error', type: 'String' },
    ...INSERT_COLUMNS,
  ],
  /** One row per player page check; insert_ts is the check's end. */
  page_checks: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** 1 when the page loaded and its video played */
    { name: 'ok', type: 'UInt8' },
    /** 1 when a <video> element's currentTime advanced */
    { name: 'playing', type: 'UInt8' },
    /** ms until the load event, and from it until the video played; NULL when that did not happen */
    { name: 'load_ms', type: 'Nullable(UInt32)' },
    { name: 'time_to_play_ms', type: 'Nullable(UInt32)' },
    /** JSON: [{"kind": "console" | "request" | "exception" | "load" | "no_video", "text": "..."}, ...] */
    { name: 'errors', type: 'String' },
    ...INSERT_COLUMNS,
  ],
}

/** Column names per table, for validating rows before they are sent. */
export const COLUMN_NAMES: Readonly<Record<TableName, ReadonlySet<string>>> = Object.fromEntries(
  Object.entries(SCHEMA).map(([table, columns]) => [table, new Set(columns.map((c) => c.name))]),
) as unknown as Record<TableName, ReadonlySet<string>>

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Throws unless `name` is a plain identifier, safe to place in SQL text unquoted. */
export function checkIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${what} must match ${IDENTIFIER} (got ${JSON.stringify(name)})`)
  return name
}

export function columnType(column: ColumnSpec, features: Pick<StorageFeatures, 'lowCardinality' | 'dateTime64'>): string {
  let type = column.type
  if (!features.lowCardinality) type = type.replace(/^LowCardinality\((.*)\)$/, '$1')
  if (!features.dateTime64) type = type.replace(/^DateTime64\(3, 'UTC'\)$/, "DateTime('UTC')")
  return type
}

export function columnDefault(column: ColumnSpec, features: StorageFeatures): string | undefined {
  if (column.default === 'now64(3)' && !features.dateTime64) return 'now()'
  return column.default
}

export function columnSql(column: ColumnSpec, features: StorageFeatures): string {
  const fallback = columnDefault(column, features)
  return `${column.name} ${columnType(column, features)}${fallback === undefined ? '' : ` DEFAULT ${fallback}`}`
}

export interface TableSettings {
  readonly database: string
  readonly ttlDays: number
  readonly dedupWindow: number
  /**
   * Cluster name from the server's remote_servers. With it every statement
   * runs ON CLUSTER, rows live in ReplicatedMergeTree tables named
   * `<table>_local`, and a Distributed table under the plain name sits in front.
   */
  readonly cluster?: string | undefined
}

/** Name of the table that stores the rows on each server: `<table>_local` in cluster mode, else the table itself. */
export function localTableName(table: TableName, cluster: string | undefined): string {
  return cluster === undefined ? table : `${table}_local`
}

function onCluster(cluster: string | undefined): string {
  return cluster === undefined ? '' : ` ON CLUSTER ${cluster}`
}

function columnListSql(table: TableName, features: StorageFeatures): string {
  return SCHEMA[table].map((column) => `  ${columnSql(column, features)}`).join(',\n')
}

export function createDatabaseSql(settings: TableSettings): string {
  return `CREATE DATABASE IF NOT EXISTS ${settings.database}${onCluster(settings.cluster)}`
}

/**
 * Returns the CREATE TABLE of the table that stores the rows: a MergeTree
 * table on a single server, or in cluster mode the `<table>_local`
 * ReplicatedMergeTree table on every server of the cluster. The `{shard}`
 * and `{replica}` macros come from each server's own config.
 */
export function createTableSql(table: TableName, features: StorageFeatures, settings: TableSettings): string {
  const { database, cluster } = settings
  const engine =
    cluster === undefined ? 'MergeTree' : `ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/${table}', '{replica}')`
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${database}.${localTableName(table, cluster)}${onCluster(cluster)}`,
    `(`,
    columnListSql(table, features),
    `)`,
    `ENGINE = ${engine}`,
    `PARTITION BY toYYYYMM(insert_date)`,
    `ORDER BY (stream_id, insert_ts)`,
  ]
  if (features.ttl) lines.push(`TTL insert_date + INTERVAL ${settings.ttlDays} DAY`)
  // Replicated tables deduplicate by block hash or token within replicated_deduplication_window
  // (the server's default); non_replicated_deduplication_window applies only to plain MergeTree.
  if (features.dedupToken && cluster === undefined) lines.push(`SETTINGS non_replicated_deduplication_window = ${settings.dedupWindow}`)
  return lines.join('\n')
}

/**
 * Returns the CREATE TABLE of the Distributed table that the rest of the
 * code queries and inserts into in cluster mode.
 *
 * The sharding key is a hash of stream_id rather than rand(), because a
 * retried batch must split into the same rows per shard as its first try.
 * Otherwise no shard would recognise its part as a duplicate, by block hash
 * or by insert_deduplication_token. It also keeps each stream's rows on one shard.
 */
export function createDistributedTableSql(table: TableName, features: StorageFeatures, settings: TableSettings & { cluster: string }): string {
  const { database, cluster } = settings
  return [
    `CREATE TABLE IF NOT EXISTS ${database}.${table}${onCluster(cluster)}`,
    `(`,
    columnListSql(table, features),
    `)`,
    `ENGINE = Distributed(${cluster}, ${database}, ${localTableName(table, cluster)}, cityHash64(stream_id))`,
  ].join('\n')
}

/** Returns every statement that creates the database and the tables in TABLES, in the order to run them. */
export function schemaStatements(features: StorageFeatures, settings: TableSettings): string[] {
  const statements = [createDatabaseSql(settings)]
  for (const table of TABLES) {
    statements.push(createTableSql(table, features, settings))
    if (settings.cluster !== undefined) statements.push(createDistributedTableSql(table, features, { ...settings, cluster: settings.cluster }))
  }
  return statements
}
