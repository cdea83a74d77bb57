// One pass over an HLS stream: the chosen variants and renditions of a
// master playlist (or the one media playlist the URL serves), each tracked
// across passes, with its newest segments downloaded.
//
// NOTE: initialization sections (EXT-X-MAP) and encryption keys (EXT-X-KEY)
// are not downloaded, so a missing one goes unnoticed here.
import { redactUrl } from '../../media/protocols.ts'
import {
  parseHlsPlaylist,
  parseMediaPlaylist,
  type HlsPlaylist,
  type MasterPlaylist,
  type MediaPlaylist,
  type Rendition,
  type Variant,
} from './hls.ts'
import {
  boundPassBy,
  downloadSegment,
  requestInPass,
  resolveHttpUrl,
  type FetchedText,
  type PassContext,
} from './pass.ts'
import {
  round,
  summariseSegments,
  type MediaPlaylistReport,
  type SegmentReport,
  type TrackingReport,
  type VariantReport,
} from './report.ts'
import {
  selectRenditions,
  selectVariants,
  type RenditionSelection,
  type VariantSelection,
} from './select.ts'
import type { PlaylistTracker, SnapshotResult } from './tracker.ts'

export interface HlsPassOptions {
  variants: VariantSelection
  renditions: RenditionSelection
  /** The tracker for a media playlist URL, created on first use. */
  trackerFor: (url: string) => PlaylistTracker
  /** Called with each snapshot's result, e.g. to log events. */
  onSnapshot: (url: string, variant: VariantReport, result: SnapshotResult) => void
}

export type HlsPassResult =
  | { ok: true; kind: 'master' | 'media'; master?: MasterPlaylist; variants: VariantReport[] }
  | { ok: false; reason: string }

interface MediaTarget {
  report: VariantReport
  url: string
  /** Set when the stream URL serves the media playlist itself, so it is not fetched twice. */
  fetched?: FetchedText
}

/** Checks the chosen media playlists of an HLS stream whose top playlist is `top`. */
export async function runHlsPass(
  context: PassContext,
  top: FetchedText,
  options: HlsPassOptions,
): Promise<HlsPassResult> {
  let parsed: HlsPlaylist
  try {
    parsed = parseHlsPlaylist(top.text)
  } catch (error) {
    return { ok: false, reason: `invalid HLS playlist: ${(error as Error).message}` }
  }

  const targets =
    parsed.kind === 'master' ? masterTargets(parsed, top.url, options) : [mediaTarget(top)]
  const variants = await Promise.all(
    targets.map((target) => checkMediaPlaylist(context, target, options)),
  )

  if (parsed.kind === 'master') return { ok: true, kind: 'master', master: parsed, variants }
  return { ok: true, kind: 'media', variants }
}

function mediaTarget(top: FetchedText): MediaTarget {
  const report: VariantReport = {
    id: 'media',
    role: 'variant',
    url: redactUrl(top.requestedUrl),
    available: false,
    segments: [],
  }
  // Tracked under the requested URL, which stays the same when redirects vary.
  return { report, url: top.requestedUrl, fetched: top }
}

function masterTargets(
  master: MasterPlaylist,
  baseUrl: string,
  options: HlsPassOptions,
): MediaTarget[] {
  const variants = selectVariants(master, options.variants)
  const renditions = selectRenditions(master, variants, options.renditions)

  return [
    ...variants.map((variant) => target(variantReport(master, variant), variant.uri, baseUrl)),
    ...renditions.map((rendition) =>
      target(renditionReport(rendition), rendition.uri ?? '', baseUrl),
    ),
  ]
}

function target(report: VariantReport, uri: string, baseUrl: string): MediaTarget {
  const url = resolveHttpUrl(uri, baseUrl)
  report.url = redactUrl(url ?? uri)
  if (!url) report.reason = `playlist URI "${uri}" is not an http(s) URL`

  return { report, url: url ?? '' }
}

function variantReport(master: MasterPlaylist, variant: Variant): VariantReport {
  const report: VariantReport = {
    id: `variant-${master.variants.indexOf(variant)}`,
    role: 'variant',
    url: variant.uri,
    bandwidth: variant.bandwidth,
    available: false,
    segments: [],
  }
  if (variant.resolution) {
    report.resolution = `${variant.resolution.width}x${variant.resolution.height}`
  }
  if (variant.codecs.length > 0) report.codecs = variant.codecs.join(',')
  return report
}

