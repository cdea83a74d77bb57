// Typed rows for the tables, the mapping from protocol messages, and the
// encoding every driver applies before sending rows (column check, insert_ts
// in the one text format both ClickHouse versions parse, TabSeparated text).
import type { Av, AvPeriod, MetricsRow, Page, Playlist, Status, StreamStatusValue } from '@monit/protocol'
import { StorageError } from './errors.ts'
import { COLUMN_NAMES, SCHEMA, columnType, type ColumnSpec } from './schema.ts'
import type { StorageDriver, StorageFeatures, StorageRow, TableName } from './types.ts'

/** Milliseconds since the Unix epoch, an ISO 8601 string, 'YYYY-MM-DD hh:mm:ss[.sss]' (UTC) or a Date. */
export type InsertTs = number | string | Date

export type MetricsRecord = {
  stream_id: string
  agent_id: string
  epoch: number
  /** bit/s */
  bitrate: number
  frames: number
  width: number
  height: number
  fps: number
  bytes: number
  seconds: number
  /** frames between keyframes */
  keyframe_interval: number
  codecs: string
  probe_duration_ms: number
  /** TR 101 290 counts; null when the agent sent no TS summary. */
  ts_sync_loss: number | null
  ts_pat_error: number | null
  ts_pmt_error: number | null
  ts_cc_error: number | null
  ts_pid_error: number | null
  ts_pcr: 0 | 1 | null
  /** JSON of the programmes and their streams; empty without a TS summary. */
  ts_programs: string
  insert_ts: InsertTs
}

export type StatusRecord = {
  stream_id: string
  agent_id: string
  epoch: number
  status: StreamStatusValue
  reason: string
  /** Empty when the agent sent none. */
  error_output: string
  insert_ts: InsertTs
}

export type ViewerFields = {
  platform?: string
  app?: string
  version?: string
  os?: string
  browser?: string
  country?: string
  region?: string
  host?: string
  user_agent?: string
}

export type HeatmapRecord = ViewerFields & {
  stream_id: string
  uniq_id: string
  /** Default: the time of the insert. */
  insert_ts?: InsertTs
}

export type EventRecord = ViewerFields & {
  stream_id: string
  uniq_id: string
  event: string
  code?: string
  value?: number
  /** Default: the time of the insert. */
  insert_ts?: InsertTs
}

export type AvCheckRecord = {
  stream_id: string
  agent_id: string
  epoch: number
  sample_s: number
  decoded_s: number
  video: 0 | 1
  audio: 0 | 1
  black_s: number
  freeze_s: number
  silence_s: number
  /** JSON of the periods per kind, each as [start_s, end_s]. */
  periods: string
  integrated_lufs: number | null
  true_peak_dbtp: number | null
  lra: number | null
  error: string
  insert_ts: InsertTs
}

export type PlaylistCheckRecord = {
  stream_id: string
  agent_id: string
  epoch: number
  ok: number
  variants_ok: number
  variants_total: number
  stale: number
  media_sequence: number | null
  requests: number
  errors: number
  error_share: number
  max_download_ratio: number
  discontinuities: number
  resets: number
  error: string
  insert_ts: InsertTs
}

export type PageCheckRecord = {
  stream_id: string
  agent_id: string
  epoch: number
  ok: number
  playing: number
  load_ms: number | null
  time_to_play_ms: number | null
  /** JSON array of the page's errors, each {kind, text}. */
  errors: string
  insert_ts: InsertTs
}

export type TableRecords = {
  metrics: MetricsRecord
  statuses: StatusRecord
  heatmap: HeatmapRecord
  events: EventRecord
  av_checks: AvCheckRecord
  playlist_checks: PlaylistCheckRecord
  page_checks: PageCheckRecord
}

/** Rows of an agent's metrics message. insert_ts is the probe's end time (ts_ms), so a resent batch carries the same rows. */
export function metricsRecords(agentId: string, rows: readonly MetricsRow[]): MetricsRecord[] {
  return rows.map((row) => ({
    stream_id: row.stream_id,
    agent_id: agentId,
    epoch: row.epoch,
    bitrate: row.bitrate,
    frames: row.frames,
    width: row.width,
    height: row.height,
    fps: row.fps,
    bytes: row.bytes,
    seconds: row.seconds,
    keyframe_interval: row.keyframe_interval,
    codecs: row.codecs,
    probe_duration_ms: row.probe_duration_ms,
    ts_sync_loss: row.ts?.sync_loss ?? null,
    ts_pat_error: row.ts?.pat_error ?? null,
    ts_pmt_error: row.ts?.pmt_error ?? null,
    ts_cc_error: row.ts?.continuity_count_error ?? null,
    ts_pid_error: row.ts?.pid_error ?? null,
    ts_pcr: pcrFlag(row.ts),
    ts_programs: row.ts === undefined ? '' : JSON.stringify(row.ts.programs),
    insert_ts: row.ts_ms,
  }))
}

function pcrFlag(ts: MetricsRow['ts']): 0 | 1 | null {
  if (ts === undefined) return null
  return ts.pcr ? 1 : 0
}

