// One probe of one stream: a sample window of packets from ffprobe (through
// the media module) turned into metrics by the pure metrics module.
import type { ProbeSettings } from '@monit/protocol'
import { probePackets } from '../media/ffprobe.ts'
import { computeMetrics, windowStart, type StreamMetrics } from './metrics.ts'

export type ProbeResult =
  | {
      ok: true
      metrics: StreamMetrics
      /** Packets read in the window. */
      packets: number
      /** Timestamp of the window's first packet (see windowStart). */
      windowStart?: number
      durationMs: number
      /** Set when ffprobe ended with an error after packets had arrived. */
      warning?: string
    }
  | {
      ok: false
      reason: string
      /** False for failures a quick retry cannot fix (unsupported URL, missing ffprobe, abort). */
      retryable: boolean
      durationMs: number
      stderr: string
    }

export type ProbeFn = (url: string, settings: Partial<ProbeSettings>, options: { signal?: AbortSignal }) => Promise<ProbeResult>

/** Probes one stream; never rejects (failures resolve with ok = false and a reason). */
export async function probeStream(
  url: string,
  settings: Partial<ProbeSettings> = {},
  options: { signal?: AbortSignal } = {},
): Promise<ProbeResult> {
  const read = await probePackets(url, settings, options)
  if (!read.ok) return read
  const metrics = computeMetrics({ packets: read.packets, streams: read.streams, probeDurationMs: read.durationMs })
  const result: ProbeResult = { ok: true, metrics, packets: read.packets.length, durationMs: read.durationMs }
  const start = windowStart(read.packets)
  if (start !== undefined) result.windowStart = start
  if (read.warning) result.warning = read.warning
  return result
}
