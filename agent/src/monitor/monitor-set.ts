// The agent's monitors, one per assigned stream_id.
import type { Logger } from 'pino'
import type { MetricsRow, Perform } from '@monit/protocol'
import { killAll } from '../media/runner.ts'
import type { PlaylistReport } from '../analysis/playlist/report.ts'
import { PlaylistCheck, playlistCheckApplies, type PlaylistCheckOptions } from './playlist-check.ts'
import type { ProbeFn } from './probe.ts'
import {
  StreamMonitor,
  type CheckResults,
  type StatusUpdate,
  type StreamAssignment,
  type StreamMonitorStats,
} from './stream-monitor.ts'
import {
  StreamChecks,
  type AvCheckFn,
  type AvResult,
  type CheckDefaults,
  type GrabbedScreenshot,
  type GrabFn,
  type PageCheckFn,
  type PageResult,
} from './stream-checks.ts'

export interface MonitorSetOptions {
  logger: Logger
  onMetrics: (row: MetricsRow) => void
  onStatus: (status: StatusUpdate) => void
  /** Probe function for every monitor (tests replace it). */
  probe?: ProbeFn
  retryDelayMs?: number
  random?: () => number
  staleAfterMs?: number
  /**
   * Picture and sound results. The av and screenshot checks run only when
   * onAv or onScreenshot is given.
   */
  onAv?: (result: AvResult) => void
  onScreenshot?: (shot: GrabbedScreenshot) => void
  /** Check settings for performs that leave them out. */
  checkDefaults?: Partial<CheckDefaults>
  /** Replaces the ffmpeg runs of the checks (tests). */
  avCheck?: AvCheckFn
  grab?: GrabFn
  /** Player page checks of streams with a page_url; they run only when both are given. */
  pageCheck?: PageCheckFn
  onPage?: (result: PageResult) => void
  /** Runs playlist analysis beside the probe of http(s) streams (default false). */
  playlistChecks?: boolean
  /** Each playlist analysis report, with the epoch of its assignment. */
  onPlaylist?: (report: PlaylistReport, epoch: number) => void
  /** Analyser settings of the playlist checks (tests shorten limits). */
  playlistAnalyse?: PlaylistCheckOptions['analyse']
  /** Bit/s below which a stream is degraded as `low bitrate`, for performs without min_bitrate; default off. */
  minBitrate?: number
}

export type PerformOutcome = 'started' | 'restarted' | 'unchanged'

/** Probe counters of StreamMonitorStats, summed over monitors. */
export type ProbeTotals = Pick<StreamMonitorStats, 'runs' | 'failures' | 'retries' | 'late' | 'skipped'>

function addTotals(into: ProbeTotals, from: ProbeTotals): void {
  into.runs += from.runs
  into.failures += from.failures
  into.retries += from.retries
  into.late += from.late
  into.skipped += from.skipped
}

function sameAssignment(monitor: StreamMonitor, next: StreamAssignment): boolean {
  const a = monitor.settings
  const b = next.probe
  return (
    monitor.epoch === next.epoch &&
    monitor.url === next.url &&
    a.interval_s === b.interval_s &&
    a.sample_s === b.sample_s &&
    a.timeout_s === b.timeout_s &&
    a.av_interval_s === b.av_interval_s &&
    a.av_sample_s === b.av_sample_s &&
    a.screenshot_interval_s === b.screenshot_interval_s &&
    a.page_url === b.page_url &&
    a.page_interval_s === b.page_interval_s &&
    a.min_bitrate === b.min_bitrate
  )
}

export class MonitorSet {
  private readonly monitors = new Map<string, StreamMonitor>()
  /** The av and screenshot checks of each monitored stream, when enabled. */
  private readonly checks = new Map<string, StreamChecks>()
  /** The playlist check of each monitored http(s) stream, when enabled. */
  private readonly playlistChecks = new Map<string, PlaylistCheck>()
  /** Latest av result of each stream, which its status takes into account. */
  private readonly latestAv = new Map<string, AvResult>()
  /** Stops in progress (replaced or revoked monitors). */
  private readonly stopping = new Set<Promise<void>>()
  /** Counters of the monitors already stopped, so that probeTotals never decreases. */
  private readonly retired: ProbeTotals = { runs: 0, failures: 0, retries: 0, late: 0, skipped: 0 }
  private closed = false

  constructor(private readonly options: MonitorSetOptions) {}

  /**
   * Applies a Perform: the same stream, epoch, URL and settings again is a
   * no-op; anything else (re)starts the stream's monitor. A replaced
   * monitor is stopped first (its probe killed and reaped) so the new one
   * never shares a port or a source with it.
   */
  perform(message: Pick<Perform, 'stream_id' | 'url' | 'epoch' | 'probe'>): PerformOutcome {
    if (this.closed) return 'unchanged'
    const assignment: StreamAssignment = {
      stream_id: message.stream_id,
      url: message.url,
      epoch: message.epoch,
      probe: { ...message.probe },
    }
    const previous = this.monitors.get(assignment.stream_id)
    if (previous && sameAssignment(previous, assignment)) return 'unchanged'

    const monitor = new StreamMonitor({
      assignment,
      logger: this.options.logger,
      onMetrics: this.options.onMetrics,
      onStatus: this.options.onStatus,
      probe: this.options.probe,
      retryDelayMs: this.options.retryDelayMs,
      random: this.options.random,
      staleAfterMs: this.options.staleAfterMs,
      minBitrate: this.options.minBitrate,
      checkResults: () => this.checkResults(assignment.stream_id),
    })
    this.monitors.set(assignment.stream_id, monitor)
    const previousChecks = this.checks.get(assignment.stream_id)
    const previousPlaylist = this.playlistChecks.get(assignment.stream_id)
    this.latestAv.delete(assignment.stream_id)
    const checks = this.createChecks(assignment)
    const playlist = this.createPlaylistCheck(assignment)
    const log = { stream_id: assignment.stream_id, epoch: assignment.epoch }
    if (!previous) {
      this.options.logger.info(log, 'stream assigned')
      monitor.start()
      checks?.start()
      playlist?.start()
      return 'started'
    }
    this.options.logger.info({ ...log, previous_epoch: previous.epoch }, 'stream reassigned; restarting its monitor')
    const stops = [this.retire(previous), this.stopChecks(previousChecks), this.stopChecks(previousPlaylist)]
    Promise.all(stops).then(() => {
      if (this.closed || this.monitors.get(assignment.stream_id) !== monitor) return
      monitor.start()
      checks?.start()
      playlist?.start()
    })
    return 'restarted'
  }

