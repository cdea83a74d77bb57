// One probe of one stream: a sample window of packets turned into metrics by
// the pure metrics module. HLS with MPEG-TS segments (hls-probe.ts) and UDP
// and SRT MPEG-TS (live-ts-probe.ts) are read by the agent itself, which also
// gives the TR 101 290 counts. Every other stream, and any of those that the
// demuxer cannot read, goes to ffprobe through the media module.
import type { ProbeSettings, TsSummary } from '@monit/protocol'
import { probePackets } from '../media/ffprobe.ts'
import { hlsProbeApplies, probeHlsSegments } from './hls-probe.ts'
import { liveTsProbeApplies, probeLiveTs } from './live-ts-probe.ts'
import { withSource } from '../media/source-lock.ts'
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
      /** MPEG-TS analysis of the bytes read, when the agent read them itself. */
      ts?: TsSummary
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

/** A set of strings whose entries expire after ttlMs; beyond maxSize the oldest entry goes. */
class ExpiringSet {
  private readonly expiries = new Map<string, number>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
  ) {}

  has(key: string): boolean {
    const expiry = this.expiries.get(key)
    if (expiry === undefined) return false
    if (expiry > Date.now()) return true
    this.expiries.delete(key)
    return false
  }

  add(key: string): void {
    this.expiries.delete(key)
    this.expiries.set(key, Date.now() + this.ttlMs)
    if (this.expiries.size > this.maxSize) this.expiries.delete(this.expiries.keys().next().value!)
  }
}

/**
 * URLs whose format the agent's own TS reading cannot handle (not a
 * playlist, fMP4 segments, video other than H.264), so that their probes go
 * straight to ffprobe instead of reading the stream twice. Entries expire,
 * because a URL may start serving another format.
 */
const ffprobeOnly = new ExpiringSet(10 * 60_000, 10_000)

/** Probes one stream; never rejects (failures resolve with ok = false and a reason). */
export function probeStream(url: string, settings: Partial<ProbeSettings> = {}, options: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  return withSource(url, () => probeOnce(url, settings, options))
}

async function probeOnce(url: string, settings: Partial<ProbeSettings>, options: { signal?: AbortSignal }): Promise<ProbeResult> {
  if (hlsProbeApplies(url) && !ffprobeOnly.has(url)) {
    const outcome = await probeHlsSegments(url, settings, options)
    if (outcome.handled) return outcome.result
    if (outcome.unsupported) ffprobeOnly.add(url)
  }
  if (liveTsProbeApplies(url) && !ffprobeOnly.has(url)) {
    const outcome = await probeLiveTs(url, settings, options)
    if (outcome.handled) return outcome.result
    // The demuxer read the stream but not its video, so the next probes go
    // straight to ffprobe instead of reading a window twice.
    ffprobeOnly.add(url)
  }
  return probeWithFfprobe(url, settings, options)
}

/** Probes one stream with one ffprobe run; never rejects. */
export async function probeWithFfprobe(
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