function renditionReport(rendition: Rendition): VariantReport {
  const roles = {
    AUDIO: 'audio',
    VIDEO: 'video',
    SUBTITLES: 'subtitles',
    'CLOSED-CAPTIONS': 'subtitles',
  } as const
  const role = roles[rendition.type]
  const report: VariantReport = {
    id: `${role}-${rendition.groupId}-${rendition.name}`,
    role,
    url: rendition.uri ?? '',
    name: rendition.name,
    available: false,
    segments: [],
  }
  if (rendition.language) report.language = rendition.language
  return report
}

async function checkMediaPlaylist(
  context: PassContext,
  target: MediaTarget,
  options: HlsPassOptions,
): Promise<VariantReport> {
  const { report } = target
  if (report.reason) return report

  const fetched = target.fetched ?? (await fetchPlaylist(context, target.url))
  if (typeof fetched === 'string') return unavailable(report, fetched)

  let playlist: MediaPlaylist
  try {
    playlist = parseMediaPlaylist(fetched.text)
  } catch (error) {
    return unavailable(report, `invalid media playlist: ${(error as Error).message}`)
  }

  boundPassBy(context, playlist.targetDuration)
  report.available = true
  report.playlist = playlistReport(playlist, fetched)
  report.tracking = track(context, target, playlist, options)

  report.segments = await downloadNewest(context, playlist, fetched.url)
  summariseSegments(report)
  return report
}

/** Fetches a media playlist; a string is the reason it failed. */
async function fetchPlaylist(context: PassContext, url: string): Promise<FetchedText | string> {
  const result = await requestInPass(context, { kind: 'playlist', url })
  if (!result.ok) return `media playlist: ${result.reason}`

  const text = result.body?.toString('utf8') ?? ''
  return {
    requestedUrl: url,
    url: result.url,
    text,
    ttfbMs: result.ttfbMs,
    totalMs: result.totalMs,
    bytes: result.bytes,
  }
}

function unavailable(report: VariantReport, reason: string): VariantReport {
  report.available = false
  report.reason = reason
  return report
}

function playlistReport(playlist: MediaPlaylist, fetched: FetchedText): MediaPlaylistReport {
  const listDuration = playlist.segments.reduce((sum, segment) => sum + segment.duration, 0)
  return {
    ttfbMs: fetched.ttfbMs,
    totalMs: fetched.totalMs,
    bytes: fetched.bytes,
    targetDuration: playlist.targetDuration,
    mediaSequence: playlist.mediaSequence,
    discontinuitySequence: playlist.discontinuitySequence,
    segmentCount: playlist.segments.length,
    listDuration: round(listDuration, 3),
    endList: playlist.endList,
    warnings: playlist.warnings,
  }
}

function track(
  context: PassContext,
  target: MediaTarget,
  playlist: MediaPlaylist,
  options: HlsPassOptions,
): TrackingReport {
  const tracker = options.trackerFor(target.url)
  const fetchedAt = context.now()
  const result = tracker.update(playlist, fetchedAt)
  options.onSnapshot(target.url, target.report, result)

  const tracking: TrackingReport = {
    advanced: result.advanced,
    stale: result.stale,
    newSegments: result.newSegments,
    missedSegments: result.missedSegments,
    discontinuities: result.discontinuities,
    durationViolations: result.durationViolations.length,
    timestampJumps: result.timestampJumps.length,
    changedSegments: result.changedSegments,
    state: tracker.state(fetchedAt),
  }
  if (result.event) tracking.event = result.event
  return tracking
}

/** Downloads the newest segments that are not marked EXT-X-GAP. */
function downloadNewest(
  context: PassContext,
  playlist: MediaPlaylist,
  playlistUrl: string,
): Promise<SegmentReport[]> {
  const newest = playlist.segments.filter((segment) => !segment.gap).slice(-context.segments)

  return Promise.all(
    newest.map((segment) => {
      const url = resolveHttpUrl(segment.uri, playlistUrl)
      if (!url) {
        const reason = `segment URI "${segment.uri}" is not an http(s) URL`
        const report: SegmentReport = {
          sequence: segment.sequence,
          url: segment.uri,
          duration: segment.duration,
          available: false,
          reason,
        }
        return report
      }

      const range = segment.byteRange
      return downloadSegment(context, {
        url,
        sequence: segment.sequence,
        duration: segment.duration,
        ...(range ? { range } : {}),
      })
    }),
  )
}
