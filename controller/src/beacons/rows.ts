// Rows for the heatmap and events tables from validated beacons and the
// client fields of their request.
import { InvalidField } from '../errors.ts'
import type { EventRecord, HeatmapRecord } from '../storage/index.ts'
import type { ClientFields } from './client.ts'
import { EVENT_TYPES, type Beacon, type PlayerEvent } from './schemas.ts'

/**
 * Returns heatmap rows stamped with the time the request came in. Stamped
 * here, they spare the writer a copy of every row to add insert_ts.
 */
export function heatmapRows(beacons: readonly Beacon[], client: ClientFields, receivedAt: number = Date.now()): HeatmapRecord[] {
  return beacons.map((beacon) => ({
    stream_id: beacon.stream_id,
    uniq_id: beacon.unique_id,
    platform: beacon.platform ?? client.platform,
    app: beacon.app,
    version: beacon.version,
    os: client.os,
    browser: client.browser,
    country: client.country,
    region: client.region,
    host: beacon.host,
    user_agent: client.user_agent,
    insert_ts: receivedAt,
  }))
}

/** How far before the controller's clock an event's `ts` may lie. */
export const MAX_EVENT_AGE_MS = 24 * 3_600_000
/** How far after the controller's clock an event's `ts` may lie. */
export const MAX_EVENT_LEAD_MS = 10 * 60_000

// The window keeps one request's rows within two monthly partitions.
// ClickHouse rejects an insert that spans more partitions than
// max_partitions_per_insert_block (default 100) with code 252, which the
// writer treats as retryable, so it would retry such a batch without end.
function checkEventTime(index: number, ts: number, nowMs: number): void {
  const field = `body/${index}/ts`
  const time = new Date(ts).toISOString()
  const hint = 'leave ts out if the player clock is wrong'
  if (ts < nowMs - MAX_EVENT_AGE_MS) {
    throw new InvalidField(field, `${time} is more than 24 hours before the controller clock; ${hint}`)
  }
  if (ts > nowMs + MAX_EVENT_LEAD_MS) {
    throw new InvalidField(field, `${time} is more than 10 minutes after the controller clock; ${hint}`)
  }
}

/**
 * Throws InvalidField naming the first event that lacks the field its type
 * requires (`code` for error, `value` for bitrate_switch) or whose `ts` is
 * outside the window around `nowMs`.
 */
export function checkEvents(events: readonly PlayerEvent[], nowMs: number): void {
  events.forEach((event, index) => {
    if (event.type === EVENT_TYPES.error && event.code === undefined) {
      throw new InvalidField(`body/${index}/code`, 'missing; an error event needs the player\'s error code')
    }
    if (event.type === EVENT_TYPES.bitrateSwitch && event.value === undefined) {
      const message = 'missing; a bitrate_switch event needs the new bitrate in bit/s'
      throw new InvalidField(`body/${index}/value`, message)
    }
    if (event.ts !== undefined) checkEventTime(index, event.ts, nowMs)
  })
}

/** Event rows; an event's own `ts` becomes insert_ts, otherwise the writer stamps it. */
export function eventRows(events: readonly PlayerEvent[], client: ClientFields): EventRecord[] {
  return events.map((event) => ({
    stream_id: event.stream_id,
    uniq_id: event.unique_id,
    event: event.type,
    code: event.code ?? '',
    value: event.value ?? 0,
    platform: event.platform ?? client.platform,
    app: event.app,
    version: event.version,
    os: client.os,
    browser: client.browser,
    country: client.country,
    region: client.region,
    host: event.host,
    user_agent: client.user_agent,
    insert_ts: event.ts,
  }))
}
