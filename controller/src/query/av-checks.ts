// Reads of the av_checks table: one row per picture and sound check.
import type { Storage } from '../storage/index.ts'
import type { LimitedRows } from './metrics.ts'
import { IN_WINDOW, ROW_TS_MS, isoTime, windowParams, type QueryWindow } from './window.ts'

type Quoted = string | number
/** [start_s, end_s] of each period of one kind. */
type Spans = number[][]

export interface AvCheckRow {
  stream_id: string
  ts: string
  agent_id: string
  sample_s: number
  decoded_s: number
  video: boolean
  audio: boolean
  black_s: number
  freeze_s: number
  silence_s: number
  periods: { black: Spans; freeze: Spans; silence: Spans }
  integrated_lufs: number | null
  true_peak_dbtp: number | null
  lra: number | null
  /** Empty when the check worked. */
  error: string
}

type AvCheckRecord = Omit<AvCheckRow, 'ts' | 'video' | 'audio' | 'periods'> & {
  ts_ms: Quoted
  video: Quoted
  audio: Quoted
  periods: string
}

/** Parses the periods column's JSON; returns empty lists for text that does not parse. */
export function parsePeriods(text: string): AvCheckRow['periods'] {
  const spans = (value: unknown): Spans => (Array.isArray(value) ? (value as Spans) : [])
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>
    return { black: spans(parsed.black), freeze: spans(parsed.freeze), silence: spans(parsed.silence) }
  } catch {
    return { black: [], freeze: [], silence: [] }
  }
}

/** Reads av check rows in time order, at most `limit` of them. */
export async function readAvCheckRows(storage: Storage, window: QueryWindow, limit: number): Promise<LimitedRows<AvCheckRow>> {
  const records = await storage.query<AvCheckRecord>(
    `SELECT stream_id, ${ROW_TS_MS} AS ts_ms, agent_id, sample_s, decoded_s, video, audio,
            black_s, freeze_s, silence_s, periods, integrated_lufs, true_peak_dbtp, lra, error
     FROM ${storage.table('av_checks')}
     WHERE ${IN_WINDOW}
     ORDER BY insert_ts, stream_id
     LIMIT {limit:UInt32}`,
    { ...windowParams(window), limit: limit + 1 },
  )
  const rows = records.slice(0, limit).map(({ ts_ms, video, audio, periods, ...row }) => ({
    ...row,
    ts: isoTime(ts_ms),
    video: Number(video) === 1,
    audio: Number(audio) === 1,
    periods: parsePeriods(periods),
  }))
  return { rows, truncated: records.length > limit }
}
