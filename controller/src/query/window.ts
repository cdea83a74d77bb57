// The window every time-series query reads: which streams, which time range
// and how wide each bucket is, plus the SQL fragments and parameters that
// select it. Values always travel as ClickHouse query parameters.
import { InvalidField } from '../errors.ts'
import { parseRange } from '../api/time-range.ts'

export interface QueryWindow {
  streamIds: readonly string[]
  from: Date
  to: Date
  /** Bucket width in seconds. */
  intervalS: number
}

/** Bucket count that the default interval keeps a query under, per stream. */
export const TARGET_BUCKETS = 1000
/** Bucket count per stream past which a given interval is rejected. */
export const MAX_BUCKETS = 10_000
export const MIN_INTERVAL_S = 1
/** 31 days. */
export const MAX_INTERVAL_S = 2_678_400

/** Widths the default interval picks from, so that buckets start on round times. */
const ROUND_INTERVALS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
]
const DAY_S = 86_400

/**
 * Returns the smallest round interval that splits `spanMs` into at most
 * TARGET_BUCKETS buckets. Past a day per bucket, it is a whole number of days.
 */
export function defaultInterval(spanMs: number): number {
  const minimumS = spanMs / 1000 / TARGET_BUCKETS
  const round = ROUND_INTERVALS_S.find((width) => width >= minimumS)
  if (round !== undefined) return round
  return Math.min(MAX_INTERVAL_S, Math.ceil(minimumS / DAY_S) * DAY_S)
}

/** Throws InvalidField when `intervalS` would split the range into more than MAX_BUCKETS buckets. */
export function checkBucketCount(intervalS: number, spanMs: number): void {
  const buckets = Math.ceil(spanMs / (intervalS * 1000))
  if (buckets <= MAX_BUCKETS) return
  const minimumS = Math.ceil(spanMs / 1000 / MAX_BUCKETS)
  const message = `${intervalS} s splits the range into ${buckets} buckets, more than ${MAX_BUCKETS}; use ${minimumS} or more`
  throw new InvalidField('querystring/interval', message)
}

/** The query string fields every time-series route shares. */
export interface WindowQuery {
  stream_id: string[]
  from?: string
  to?: string
  interval?: number
}

/** Resolves the range (default the last hour) and the interval (default from the range). */
export function resolveWindow(query: WindowQuery): QueryWindow {
  const { from, to } = parseRange(query)
  const spanMs = to.getTime() - from.getTime()
  const intervalS = query.interval ?? defaultInterval(spanMs)
  checkBucketCount(intervalS, spanMs)
  return { streamIds: query.stream_id, from, to, intervalS }
}

/**
 * Splits comma-separated values of a repeated query parameter and drops
 * repeats, keeping the first-seen order: `a,b&x=b` gives ['a', 'b'].
 * Empty parts stay, so that validation rejects them.
 */
export function splitListParameter(value: unknown): unknown {
  if (typeof value !== 'string' && !Array.isArray(value)) return value
  const values = Array.isArray(value) ? value : [value]
  const parts = values.flatMap((item) => (typeof item === 'string' ? item.split(',') : [item]))
  return [...new Set(parts)]
}

// SQL fragments. Each needs the parameters that windowParams() returns.

/** Rows of the window's streams with insert_ts in [from, to). */
export const IN_WINDOW = `stream_id IN {stream_ids:Array(String)}
  AND insert_ts >= fromUnixTimestamp64Milli({from_ms:Int64})
  AND insert_ts < fromUnixTimestamp64Milli({to_ms:Int64})`

/**
 * Start of a row's bucket in Unix ms. Buckets are aligned to multiples of
 * the interval since the Unix epoch, so the first and last bucket of a range
 * may cover only part of their width.
 */
export const BUCKET_START_MS = 'intDiv(toUnixTimestamp64Milli(insert_ts), {step_ms:Int64}) * {step_ms:Int64}'

/** Unix ms of a row, as an Int64 (a string in ClickHouse's JSON). */
export const ROW_TS_MS = 'toUnixTimestamp64Milli(insert_ts)'

export function windowParams(window: QueryWindow): Record<string, unknown> {
  return {
    stream_ids: [...window.streamIds],
    from_ms: window.from.getTime(),
    to_ms: window.to.getTime(),
    step_ms: window.intervalS * 1000,
  }
}

/** ISO 8601 text of a Unix ms value that ClickHouse returned as a number or a quoted Int64. */
export function isoTime(ms: string | number): string {
  return new Date(Number(ms)).toISOString()
}
