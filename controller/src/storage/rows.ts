// Typed rows for the four tables, the mapping from protocol messages, and the
// normalisation every driver applies before sending rows (column check,
// insert_ts in the one text format both ClickHouse versions parse).
import type { Av, AvPeriod, MetricsRow, Page, Playlist, Status, StreamStatusValue } from '@monit/protocol'
import { StorageError } from './errors.ts'
import { COLUMN_NAMES } from './schema.ts'
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

/**
 * Replaces lone UTF-16 surrogates with U+FFFD. JSON can carry them, but
 * ClickHouse rejects the whole insert that contains one.
 */
export function wellFormed(text: string): string {
  const checked = text as unknown as { isWellFormed(): boolean; toWellFormed(): string }
  return checked.isWellFormed() ? text : checked.toWellFormed()
}

/**
 * Copies rows into the shape sent as JSONEachRow: refuses columns the table
 * lacks (ClickHouse would skip them silently), writes insert_ts as UTC text
 * (now when absent) and insert_date as its UTC day, whatever the caller put
 * there, and turns bigints into numbers, or strings when past 2^53.
 *
 * insert_date is sent rather than left to the column's DEFAULT because
 * servers before 19.x fill omitted JSONEachRow fields with zeros, not with
 * their DEFAULT expression (verified on 18.16: 0000-00-00).
 */
export function prepareRows(
  table: TableName,
  rows: readonly StorageRow[],
  features: Pick<StorageFeatures, 'dateTime64'>,
  driver: StorageDriver,
  now: number = Date.now(),
): Record<string, unknown>[] {
  const columns = COLUMN_NAMES[table]
  const refuse = (message: string) => new StorageError(message, { driver, retryable: false })
  // Rows of one batch mostly share a timestamp, so its text is made once.
  let lastMs = -1
  let lastText = ''

  return rows.map((row, index) => {
    const out: Record<string, unknown> = {}
    let ms = now
    for (const key in row) {
      const value = row[key]
      if (key === 'insert_date' || value === undefined) continue
      if (!columns.has(key)) throw refuse(`row ${index} for table ${table} has unknown column "${key}"`)
      if (key === 'insert_ts') {
        const parsed = timestampMs(value)
        if (parsed === undefined) throw refuse(`row ${index} for table ${table} has invalid insert_ts ${JSON.stringify(String(value))}`)
        ms = parsed
      } else if (typeof value === 'bigint') {
        out[key] = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString()
      } else if (typeof value === 'string') {
        out[key] = wellFormed(value)
      } else {
        out[key] = value
      }
    }

    if (ms !== lastMs) {
      lastMs = ms
      lastText = formatTimestamp(ms, features.dateTime64)
    }
    out.insert_date = lastText.slice(0, 10)
    out.insert_ts = lastText
    return out
  })
}
