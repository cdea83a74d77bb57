// Table definitions and the DDL built from them. One list of columns serves
// every server version: types the server lacks are swapped for the nearest
// older one (see StorageFeatures).
import type { StorageFeatures, TableName } from './types.ts'

export interface ColumnSpec {
  readonly name: string
  /** Modern type; `LowCardinality(String)` and `DateTime64` are downgraded on old servers. */
  readonly type: string
  readonly default?: string
}

const INSERT_COLUMNS: readonly ColumnSpec[] = [
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
    ...INSERT_COLUMNS,
  ],
  statuses: [
    { name: 'stream_id', type: 'String' },
    { name: 'agent_id', type: 'String' },
    { name: 'epoch', type: 'UInt64' },
    /** 'up' | 'degraded' | 'down' */
    { name: 'status', type: 'LowCardinality(String)' },
    { name: 'reason', type: 'String' },
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

export function columnType(column: ColumnSpec, features: StorageFeatures): string {
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
}

export function createTableSql(table: TableName, features: StorageFeatures, settings: TableSettings): string {
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${settings.database}.${table}`,
    `(`,
    SCHEMA[table].map((column) => `  ${columnSql(column, features)}`).join(',\n'),
    `)`,
    `ENGINE = MergeTree`,
    `PARTITION BY toYYYYMM(insert_date)`,
    `ORDER BY (stream_id, insert_ts)`,
  ]
  if (features.ttl) lines.push(`TTL insert_date + INTERVAL ${settings.ttlDays} DAY`)
  if (features.dedupToken) lines.push(`SETTINGS non_replicated_deduplication_window = ${settings.dedupWindow}`)
  return lines.join('\n')
}
