// Playlist analysis of one stream without decoding: each pass reads the HLS
// playlist or DASH manifest at the stream URL, checks the chosen variants
// and their newest segments, and returns a JSON-friendly report. A pass
// never rejects, and stream faults end up in the report.
import type { Logger } from 'pino'
import { redactUrl } from '../../media/protocols.ts'
import { runDashPass } from './dash-pass.ts'
import { runHlsPass } from './hls-pass.ts'
import { requestInPass, type FetchedText, type PassContext } from './pass.ts'
import type { ManifestFormat, PlaylistReport, VariantReport } from './report.ts'
import { DEFAULT_ERROR_SHARE_ALERT, RequestCounter, type RequestCounts } from './requests.ts'
import { createLimiter, PassDeadline } from './scheduling.ts'
import type { RenditionSelection, VariantSelection } from './select.ts'
import { PlaylistTracker, type SnapshotResult, type TrackerOptions } from './tracker.ts'

export interface AnalyseOptions {
  streamId: string
  logger: Logger
  /** Variants (HLS) or video representations (DASH) to check; default highest and lowest. */
  variants?: VariantSelection
  /** Alternative renditions of the chosen variants to check too; default none. */
  renditions?: RenditionSelection
  /** Newest segments downloaded per playlist (default 1). */
  segments?: number
  /** Requests running at once within a pass (default 4). */
  concurrency?: number
  /** Fixed time limit of a pass, ms; default the target duration, at most maxPassMs. */
  passTimeoutMs?: number
  /** Upper bound of the default pass time limit, ms (default 10 000). */
  maxPassMs?: number
  /** Timeout of each request, ms; default the rest of the pass. */
  requestTimeoutMs?: number
  /** Error share (errors / requests) above which a report sets requests.alert (default 0.1). */
  errorShareAlert?: number
  /** Larger playlists fail as too large (default 5 MiB). */
  maxPlaylistBytes?: number
  /** Larger segments fail as too large (default 64 MiB). */
  maxSegmentBytes?: number
  tracker?: Omit<TrackerOptions, 'now'>
  /** Wall clock, Unix milliseconds (default Date.now). */
  now?: () => number
  /** Aborts the running pass; aborted requests are not counted. */
  signal?: AbortSignal
}

const DEFAULT_MAX_PASS_MS = 10_000
/** Media playlists tracked per stream; the least recently used beyond it are dropped. */
const MAX_TRACKED_PLAYLISTS = 64

interface TrackedPlaylist {
  tracker: PlaylistTracker
  stale: boolean
}

/** Analyses one stream pass after pass, tracking each media playlist across passes. */
export class PlaylistAnalyser {
  readonly url: string
  private readonly options: AnalyseOptions
  private readonly now: () => number
  private readonly tracked = new Map<string, TrackedPlaylist>()
  private readonly totalCounter: RequestCounter
  private alerting = false
  private lastDeadlineHit = false

  constructor(url: string, options: AnalyseOptions) {
    this.url = url
    this.options = options
    this.now = options.now ?? Date.now
    this.totalCounter = new RequestCounter(options.errorShareAlert ?? DEFAULT_ERROR_SHARE_ALERT)
  }

  /** Returns the request counts of every pass so far. */
  totals(): RequestCounts {
    return this.totalCounter.summary()
  }

  /** Returns the tracker of a media playlist URL (as the master lists it) once a pass read it. */
  trackerFor(url: string): PlaylistTracker | undefined {
    return this.tracked.get(url)?.tracker
  }