/** The row of an agent's status message; insert_ts is the message's ts_ms. */
export function statusRecord(agentId: string, status: Status): StatusRecord {
  return {
    stream_id: status.stream_id,
    agent_id: agentId,
    epoch: status.epoch,
    status: status.status,
    reason: status.reason,
    error_output: status.error_output ?? '',
    insert_ts: status.ts_ms,
  }
}

function seconds(periods: readonly AvPeriod[]): number {
  return Math.round(periods.reduce((sum, period) => sum + period.duration_s, 0) * 1000) / 1000
}

function spans(periods: readonly AvPeriod[]): Array<[number, number]> {
  return periods.map((period) => [period.start_s, period.end_s])
}

/** Builds the row of an agent's av message; insert_ts is the message's ts_ms. */
export function avCheckRecord(agentId: string, av: Av): AvCheckRecord {
  return {
    stream_id: av.stream_id,
    agent_id: agentId,
    epoch: av.epoch,
    sample_s: av.sample_s,
    decoded_s: av.decoded_s,
    video: av.video ? 1 : 0,
    audio: av.audio ? 1 : 0,
    black_s: seconds(av.black),
    freeze_s: seconds(av.freeze),
    silence_s: seconds(av.silence),
    periods: JSON.stringify({ black: spans(av.black), freeze: spans(av.freeze), silence: spans(av.silence) }),
    integrated_lufs: av.loudness?.integrated_lufs ?? null,
    true_peak_dbtp: av.loudness?.true_peak_dbtp ?? null,
    lra: av.loudness?.lra_lu ?? null,
    error: av.error ?? '',
    insert_ts: av.ts_ms,
  }
}

/** Builds the playlist_checks row of a playlist message, with insert_ts at the pass's start. */
export function playlistCheckRecord(agentId: string, message: Playlist): PlaylistCheckRecord {
  return {
    stream_id: message.stream_id,
    agent_id: agentId,
    epoch: message.epoch,
    ok: message.ok ? 1 : 0,
    variants_ok: message.variants_ok,
    variants_total: message.variants_total,
    stale: message.stale ? 1 : 0,
    media_sequence: message.media_sequence,
    requests: message.requests,
    errors: message.errors,
    error_share: message.error_share,
    max_download_ratio: message.max_download_ratio,
    discontinuities: message.discontinuities,
    resets: message.resets,
    error: message.error ?? '',
    insert_ts: message.ts_ms,
  }
}

/** Builds the page_checks row of a page message, with insert_ts at the check's end. */
export function pageCheckRecord(agentId: string, message: Page): PageCheckRecord {
  return {
    stream_id: message.stream_id,
    agent_id: agentId,
    epoch: message.epoch,
    ok: message.ok ? 1 : 0,
    playing: message.playing ? 1 : 0,
    load_ms: message.load_ms,
    time_to_play_ms: message.time_to_play_ms,
    errors: JSON.stringify(message.errors.map(({ kind, text }) => ({ kind, text }))),
    insert_ts: message.ts_ms,
  }
}

/** First instant DateTime('UTC') cannot hold (2106-02-07); later dates are refused rather than wrapped. */
const MAX_TS_MS = 4294967295000
const NAIVE_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)$/

/** Milliseconds since the epoch for an InsertTs, or undefined when it is not a valid time. */
export function timestampMs(value: unknown): number | undefined {
  let ms: number
  if (typeof value === 'number') ms = value
  else if (value instanceof Date) ms = value.getTime()
  else if (typeof value === 'string') {
    if (/^\d+$/.test(value)) ms = Number(value)
    else {
      // A time without a zone is UTC here; Date.parse would take it as local time.
      const naive = NAIVE_TIMESTAMP.exec(value)
      ms = Date.parse(naive ? `${naive[1]}T${naive[2]}Z` : value)
    }
  } else return undefined
  if (!Number.isFinite(ms)) return undefined
  ms = Math.floor(ms)
  return ms >= 0 && ms < MAX_TS_MS ? ms : undefined
}

/**
 * 'YYYY-MM-DD hh:mm:ss.sss' in UTC: the format ClickHouse's default
 * (basic) DateTime64 parser reads in every version, and that a DateTime64(3,
 * 'UTC') column prints back unchanged. With `millis` false the fraction is
 * left out, for DateTime('UTC') on servers without DateTime64.
 */
