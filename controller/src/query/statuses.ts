// Reads of the statuses table. Agents send a status when it changes, so the
// rows are a change list: a status is in force from its row until the next one.
import type { Storage } from '../storage/index.ts'
import { closestScreenshots, type ScreenshotReference } from '../screenshots/evidence.ts'
import type { ScreenshotStore } from '../screenshots/store.ts'
import type { LimitedRows } from './metrics.ts'
import { IN_WINDOW, ROW_TS_MS, isoTime, windowParams, type QueryWindow } from './window.ts'

type Quoted = string | number

export interface StatusRow {
  stream_id: string
  ts: string
  agent_id: string
  epoch: number
  /** up, degraded or down */
  status: string
  reason: string
  /** Tail of the failed probe's stderr or the player page's errors; empty when the agent sent none. */
  error_output: string
  /** The stored screenshot closest to the change, or null when none is near it. */
  screenshot: ScreenshotReference | null
}

/**
 * Reads status rows in time order, at most `limit` of them. With a
 * screenshot store, each row gets the stored screenshot closest to it.
 */
export async function readStatusRows(
  storage: Storage,
  window: QueryWindow,
  limit: number,
  screenshots?: Pick<ScreenshotStore, 'times'>,
): Promise<LimitedRows<StatusRow>> {
  type StatusRecord = Omit<StatusRow, 'ts' | 'epoch' | 'screenshot'> & { ts_ms: Quoted; epoch: Quoted }
  const records = await storage.query<StatusRecord>(
    `SELECT stream_id, ${ROW_TS_MS} AS ts_ms, agent_id, epoch, status, reason, error_output
     FROM ${storage.table('statuses')}
     WHERE ${IN_WINDOW}
     ORDER BY insert_ts, stream_id
     LIMIT {limit:UInt32}`,
    { ...windowParams(window), limit: limit + 1 },
  )
  const returned = records.slice(0, limit)
  const changes = returned.map((record) => ({ stream_id: record.stream_id, ts_ms: Number(record.ts_ms) }))
  const closest = screenshots === undefined ? changes.map(() => null) : await closestScreenshots(screenshots, changes)
  const rows = returned.map(({ ts_ms, epoch, ...row }, index) => ({
    ...row,
    ts: isoTime(ts_ms),
    epoch: Number(epoch),
    screenshot: closest[index] ?? null,
  }))
  return { rows, truncated: records.length > limit }
}

export interface LastStatus {
  status: string
  reason: string
  ts: string
}

/** Reads the latest status row of each stream before `to`, which may lie before the window. */
export async function readLastStatuses(storage: Storage, window: QueryWindow): Promise<Map<string, LastStatus>> {
  const records = await storage.query<{ stream_id: string; status: string; reason: string; ts_ms: Quoted }>(
    `SELECT stream_id, argMax(status, insert_ts) AS status, argMax(reason, insert_ts) AS reason,
            max(${ROW_TS_MS}) AS ts_ms
     FROM ${storage.table('statuses')}
     WHERE stream_id IN {stream_ids:Array(String)}
       AND insert_ts < fromUnixTimestamp64Milli({to_ms:Int64})
     GROUP BY stream_id`,
    windowParams(window),
  )
  const statuses = new Map<string, LastStatus>()
  for (const row of records) {
    statuses.set(row.stream_id, { status: String(row.status), reason: row.reason, ts: isoTime(row.ts_ms) })
  }
  return statuses
}

export interface Uptime {
  /** Milliseconds of the window whose status was `up`. */
  upMs: number
  /** Milliseconds of the window with a known status: from `from`, or from the first row when none precedes it. */
  knownMs: number
}

/**
 * Measures how long each stream was `up` within the window. The status in
 * force at `from` is the last row before it. Time before a stream's first
 * row is unknown and counts in neither total. Streams without any row are
 * absent from the map.
 *
 * NOTE: no row marks an agent that stopped reporting, so its last status
 * stays in force, and an `up` stream keeps counting as up, until a new row.
 */
export async function readUptime(storage: Storage, window: QueryWindow): Promise<Map<string, Uptime>> {
  const table = storage.table('statuses')
  // `changes` lists each change in the window plus the one in force at `from`,
  // and `spans` gives each change the time until the next one, or until `to`.
  // ts_ms orders the changes. The one in force at `from` sorts first, so a
  // row exactly at `from` ends it after 0 ms. Two rows in the same
  // millisecond sort in no defined order.
  const records = await storage.query<{ stream_id: string; up_ms: Quoted; known_ms: Quoted }>(
    `WITH changes AS (
       SELECT stream_id, ${ROW_TS_MS} AS ts_ms, toString(status) AS state
       FROM ${table}
       WHERE ${IN_WINDOW}
       UNION ALL
       SELECT stream_id, max(${ROW_TS_MS}) AS ts_ms, toString(argMax(status, insert_ts)) AS state
       FROM ${table}
       WHERE stream_id IN {stream_ids:Array(String)}
         AND insert_ts < fromUnixTimestamp64Milli({from_ms:Int64})
       GROUP BY stream_id
     ),
     spans AS (
       SELECT stream_id, state, greatest(ts_ms, {from_ms:Int64}) AS start_ms,
              leadInFrame(greatest(ts_ms, {from_ms:Int64}), 1, {to_ms:Int64}) OVER (
                PARTITION BY stream_id ORDER BY ts_ms ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING
              ) AS end_ms
       FROM changes
     )
     SELECT stream_id, sumIf(end_ms - start_ms, state = 'up') AS up_ms, sum(end_ms - start_ms) AS known_ms
     FROM spans
     GROUP BY stream_id`,
    windowParams(window),
  )
  const uptimes = new Map<string, Uptime>()
  for (const row of records) uptimes.set(row.stream_id, { upMs: Number(row.up_ms), knownMs: Number(row.known_ms) })
  return uptimes
}
