// Reads of the events table: player event counts per bucket and type, or
// the raw event rows.
import type { Storage } from '../storage/index.ts'
import type { LimitedRows } from './metrics.ts'
import { BUCKET_START_MS, IN_WINDOW, ROW_TS_MS, isoTime, windowParams, type QueryWindow } from './window.ts'

type Quoted = string | number

/** Matches every type when {types} is empty. */
const TYPE_FILTER = '(empty({types:Array(String)}) OR event IN {types:Array(String)})'

export interface EventBucket {
  stream_id: string
  /** Bucket start. */
  ts: string
  type: string
  events: number
  /** Distinct viewers that sent this type in the bucket. */
  viewers: number
}

/** Reads event counts per stream, bucket and type, in that order. Empty buckets are left out. */
export async function readEventBuckets(
  storage: Storage,
  window: QueryWindow,
  types: readonly string[],
): Promise<EventBucket[]> {
  const records = await storage.query<{ stream_id: string; bucket_ms: Quoted; type: string; events: Quoted; viewers: Quoted }>(
    `SELECT stream_id, ${BUCKET_START_MS} AS bucket_ms, event AS type,
            count() AS events, uniqExact(uniq_id) AS viewers
     FROM ${storage.table('events')}
     WHERE ${IN_WINDOW} AND ${TYPE_FILTER}
     GROUP BY stream_id, bucket_ms, type
     ORDER BY stream_id, bucket_ms, type`,
    { ...windowParams(window), types: [...types] },
  )
  return records.map((row) => ({
    stream_id: row.stream_id,
    ts: isoTime(row.bucket_ms),
    type: row.type,
    events: Number(row.events),
    viewers: Number(row.viewers),
  }))
}

export interface EventRow {
  stream_id: string
  ts: string
  unique_id: string
  type: string
  code: string
  value: number
  platform: string
  app: string
  version: string
  os: string
  browser: string
  country: string
  region: string
  host: string
  user_agent: string
}

/** Reads event rows in time order, at most `limit` of them. */
export async function readEventRows(
  storage: Storage,
  window: QueryWindow,
  types: readonly string[],
  limit: number,
): Promise<LimitedRows<EventRow>> {
  const records = await storage.query<Omit<EventRow, 'ts'> & { ts_ms: Quoted }>(
    `SELECT stream_id, ${ROW_TS_MS} AS ts_ms, uniq_id AS unique_id, event AS type, code, value,
            platform, app, version, os, browser, country, region, host, user_agent
     FROM ${storage.table('events')}
     WHERE ${IN_WINDOW} AND ${TYPE_FILTER}
     ORDER BY insert_ts, stream_id
     LIMIT {limit:UInt32}`,
    { ...windowParams(window), types: [...types], limit: limit + 1 },
  )
  const rows = records.slice(0, limit).map(({ ts_ms, ...row }) => ({ ...row, ts: isoTime(ts_ms) }))
  return { rows, truncated: records.length > limit }
}
