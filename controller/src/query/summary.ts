// One line per stream over a window: viewers, peak, bitrate, uptime and the
// latest status, each read by its own query.
import type { Storage } from '../storage/index.ts'
import { readAverageBitrates } from './metrics.ts'
import { readLastStatuses, readUptime, type LastStatus } from './statuses.ts'
import { peaksOf, readUniqueViewers, readViewerBuckets } from './viewers.ts'
import type { QueryWindow } from './window.ts'

export interface StreamSummary {
  stream_id: string
  unique_viewers: number
  /** Most distinct viewers in one bucket of the window's interval. */
  peak_concurrent: number
  peak_ts: string | null
  /** Average bit/s, or null without metrics rows. */
  avg_bitrate: number | null
  probes: number
  /** up_seconds / known_seconds, or null when no status is known in the window. */
  uptime_share: number | null
  up_seconds: number
  known_seconds: number
  last_status: LastStatus | null
}

/** Reads the summaries, in the order of window.streamIds. */
export async function readSummaries(storage: Storage, window: QueryWindow): Promise<StreamSummary[]> {
  const [viewers, buckets, bitrates, uptimes, lastStatuses] = await Promise.all([
    readUniqueViewers(storage, window),
    readViewerBuckets(storage, window),
    readAverageBitrates(storage, window),
    readUptime(storage, window),
    readLastStatuses(storage, window),
  ])
  const peaks = new Map(peaksOf(window.streamIds, buckets).map((peak) => [peak.stream_id, peak]))

  return window.streamIds.map((id) => {
    const bitrate = bitrates.get(id)
    const uptime = uptimes.get(id)
    const known = uptime !== undefined && uptime.knownMs > 0 ? uptime : undefined
    return {
      stream_id: id,
      unique_viewers: viewers.get(id) ?? 0,
      peak_concurrent: peaks.get(id)?.peak_viewers ?? 0,
      peak_ts: peaks.get(id)?.peak_ts ?? null,
      avg_bitrate: bitrate?.bitrate ?? null,
      probes: bitrate?.samples ?? 0,
      uptime_share: known === undefined ? null : known.upMs / known.knownMs,
      up_seconds: (uptime?.upMs ?? 0) / 1000,
      known_seconds: (uptime?.knownMs ?? 0) / 1000,
      last_status: lastStatuses.get(id) ?? null,
    }
  })
}
