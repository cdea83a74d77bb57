// Reads of the metrics table: raw probe rows, per-bucket averages and the
// average bitrate over a window.
import type { Storage } from '../storage/index.ts'
import { BUCKET_START_MS, IN_WINDOW, ROW_TS_MS, isoTime, windowParams, type QueryWindow } from './window.ts'

/** A JSON number that ClickHouse may quote (64-bit integers). */
type Quoted = string | number

interface MetricsRecord {
  stream_id: string
  ts_ms: Quoted
  agent_id: string
  bitrate: number
  frames: number
  width: number
  height: number
  fps: number
  bytes: Quoted
  seconds: number
  keyframe_interval: number
  codecs: string
  probe_duration_ms: number
  ts_sync_loss: number | null
  ts_pat_error: number | null
  ts_pmt_error: number | null
  ts_cc_error: number | null
  ts_pid_error: number | null
  ts_pcr: number | null
  ts_programs: string
}

export type MetricsRow = Omit<MetricsRecord, 'ts_ms' | 'bytes' | 'ts_programs'> & { ts: string; bytes: number; ts_programs: unknown[] | null }

/** Returns the programmes JSON of a row as an array, or null for a row without MPEG-TS analysis. */
function programmes(text: string): unknown[] | null {
  if (text === '') return null
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) ? parsed : null
  } catch {
    return null
  }
}

/** Rows read with a limit. `truncated` is true when more rows matched. */
export interface LimitedRows<T> {
  rows: T[]
  truncated: boolean
}

/** Reads probe rows in time order, at most `limit` of them. */
export async function readMetricsRows(
  storage: Storage,
  window: QueryWindow,
  limit: number,
): Promise<LimitedRows<MetricsRow>> {
  const records = await storage.query<MetricsRecord>(
    `SELECT stream_id, ${ROW_TS_MS} AS ts_ms, agent_id, bitrate, frames, width, height, fps,
            bytes, seconds, keyframe_interval, codecs, probe_duration_ms,
            ts_sync_loss, ts_pat_error, ts_pmt_error, ts_cc_error, ts_pid_error, ts_pcr, ts_programs
     FROM ${storage.table('metrics')}
     WHERE ${IN_WINDOW}
     ORDER BY insert_ts, stream_id
     LIMIT {limit:UInt32}`,
    { ...windowParams(window), limit: limit + 1 },
  )
  const rows = records.slice(0, limit).map(({ ts_ms, bytes, ts_programs, ...row }) => ({
    ...row,
    ts: isoTime(ts_ms),
    bytes: Number(bytes),
    ts_programs: programmes(ts_programs),
  }))
  return { rows, truncated: records.length > limit }
}

/** Probe values averaged per bucket. The names come from SCHEMA, never from the request. */
const AVERAGED_COLUMNS = [
  'bitrate',
  'fps',
  'frames',
  'width',
  'height',
  'bytes',
  'seconds',
  'keyframe_interval',
  'probe_duration_ms',
] as const
type AveragedColumn = (typeof AVERAGED_COLUMNS)[number]

export type MetricsBucket = Record<AveragedColumn, number> & {
  stream_id: string
  /** Bucket start. */
  ts: string
  samples: number
  bitrate_min: number
  bitrate_max: number
}

type MetricsBucketRecord = Record<`avg_${AveragedColumn}`, number> & {
  stream_id: string
  bucket_ms: Quoted
  samples: Quoted
  bitrate_min: number
  bitrate_max: number
}

/** Reads per-bucket averages of the probe values, by stream and then time. Empty buckets are left out. */
export async function readMetricsBuckets(storage: Storage, window: QueryWindow): Promise<MetricsBucket[]> {
  // Aliases differ from the column names: an alias named like a column would replace it in min() and max().
  const averages = AVERAGED_COLUMNS.map((column) => `avg(${column}) AS avg_${column}`).join(', ')
  const records = await storage.query<MetricsBucketRecord>(
    `SELECT stream_id, ${BUCKET_START_MS} AS bucket_ms, count() AS samples,
            min(bitrate) AS bitrate_min, max(bitrate) AS bitrate_max, ${averages}
     FROM ${storage.table('metrics')}
     WHERE ${IN_WINDOW}
     GROUP BY stream_id, bucket_ms
     ORDER BY stream_id, bucket_ms`,
    windowParams(window),
  )
  return records.map((record) => {
    const averaged = Object.fromEntries(AVERAGED_COLUMNS.map((column) => [column, record[`avg_${column}`]]))
    return {
      ...(averaged as Record<AveragedColumn, number>),
      stream_id: record.stream_id,
      ts: isoTime(record.bucket_ms),
      samples: Number(record.samples),
      bitrate_min: record.bitrate_min,
      bitrate_max: record.bitrate_max,
    }
  })
}

/** Reads the average bitrate (bit/s) and probe count per stream. Streams without rows are absent. */
export async function readAverageBitrates(
  storage: Storage,
  window: QueryWindow,
): Promise<Map<string, { bitrate: number; samples: number }>> {
  const records = await storage.query<{ stream_id: string; bitrate: number; samples: Quoted }>(
    `SELECT stream_id, avg(bitrate) AS bitrate, count() AS samples
     FROM ${storage.table('metrics')}
     WHERE ${IN_WINDOW}
     GROUP BY stream_id`,
    windowParams(window),
  )
  return new Map(records.map((row) => [row.stream_id, { bitrate: row.bitrate, samples: Number(row.samples) }]))
}