  /** Runs one pass; resolves with a report, also when the stream is down. */
  async pass(): Promise<PlaylistReport> {
    const startedAt = this.now()
    const context = this.createContext()
    const report: PlaylistReport = {
      streamId: this.options.streamId,
      url: redactUrl(this.url),
      ok: false,
      startedAt,
      elapsedMs: 0,
      budgetMs: context.deadline.budgetMs,
      deadlineHit: false,
      variants: [],
      requests: context.counter.summary(),
    }

    try {
      await this.runPass(context, report)
    } catch (error) {
      this.options.logger.error(
        { stream_id: this.options.streamId, err: error },
        'playlist analysis failed unexpectedly',
      )
      report.ok = false
      report.reason = `internal error: ${(error as Error).message}`
    } finally {
      context.deadline.dispose()
    }

    this.finishReport(context, report)
    return report
  }

  private createContext(): PassContext {
    const options = this.options
    const maxBudgetMs = options.maxPassMs ?? DEFAULT_MAX_PASS_MS
    const deadline = new PassDeadline(options.passTimeoutMs ?? maxBudgetMs, options.signal)

    return {
      streamId: options.streamId,
      log: options.logger,
      deadline,
      limit: createLimiter(options.concurrency ?? 4),
      counter: new RequestCounter(options.errorShareAlert ?? DEFAULT_ERROR_SHARE_ALERT),
      now: this.now,
      segments: Math.max(1, Math.floor(options.segments ?? 1)),
      requestTimeoutMs: options.requestTimeoutMs,
      fixedBudget: options.passTimeoutMs !== undefined,
      maxBudgetMs,
      maxPlaylistBytes: options.maxPlaylistBytes ?? 5 * 1024 * 1024,
      maxSegmentBytes: options.maxSegmentBytes ?? 64 * 1024 * 1024,
    }
  }

  private async runPass(context: PassContext, report: PlaylistReport): Promise<void> {
    const top = await this.fetchManifest(context)
    if (typeof top === 'string') {
      report.reason = top
      return
    }

    const format = detectFormat(top.text)
    if (!format) {
      report.reason = 'the URL serves neither an HLS playlist (#EXTM3U) nor a DASH MPD'
      return
    }

    report.format = format
    if (format === 'hls') await this.runHls(context, top, report)
    else await this.runDash(context, top, report)
  }

  /** Fetches the URL's manifest; a string is the reason it failed. */
  private async fetchManifest(context: PassContext): Promise<FetchedText | string> {
    let scheme: string
    try {
      scheme = new URL(this.url).protocol
    } catch {
      return 'invalid stream URL'
    }
    if (scheme !== 'http:' && scheme !== 'https:') {
      return `playlist analysis needs an http(s) URL, not ${scheme}`
    }

    const result = await requestInPass(context, { kind: 'playlist', url: this.url })
    if (!result.ok) return `manifest: ${result.reason}`

    const text = result.body?.toString('utf8') ?? ''
    return {
      requestedUrl: this.url,
      url: result.url,
      text,
      ttfbMs: result.ttfbMs,
      totalMs: result.totalMs,
      bytes: result.bytes,
    }
  }

  private async runHls(
    context: PassContext,
    top: FetchedText,
    report: PlaylistReport,
  ): Promise<void> {
    const result = await runHlsPass(context, top, {
      variants: this.options.variants ?? 'highest-lowest',
      renditions: this.options.renditions ?? 'none',
      trackerFor: (url) => this.trackedPlaylist(url).tracker,
      onSnapshot: (url, variant, snapshot) => this.logSnapshot(url, variant, snapshot),
    })
    if (!result.ok) {
      report.reason = result.reason
      return
    }

    report.ok = true
    report.kind = result.kind
    report.variants = result.variants
    report.manifest = {
      ttfbMs: top.ttfbMs,
      totalMs: top.totalMs,
      bytes: top.bytes,
      variants: result.master?.variants.length ?? 1,
      renditions: result.master?.renditions.length ?? 0,
      warnings: result.master?.warnings ?? [],
    }
  }

