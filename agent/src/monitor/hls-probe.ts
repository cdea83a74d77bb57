// The probe of an HLS stream without ffprobe. It loads the playlist,
// downloads the newest MPEG-TS segments that cover the sample window and
// feeds their bytes to TsReading, which gives the TR 101 290 counts and the
// same metrics as ffprobe's packet list. Anything this path does not read is
// handed back to the caller, which runs ffprobe instead: a URL that is not a
// playlist, a failed playlist load, fMP4 or byte-range segments, and video
// other than H.264.
import type { ProbeSettings } from '@monit/protocol'
import { SYNC_BYTE } from '../analysis/mpegts/packet.ts'
import { parseHlsPlaylist, type MediaPlaylist, type MediaSegment, type MasterPlaylist } from '../analysis/playlist/hls.ts'
import { httpGet } from '../analysis/playlist/http.ts'
import { DEFAULT_SAMPLE_S, DEFAULT_TIMEOUT_S, probeDeadlineMs } from '../media/ffprobe.ts'
import { getSegment } from './segment-get.ts'
import { TsReading, type TsProbeOutcome } from './ts-reading.ts'

/** Largest playlist read, bytes. */
const MAX_PLAYLIST_BYTES = 1024 * 1024
/** Largest segment read, bytes (about 64 s at 8 Mbit/s). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024

export type HlsProbeOutcome = TsProbeOutcome & {
  /** Set when the stream's format rules this path out (not a load failure), so later probes may skip it. */
  unsupported?: boolean
}

/** Returns whether a URL may lead to an HLS playlist: http(s) only. */
export function hlsProbeApplies(url: string): boolean {
  return /^https?:\/\//i.test(url)
}

