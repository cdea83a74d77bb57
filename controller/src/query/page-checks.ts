// Reads of the page_checks table: one row per player page check.
import type { PageError } from '@monit/protocol'
import type { Storage } from '../storage/index.ts'
import type { LimitedRows } from './metrics.ts'
import { IN_WINDOW, ROW_TS_MS, isoTime, windowParams, type QueryWindow } from './window.ts'

type Quoted = string | number

export interface PageCheckRow {
  stream_id: string
  /** End of the check. */
  ts: string
  agent_id: string
  epoch: number
  ok: boolean
  playing: boolean
  load_ms: number | null
  time_to_play_ms: number | null
  errors: PageError[]
}

interface PageCheckRecord {
  stream_id: string
  ts_ms: Quoted
  agent_id: string
  epoch: Quoted
  ok: Quoted
  playing: Quoted
  load_ms: Quoted | null
  time_to_play_ms: Quoted | null
  errors: string
}

/** Parses the errors column's JSON; returns an empty list for text that does not parse. */
export function parsePageErrors(text: string): PageError[] {
  try {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed)) return []
    return parsed
      .filter((entry): entry is PageError => typeof entry?.kind === 'string' && typeof entry?.text === 'string')
      .map(({ kind, text: message }) => ({ kind, text: message }))
  } catch {
    return []
  }
}

function nullableNumber(value: Quoted | null): number | null {
  return value === null ? null : Number(value)
}

/** Reads page check rows in time order, at most `limit` of them. */
export async function readPageCheckRows(storage: Storage, window: QueryWindow, limit: number): Promise<LimitedRows<PageCheckRow>> {
  const records = await storage.query<PageCheckRecord>(
    `SELECT stream_id, ${ROW_TS_MS} AS ts_ms, agent_id, epoch, ok, playing, load_ms, time_to_play_ms, errors
     FROM ${storage.table('page_checks')}
     WHERE ${IN_WINDOW}
     ORDER BY insert_ts, stream_id
     LIMIT {limit:UInt32}`,
    { ...windowParams(window), limit: limit + 1 },
  )
  const rows = records.slice(0, limit).map((record) => ({
    stream_id: record.stream_id,
    ts: isoTime(record.ts_ms),
    agent_id: record.agent_id,
    epoch: Number(record.epoch),
    ok: Number(record.ok) === 1,
    playing: Number(record.playing) === 1,
    load_ms: nullableNumber(record.load_ms),
    time_to_play_ms: nullableNumber(record.time_to_play_ms),
    errors: parsePageErrors(record.errors),
  }))
  return { rows, truncated: records.length > limit }
}
