// The JSON-friendly report of one analysis pass, and the pure steps that
// turn timings into its figures.
import type { RequestCounts } from './requests.ts'
import type { SequenceEvent, TrackerState } from './tracker.ts'

export const PLAYLIST_ROLES = ['variant', 'audio', 'video', 'subtitles', 'representation'] as const
/** Kind of a checked playlist: an HLS variant or rendition, or a DASH representation. */
export type PlaylistRole = (typeof PLAYLIST_ROLES)[number]

export const MANIFEST_FORMATS = ['hls', 'dash'] as const
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number]

export interface SegmentReport {
  /** HLS media sequence number or DASH $Number$. */
  sequence: number
  url: string
  /** Seconds, from EXTINF or the DASH template. */
  duration: number
  available: boolean
  status?: number
  reason?: string
  bytes?: number
  /** Time until the response headers arrived, ms. */
  ttfbMs?: number
  /** Time until the last byte arrived, ms. */
  totalMs?: number
  /** totalMs / duration: above 1 the segment downloads slower than it plays. */
  downloadRatio?: number
  /** bytes * 8 / total seconds of the download, bit/s. */
  throughput?: number
}

/** The fetched media playlist (HLS) or the representation's template facts (DASH). */
export interface MediaPlaylistReport {
  ttfbMs?: number
  totalMs?: number
  bytes?: number
  targetDuration: number
  mediaSequence: number
  discontinuitySequence: number
  segmentCount: number
  /** Sum of the listed segment durations, seconds. */
  listDuration: number
  endList: boolean
  warnings: string[]
}

/** Changes found by this pass's snapshot, with the tracker's cumulative state. */
export interface TrackingReport {
  advanced: boolean
  stale: boolean
  newSegments: number
  missedSegments: number
  discontinuities: number
  durationViolations: number
  timestampJumps: number
  changedSegments: number
  event?: SequenceEvent
  state: TrackerState
}

export interface VariantReport {
  /** Stable within a manifest: `variant-N`, `audio-GROUP-NAME` or the DASH representation id. */
  id: string
  role: PlaylistRole
  url: string
  bandwidth?: number
  /** WIDTHxHEIGHT. */
  resolution?: string
  codecs?: string
  name?: string
  language?: string
  /** The playlist loaded and at least one checked segment downloaded. */
  available: boolean
  reason?: string
  playlist?: MediaPlaylistReport
  tracking?: TrackingReport
  segments: SegmentReport[]
  /** Highest downloadRatio of the segments. */
  maxDownloadRatio?: number
}

export interface PlaylistReport {
  streamId: string
  url: string
  format?: ManifestFormat
  /** Kind of manifest at the URL: an HLS master or media playlist, or a DASH MPD. */
  kind?: 'master' | 'media' | 'mpd'
  /** The manifest at the URL loaded and parsed. */
  ok: boolean
  reason?: string
  /** Unix milliseconds. */
  startedAt: number
  elapsedMs: number
  /** Time limit of the pass, ms. */
  budgetMs: number
  deadlineHit: boolean
  manifest?: ManifestSummary
  variants: VariantReport[]
  requests: RequestCounts
}

export interface ManifestSummary {
  ttfbMs: number
  totalMs: number
  bytes: number
  /** Variants (HLS) or representations (DASH) listed. */
  variants: number
  /** Alternative renditions listed (HLS). */
  renditions: number
  /** DASH presentation type. */
  type?: 'static' | 'dynamic'
  periods?: number
  warnings: string[]
}

/** Adds downloadRatio and throughput to a downloaded segment's report. */
export function withDownloadFigures(segment: SegmentReport): SegmentReport {
  const { totalMs, bytes, duration } = segment
  if (totalMs === undefined) return segment

  const result = { ...segment }
  if (duration > 0) result.downloadRatio = round(totalMs / (duration * 1000), 3)
  if (bytes !== undefined && totalMs > 0) {
    result.throughput = Math.round((bytes * 8) / (totalMs / 1000))
  }
  return result
}

/** Sets available, reason and maxDownloadRatio of a variant from its segments. */
export function summariseSegments(variant: VariantReport): void {
  const ratios = variant.segments.flatMap((segment) =>
    segment.downloadRatio === undefined ? [] : [segment.downloadRatio],
  )
  if (ratios.length > 0) variant.maxDownloadRatio = Math.max(...ratios)

  if (variant.segments.length === 0 || variant.segments.some((segment) => segment.available)) return

  variant.available = false
  const failed = variant.segments.at(-1)!
  variant.reason = `segment ${failed.url}: ${failed.reason ?? 'not available'}`
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