/** Probes an http(s) stream as HLS with MPEG-TS segments; never rejects. */
export async function probeHlsSegments(
  url: string,
  settings: Partial<ProbeSettings> = {},
  options: { signal?: AbortSignal } = {},
): Promise<HlsProbeOutcome> {
  const started = Date.now()
  const sampleS = settings.sample_s ?? DEFAULT_SAMPLE_S
  const timeoutMs = (settings.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000
  const deadline = AbortSignal.timeout(probeDeadlineMs(settings))
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  // `evidence` replaces ffprobe's stderr in the status's error output: the URL that failed and how.
  const fail = (reason: string, retryable = true, evidence = ''): HlsProbeOutcome => ({
    handled: true,
    result: { ok: false, reason, retryable, durationMs: Date.now() - started, stderr: evidence },
  })

  const media = await loadMediaPlaylist(url, signal, timeoutMs)
  if (!media.ok && media.final) return fail(media.reason, true, media.evidence)
  if (!media.ok) return { handled: false, reason: media.reason, unsupported: media.unsupported }
  const segments = newestSegments(media.playlist, sampleS)
  if (segments.length === 0) return { handled: false, reason: 'the media playlist lists no segment' }
  if (segments.some((segment) => segment.byteRange !== undefined)) return { handled: false, reason: 'byte-range segments', unsupported: true }
  const segmentUrls = segments.map((segment) => new URL(segment.uri, media.url))
  // Segments on another scheme (file:, data:...) go to ffprobe, whose protocol whitelist rejects them with its own reason.
  const foreign = segmentUrls.find((segment) => segment.protocol !== 'http:' && segment.protocol !== 'https:')
  if (foreign !== undefined) return { handled: false, reason: `segment scheme ${foreign.protocol}`, unsupported: true }

  // NOTE: the segments are read without arrival times, so the PAT and PMT
  // timers of TR 101 290 run on the PCR. Segmenters such as ffmpeg's HLS
  // muxer write the PAT and PMT once per segment, so 2 s segments count a
  // PAT_error and a PMT_error at each segment boundary.
  const reading = new TsReading()
  for (const [index, segment] of segments.entries()) {
    const segmentUrl = segmentUrls[index]!.href
    const read = await readSegment(segmentUrl, signal, timeoutMs, reading)
    if (options.signal?.aborted) return fail('aborted', false)
    if (read === 'not-ts') return { handled: false, reason: 'segments are not MPEG-TS', unsupported: true }
    if (read !== undefined) {
      const reason = deadline.aborted ? 'timeout: no complete sample within the probe deadline' : `segment ${segment.sequence}: ${read}`
      return fail(reason, true, `${segmentUrl}: ${read}`)
    }
  }
  const outcome: HlsProbeOutcome = reading.finish(sampleS, started)
  if (!outcome.handled) outcome.unsupported = true
  return outcome
}

/**
 * A failed load ends the probe (`final`) when the source did not respond in
 * time or refused the connection, because ffprobe would wait for the same
 * timeout again. Other failures leave the probe to ffprobe.
 */
type LoadFailure = { ok: false; reason: string; unsupported?: boolean; final?: boolean; evidence?: string }
type PlaylistLoad = { ok: true; playlist: MediaPlaylist; url: string } | LoadFailure

/** Loads the playlist at `url`; for a master playlist, the media playlist of its highest-bandwidth variant. */
async function loadMediaPlaylist(url: string, signal: AbortSignal, timeoutMs: number): Promise<PlaylistLoad> {
  const first = await loadPlaylist(url, signal, timeoutMs)
  if (!first.ok || first.playlist.kind === 'media') return first as PlaylistLoad
  const variant = bestVariant(first.playlist)
  if (variant === undefined) return { ok: false, reason: 'the master playlist lists no variant' }
  const second = await loadPlaylist(new URL(variant.uri, first.url).href, signal, timeoutMs)
  if (!second.ok) return second
  if (second.playlist.kind !== 'media') return { ok: false, reason: 'a variant URI leads to another master playlist' }
  return second as PlaylistLoad
}

async function loadPlaylist(
  url: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ ok: true; playlist: MediaPlaylist | MasterPlaylist; url: string } | LoadFailure> {
  const response = await httpGet({ url, signal, timeoutMs, keepBody: true, maxBytes: MAX_PLAYLIST_BYTES })
  if (!response.ok) {
    if (response.error === 'timeout') {
      const waited = formatSeconds(timeoutMs / 1000)
      return { ok: false, reason: `timeout: no data within ${waited}`, final: true, evidence: `${url}: no data within ${waited}` }
    }
    if (response.error === 'network' && response.reason.startsWith('ECONNREFUSED')) {
      return { ok: false, reason: 'connection refused', final: true, evidence: `${url}: Connection refused (${response.reason})` }
    }
    return { ok: false, reason: response.reason }
  }
  const body = response.body ?? Buffer.alloc(0)
  if (!body.subarray(0, 16).toString('latin1').trimStart().startsWith('#EXTM3U')) {
    return { ok: false, reason: 'not an HLS playlist', unsupported: true }
  }
  try {
    return { ok: true, playlist: parseHlsPlaylist(body.toString('utf8')), url: response.url }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}

function bestVariant(master: MasterPlaylist): MasterPlaylist['variants'][number] | undefined {
  let best: MasterPlaylist['variants'][number] | undefined
  for (const variant of master.variants) {
    if (best === undefined || variant.bandwidth > best.bandwidth) best = variant
  }
  return best
}

/**
 * Returns the segments to read: for a live playlist the newest ones whose
 * EXTINF durations add up to sampleS, for a playlist with EXT-X-ENDLIST the
 * first ones. Segments marked EXT-X-GAP are skipped.
 */
export function newestSegments(playlist: MediaPlaylist, sampleS: number): MediaSegment[] {
  const available = playlist.segments.filter((segment) => !segment.gap)
  const ordered = playlist.endList ? available : [...available].reverse()
  const chosen: MediaSegment[] = []
  let seconds = 0
  for (const segment of ordered) {
    if (seconds >= sampleS) break
    chosen.push(segment)
    seconds += segment.duration
  }
  return playlist.endList ? chosen : chosen.reverse()
}

/**
 * Downloads one segment into `reading`. Returns undefined when it was read
 * whole, 'not-ts' when its first byte is not the MPEG-TS sync byte, else the
 * reason it failed.
 */
async function readSegment(url: string, signal: AbortSignal, timeoutMs: number, reading: TsReading): Promise<string | 'not-ts' | undefined> {
  let first = true
  let notTs = false
  const failure = await getSegment(url, {
    signal,
    timeoutMs,
    maxBytes: MAX_SEGMENT_BYTES,
    onChunk: (chunk) => {
      if (first && chunk.length > 0) {
        first = false
        notTs = chunk[0] !== SYNC_BYTE
        if (notTs) return false
      }
      reading.push(chunk)
      return true
    },
  })
  return notTs ? 'not-ts' : failure
}

function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds} s` : `${seconds.toFixed(1)} s`
}