export function formatTimestamp(ms: number, millis = true): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, millis ? 23 : 19)}`
}

/** Encoding of one column's values: text, whole number or float, and whether the column takes NULL. */
interface ColumnEncoding {
  readonly name: string
  readonly kind: 'text' | 'integer' | 'float' | 'insert_ts' | 'batch_id'
  readonly nullable: boolean
}

function columnEncoding(column: ColumnSpec, features: Pick<StorageFeatures, 'dateTime64' | 'lowCardinality'>): ColumnEncoding {
  let type = columnType(column, features)
  const nullable = type.startsWith('Nullable(')
  if (nullable) type = type.slice('Nullable('.length, -1)
  let kind: ColumnEncoding['kind'] = 'text'
  if (column.name === 'insert_ts' || column.name === 'batch_id') kind = column.name
  else if (/^U?Int\d+$/.test(type)) kind = 'integer'
  else if (/^Float\d+$/.test(type)) kind = 'float'
  return { name: column.name, kind, nullable }
}

const encodingCache = new Map<string, readonly ColumnEncoding[]>()

/** Returns the columns an insert sends: all but insert_date, which the server derives from insert_ts. */
function tableEncoding(table: TableName, features: Pick<StorageFeatures, 'dateTime64' | 'lowCardinality'>): readonly ColumnEncoding[] {
  const key = `${table}/${features.dateTime64}/${features.lowCardinality}`
  let encoding = encodingCache.get(key)
  if (encoding === undefined) {
    encoding = SCHEMA[table].filter((column) => column.name !== 'insert_date').map((column) => columnEncoding(column, features))
    encodingCache.set(key, encoding)
  }
  return encoding
}

const TSV_SPECIAL = /[\t\n\r\\\0]/
const TSV_ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\', '\0': '\\0' }

/** Escapes a string for a TabSeparated field. Lone UTF-16 surrogates become U+FFFD when the text is UTF-8 encoded. */
function tsvText(text: string): string {
  return TSV_SPECIAL.test(text) ? text.replace(/[\t\n\r\\\0]/g, (char) => TSV_ESCAPES[char]!) : text
}

/**
 * Writes one value as a TabSeparated field. Missing values and numbers that
 * are not finite become NULL in Nullable columns and the type's zero
 * elsewhere, which is what ClickHouse stores for a JSON null.
 */
function tsvField(value: unknown, column: ColumnEncoding): string {
  if (value === undefined || value === null) {
    if (column.nullable) return '\\N'
    return column.kind === 'text' ? '' : '0'
  }
  switch (typeof value) {
    case 'string':
      return tsvText(value)
    case 'number':
      if (column.kind === 'text') return String(value)
      if (!Number.isFinite(value)) return column.nullable ? '\\N' : '0'
      return String(column.kind === 'integer' ? Math.round(value) : value)
    case 'bigint':
      return value.toString()
    case 'boolean':
      if (column.kind === 'text') return String(value)
      return value ? '1' : '0'
    default:
      return tsvText(JSON.stringify(value) ?? '')
  }
}

/** Rows encoded as TabSeparated text, one field per name in `columns`. */
export interface EncodedRows {
  readonly columns: readonly string[]
  readonly body: string
  /** Earliest and latest insert_ts of the rows, ms since the epoch. */
  readonly firstMs: number
  readonly lastMs: number
}

/**
 * Encodes rows as TabSeparated text: refuses columns the table lacks
 * (ClickHouse would skip them silently), writes insert_ts (now when absent)
 * and `batchId` as batch_id, and leaves insert_date, whatever the caller put
 * there, to the column's DEFAULT. Every other column is written, since in a row format a value
 * left out would be stored as the type's zero, not as its DEFAULT.
 * TabSeparated is cheaper to build here and to parse in ClickHouse than
 * JSON, which matters at hundreds of thousands of rows per second.
 */
export function encodeRows(
  table: TableName,
  rows: readonly StorageRow[],
  features: Pick<StorageFeatures, 'dateTime64' | 'lowCardinality'>,
  driver: StorageDriver,
  batchId = '',
  now: number = Date.now(),
): EncodedRows {
  const known = COLUMN_NAMES[table]
  const encoding = tableEncoding(table, features)
  const refuse = (message: string) => new StorageError(message, { driver, retryable: false })
  // Rows of one batch mostly share a timestamp, so its text is made once.
  let lastMs = -1
  let lastTs = ''
  let firstMs = Number.POSITIVE_INFINITY
  let latestMs = Number.NEGATIVE_INFINITY
  const batchField = tsvText(batchId)
  const lines: string[] = new Array(rows.length)
  const fields: string[] = new Array(encoding.length)

  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    for (const key in row) {
      if (!known.has(key) && row[key] !== undefined) throw refuse(`row ${index} for table ${table} has unknown column "${key}"`)
    }
    let ms = now
    if (row.insert_ts !== undefined) {
      const parsed = timestampMs(row.insert_ts)
      if (parsed === undefined) throw refuse(`row ${index} for table ${table} has invalid insert_ts ${JSON.stringify(String(row.insert_ts))}`)
      ms = parsed
    }
    if (ms !== lastMs) {
      lastMs = ms
      lastTs = formatTimestamp(ms, features.dateTime64)
      firstMs = Math.min(firstMs, ms)
      latestMs = Math.max(latestMs, ms)
    }
    for (let position = 0; position < encoding.length; position++) {
      const column = encoding[position]!
      if (column.kind === 'insert_ts') fields[position] = lastTs
      else if (column.kind === 'batch_id') fields[position] = batchField
      else fields[position] = tsvField(row[column.name], column)
    }
    lines[index] = fields.join('\t')
  }
  const body = lines.length === 0 ? '' : `${lines.join('\n')}\n`
  return { columns: encoding.map((column) => column.name), body, firstMs, lastMs: latestMs }
}
