// Runs playlist analysis passes of one http(s) stream on the probe's
// cadence, beside the probe. One PlaylistAnalyser serves every pass, so its
// media playlist trackers (stale, sequence events) carry over between them.
import type { Logger } from 'pino'
import { PlaylistAnalyser, type AnalyseOptions } from '../analysis/playlist/analyser.ts'
import type { PlaylistReport } from '../analysis/playlist/report.ts'
import { PeriodicCheck } from './periodic-check.ts'
import type { StreamAssignment } from './stream-monitor.ts'

export interface PlaylistCheckOptions {
  assignment: StreamAssignment
  logger: Logger
  /** Called after each pass of a stream that serves a playlist or an MPD. */
  onReport?: (report: PlaylistReport) => void
  /** Analyser options other than streamId, logger and signal (tests shorten limits). */
  analyse?: Omit<AnalyseOptions, 'streamId' | 'logger' | 'signal'>
  random?: () => number
}

/** Returns whether playlist analysis applies to a URL: http(s) only. */
export function playlistCheckApplies(url: string): boolean {
  return /^https?:\/\//i.test(url)
}

export class PlaylistCheck {
  /** Report of the newest pass; undefined before the first one and once the URL proved no manifest. */
  latest: PlaylistReport | undefined
  /** False once a pass loaded the URL and found neither HLS nor DASH. */
  applies = true

  private readonly check: PeriodicCheck
  private readonly analyser: PlaylistAnalyser
  private readonly abort = new AbortController()
  private readonly options: PlaylistCheckOptions
  private stopped = false

  constructor(options: PlaylistCheckOptions) {
    this.options = options
    const { assignment } = options
    const logger = options.logger.child({ stream_id: assignment.stream_id, epoch: assignment.epoch })
    this.analyser = new PlaylistAnalyser(assignment.url, {
      ...options.analyse,
      streamId: assignment.stream_id,
      // The analyser puts stream_id in its own log lines.
      logger: options.logger.child({ epoch: assignment.epoch }),
      signal: this.abort.signal,
    })
    this.check = new PeriodicCheck({
      name: 'playlist',
      intervalMs: Math.max(0.01, assignment.probe.interval_s) * 1000,
      run: () => this.runPass(),
      logger,
      random: options.random,
    })
  }

  start(): void {
    this.check.start()
  }

  /** Aborts a running pass and resolves once it has ended. No callback fires after it is called. */
  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    await this.check.stop()
  }

  private async runPass(): Promise<void> {
    if (!this.applies) return
    const report = await this.analyser.pass()
    if (this.stopped) return

    if (servesNoManifest(report)) {
      // The URL serves something else, such as MPEG-TS over HTTP.
      this.applies = false
      this.latest = undefined
      this.options.logger.info(
        { stream_id: report.streamId },
        'stream URL serves neither HLS nor DASH; playlist analysis off',
      )
      return
    }
    this.latest = report
    this.options.onReport?.(report)
  }
}

/** Returns whether the URL loaded without errors but parsed as neither HLS nor DASH. */
function servesNoManifest(report: PlaylistReport): boolean {
  return !report.ok && report.format === undefined && report.requests.errors === 0 && report.requests.requests > 0
}