  /**
   * Stops a stream's monitor. With an epoch, a revoke older than the running
   * assignment is ignored. Resolves true when a monitor was stopped, after
   * its probe process is gone.
   */
  async revoke(streamId: string, epoch?: number): Promise<boolean> {
    const monitor = this.monitors.get(streamId)
    if (!monitor) return false
    if (epoch !== undefined && epoch < monitor.epoch) {
      this.options.logger.info({ stream_id: streamId, epoch, running_epoch: monitor.epoch }, 'stale revoke ignored')
      return false
    }
    this.monitors.delete(streamId)
    const checks = this.checks.get(streamId)
    const playlist = this.playlistChecks.get(streamId)
    this.checks.delete(streamId)
    this.playlistChecks.delete(streamId)
    this.latestAv.delete(streamId)
    this.options.logger.info({ stream_id: streamId, epoch: monitor.epoch }, 'stream revoked')
    await Promise.all([this.retire(monitor), this.stopChecks(checks), this.stopChecks(playlist)])
    return true
  }

  /** Stops every monitor and resolves when no probe process is left. */
  async stopAll(): Promise<void> {
    this.closed = true
    const monitors = [...this.monitors.values()]
    const checks = [...this.checks.values(), ...this.playlistChecks.values()]
    this.monitors.clear()
    this.checks.clear()
    this.playlistChecks.clear()
    this.latestAv.clear()
    await Promise.all([...monitors.map((m) => this.retire(m)), ...checks.map((c) => this.stopChecks(c)), ...this.stopping])
    await killAll()
  }

  /** The streams this agent runs, for hello. */
  running(): Array<{ stream_id: string; epoch: number }> {
    return [...this.monitors.values()].map((m) => ({ stream_id: m.streamId, epoch: m.epoch }))
  }

  get(streamId: string): StreamMonitor | undefined {
    return this.monitors.get(streamId)
  }

  get size(): number {
    return this.monitors.size
  }

  /** Probe counters of every monitor this set has run, the stopped ones included. */
  get probeTotals(): ProbeTotals {
    const totals = { ...this.retired }
    for (const monitor of this.monitors.values()) addTotals(totals, monitor.stats)
    return totals
  }

  /** Creates the checks of one assignment in place of the stream's previous ones; returns undefined when checks are off. */
  private createChecks(assignment: StreamAssignment): StreamChecks | undefined {
    const { onAv, onScreenshot } = this.options
    if (onAv === undefined && onScreenshot === undefined) {
      this.checks.delete(assignment.stream_id)
      return undefined
    }
    const checks = new StreamChecks({
      assignment,
      defaults: this.options.checkDefaults,
      logger: this.options.logger,
      onAv: (result) => {
        this.latestAv.set(assignment.stream_id, result)
        onAv?.(result)
      },
      onScreenshot: (shot) => onScreenshot?.(shot),
      avCheck: this.options.avCheck,
      grab: this.options.grab,
      pageCheck: this.options.pageCheck,
      onPage: this.options.onPage,
      random: this.options.random,
    })
    this.checks.set(assignment.stream_id, checks)
    return checks
  }

  /** Creates the playlist check of an http(s) assignment; returns undefined when it does not apply. */
  private createPlaylistCheck(assignment: StreamAssignment): PlaylistCheck | undefined {
    this.playlistChecks.delete(assignment.stream_id)
    if (this.options.playlistChecks !== true || !playlistCheckApplies(assignment.url)) return undefined

    const check = new PlaylistCheck({
      assignment,
      logger: this.options.logger,
      onReport: (report) => this.options.onPlaylist?.(report, assignment.epoch),
      analyse: this.options.playlistAnalyse,
      random: this.options.random,
    })
    this.playlistChecks.set(assignment.stream_id, check)
    return check
  }

  private checkResults(streamId: string): CheckResults {
    return {
      playlist: this.playlistChecks.get(streamId)?.latest,
      av: this.latestAv.get(streamId),
      page: this.checks.get(streamId)?.latestPage,
    }
  }

  /** Stops checks that have left the map; stopAll waits for it. */
  private stopChecks(checks: StreamChecks | PlaylistCheck | undefined): Promise<void> {
    if (checks === undefined) return Promise.resolve()
    const stop = checks.stop()
    this.stopping.add(stop)
    return stop.finally(() => this.stopping.delete(stop))
  }

  /** Stops a monitor that has left the map and keeps its counters. */
  private retire(monitor: StreamMonitor): Promise<void> {
    // A monitor's counters stop changing once stop() is called.
    const stop = monitor.stop()
    addTotals(this.retired, monitor.stats)
    this.stopping.add(stop)
    return stop.finally(() => this.stopping.delete(stop))
  }
}