  private async runDash(
    context: PassContext,
    top: FetchedText,
    report: PlaylistReport,
  ): Promise<void> {
    const result = await runDashPass(context, top, {
      variants: this.options.variants ?? 'highest-lowest',
      renditions: this.options.renditions ?? 'none',
    })
    if (!result.ok) {
      report.reason = result.reason
      return
    }

    const { manifest } = result
    report.ok = true
    report.kind = 'mpd'
    report.variants = result.variants
    report.manifest = {
      ttfbMs: top.ttfbMs,
      totalMs: top.totalMs,
      bytes: top.bytes,
      variants: manifest.periods.reduce((sum, period) => sum + period.representations.length, 0),
      renditions: 0,
      type: manifest.type,
      periods: manifest.periods.length,
      warnings: manifest.warnings,
    }
  }

  /**
   * Returns the tracked playlist of a URL and creates it on first use. Only
   * the most recently used ones are kept, so URLs that change on every pass
   * (tokens in the query) cannot grow the map without bound.
   */
  private trackedPlaylist(url: string): TrackedPlaylist {
    const tracked = this.tracked.get(url) ?? {
      tracker: new PlaylistTracker({ ...this.options.tracker, now: this.now }),
      stale: false,
    }
    this.tracked.delete(url)
    this.tracked.set(url, tracked)

    for (const oldest of this.tracked.keys()) {
      if (this.tracked.size <= MAX_TRACKED_PLAYLISTS) break
      this.tracked.delete(oldest)
    }
    return tracked
  }

  /** Logs sequence events and stale changes, once per change. */
  private logSnapshot(url: string, variant: VariantReport, snapshot: SnapshotResult): void {
    const log = this.options.logger
    const fields = { stream_id: this.options.streamId, variant: variant.id, url: variant.url }
    if (snapshot.event) {
      log.warn({ ...fields, ...snapshot.event }, `media sequence ${snapshot.event.kind}`)
    }

    const tracked = this.tracked.get(url)
    if (!tracked || tracked.stale === snapshot.stale) return

    tracked.stale = snapshot.stale
    if (snapshot.stale) log.warn(fields, 'media playlist stale: no new segment for the stale limit')
    else log.info(fields, 'media playlist advancing again')
  }

  private finishReport(context: PassContext, report: PlaylistReport): void {
    report.elapsedMs = Math.round(context.deadline.elapsedMs())
    report.budgetMs = context.deadline.budgetMs
    report.deadlineHit = context.deadline.expired && !this.options.signal?.aborted
    report.requests = context.counter.summary()
    this.totalCounter.add(context.counter)

    const alert = report.requests.alert
    if (alert !== this.alerting) this.logAlert(report, alert)
    this.alerting = alert
    // Logged when a run of passes that hit the time limit starts, not on every pass.
    if (report.deadlineHit && !this.lastDeadlineHit) {
      this.options.logger.warn(
        { stream_id: report.streamId, budget_ms: report.budgetMs },
        'playlist analysis pass hit its time limit',
      )
    }
    this.lastDeadlineHit = report.deadlineHit
  }

  private logAlert(report: PlaylistReport, alert: boolean): void {
    const { errors, requests, errorShare } = report.requests
    const fields = { stream_id: report.streamId, errors, requests, error_share: errorShare }
    if (alert) {
      this.options.logger.warn(fields, 'playlist analysis error share above the alert share')
    } else {
      this.options.logger.info(fields, 'playlist analysis error share back below the alert share')
    }
  }
}

/** Runs one analysis pass with fresh trackers. */
export function analysePlaylist(url: string, options: AnalyseOptions): Promise<PlaylistReport> {
  return new PlaylistAnalyser(url, options).pass()
}

/** Tells HLS from DASH by the text itself; content types are often wrong. */
export function detectFormat(text: string): ManifestFormat | undefined {
  const start = text.replace(/^\uFEFF/, '').trimStart()
  if (start.startsWith('#EXTM3U')) return 'hls'
  if (/<MPD[\s>]/.test(start.slice(0, 4096))) return 'dash'

  return undefined
}
