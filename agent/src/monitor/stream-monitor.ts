// Probes one assigned stream on a fixed cadence and reports metric rows and
// status changes.
import type { Logger } from 'pino'
import type { MetricsRow, ProbeSettings, Status, StreamStatusValue } from '@monit/protocol'
import type { PlaylistReport } from '../analysis/playlist/report.ts'
import { probeStream, type ProbeFn, type ProbeResult } from './probe.ts'
import type { AvResult, PageResult } from './stream-checks.ts'
import { errorOutputTail } from './error-output.ts'
import {
  applySample,
  INITIAL_HYSTERESIS,
  nextProbeDelayMs,
  outcomeSamples,
  sampleVerdict,
  type HysteresisState,
  type ProbeOutcome,
} from './verdict.ts'

/** What the controller assigned: the fields of a Perform message. */
export interface StreamAssignment {
  stream_id: string
  url: string
  epoch: number
  probe: ProbeSettings
}

/** A status change, ready to be wrapped as a Status message. */
export type StatusUpdate = Omit<Status, 'type'>

/** Latest results of the checks beside the probe, read at each probe run. */
export interface CheckResults {
  playlist?: PlaylistReport
  av?: AvResult
  page?: PageResult
}

export interface StreamMonitorOptions {
  assignment: StreamAssignment
  logger: Logger
  onMetrics: (row: MetricsRow) => void
  onStatus: (status: StatusUpdate) => void
  /** Probe function (tests replace it); defaults to probeStream. */
  probe?: ProbeFn
  /** Wait before the one quick retry of a failed probe (default min(2 s, interval / 4)). */
  retryDelayMs?: number
  /** Source of the start offset inside the interval, in [0, 1) (default Math.random). */
  random?: () => number
  /**
   * http(s) sources (HLS, DASH) whose probe window has not moved for this
   * long are reported down as stale: a frozen live playlist still serves
   * perfectly good segments. Default 30 s; 0 turns the check off.
   */
  staleAfterMs?: number
  /** Latest playlist and av results, combined with each probe into the status. */
  checkResults?: () => CheckResults
  /** Bit/s below which a stream is degraded as `low bitrate`, unless the assignment sets min_bitrate; default off. */
  minBitrate?: number
}

export interface StreamMonitorStats {
  /** Probe runs completed (a run includes its retry). */
  runs: number
  /** Runs that ended down. */
  failures: number
  /** Retries made after a failed first attempt. */
  retries: number
  /** Runs that started late because the previous one overran its slot. */
  late: number
  /** Slots skipped entirely because a run overran more than one interval. */
  skipped: number
  status: StreamStatusValue | undefined
  reason: string | undefined
  probing: boolean
}

const MAX_REASON = 2048
export const DEFAULT_STALE_AFTER_MS = 30_000

export class StreamMonitor {
  readonly streamId: string
  readonly epoch: number
  readonly url: string
  readonly settings: ProbeSettings

  private readonly log: Logger
  private readonly onMetrics: (row: MetricsRow) => void
  private readonly onStatus: (status: StatusUpdate) => void
  private readonly probe: ProbeFn
  private readonly retryDelayMs: number
  private readonly random: () => number
  private readonly intervalMs: number
  private readonly staleAfterMs: number
  private readonly checkResults: () => CheckResults
  private readonly minBitrate: number | undefined

  private started = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private nextDue = 0
  private current: Promise<void> | undefined
  private abort: AbortController | undefined
  private status: StreamStatusValue | undefined
  private reason: string | undefined
  private hysteresis: HysteresisState = INITIAL_HYSTERESIS
  private readonly counters = { runs: 0, failures: 0, retries: 0, late: 0, skipped: 0 }
  private lastWindowStart: number | undefined
  private windowMovedAt = 0

  constructor(options: StreamMonitorOptions) {
    const { assignment } = options
    this.streamId = assignment.stream_id
    this.epoch = assignment.epoch
    this.url = assignment.url
    this.settings = { ...assignment.probe }
    this.log = options.logger
    this.onMetrics = options.onMetrics
    this.onStatus = options.onStatus
    this.probe = options.probe ?? probeStream
    // The protocol allows 1..3600 s; below 1 s is accepted for tests.
    this.intervalMs = Math.max(0.01, assignment.probe.interval_s) * 1000
    this.retryDelayMs = options.retryDelayMs ?? Math.min(2000, this.intervalMs / 4)
    this.random = options.random ?? Math.random
    this.staleAfterMs = /^https?:/i.test(assignment.url) ? (options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS) : 0
    this.checkResults = options.checkResults ?? (() => ({}))
    this.minBitrate = assignment.probe.min_bitrate ?? options.minBitrate
  }

  /** Starts probing: the first run at a random offset inside the interval. */
  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    const offset = Math.floor(Math.min(Math.max(this.random(), 0), 0.999999) * this.intervalMs)
    this.nextDue = Date.now() + offset
    this.arm()
  }

  /**
   * Cancels the timer, kills a running probe and resolves once its process
   * is reaped. No callback fires after stop() is called.
   */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.abort?.abort()
    await this.current
  }

  get stats(): StreamMonitorStats {
    return { ...this.counters, status: this.status, reason: this.reason, probing: this.current !== undefined }
  }

  private arm(): void {
    if (this.stopped) return
    const delay = Math.max(0, this.nextDue - Date.now())
    this.timer = setTimeout(() => this.tick(), delay)
  }

  private tick(): void {
    this.timer = undefined
    if (this.stopped) return
    this.current = this.run()
      .catch((error: unknown) => {
        this.log.error({ stream_id: this.streamId, err: error }, 'stream probe failed unexpectedly')
      })
      .finally(() => {
        this.current = undefined
        this.abort = undefined
        if (this.stopped) return
        // Runs never overlap: the next one is armed only now. A run that
        // overran its slot makes the next one start at once, counted late,
        // and the cadence continues from there. A stream that is not up is
        // probed faster until it recovers.
        this.nextDue += nextProbeDelayMs(this.intervalMs, this.hysteresis)
        const now = Date.now()
        if (this.nextDue < now) {
          const missed = Math.floor((now - this.nextDue) / this.intervalMs) + 1
          this.counters.late++
          this.counters.skipped += missed - 1
          this.log.debug({ stream_id: this.streamId, missed }, 'probe overran its interval; next run starts late')
          this.nextDue = now
        }
        this.arm()
      })
  }

  private async run(): Promise<void> {
    const abort = new AbortController()
    this.abort = abort
    const options = { signal: abort.signal }
    let result: ProbeResult = await this.probe(this.url, this.settings, options)
    if (this.stopped) return
    if (!result.ok && result.retryable) {
      this.counters.retries++
      this.log.debug({ stream_id: this.streamId, reason: result.reason }, 'probe failed; retrying once')
      await sleep(this.retryDelayMs, abort.signal)
      if (this.stopped) return
      result = await this.probe(this.url, this.settings, options)
      if (this.stopped) return
    }
    this.counters.runs++
    const ts = Date.now()
    if (result.ok && this.isStale(result.windowStart, ts)) {
      this.counters.failures++
      const reason = `stale: no new media for ${Math.round(this.staleAfterMs / 1000)} s`
      // The stale rule already spans staleAfterMs, so it needs no second sample.
      this.judge({ ok: false, reason, samples: 2 }, ts)
      return
    }
    if (result.ok) {
      const m = result.metrics
      this.emitMetrics({
        stream_id: this.streamId,
        epoch: this.epoch,
        ts_ms: ts,
        bitrate: m.bitrate,
        frames: m.frames,
        width: m.width,
        height: m.height,
        fps: m.fps,
        bytes: m.bytes,
        seconds: m.seconds,
        keyframe_interval: m.keyframe_interval,
        codecs: m.codecs,
        probe_duration_ms: m.probe_duration_ms,
        ...(result.ts === undefined ? {} : { ts: result.ts }),
      })
      this.judge({ ok: true, bitrate: m.bitrate, continuityErrors: result.ts?.continuity_count_error }, ts)
    } else {
      this.counters.failures++
      // A failed retry is the second bad sample; a failure that cannot be
      // retried is conclusive on its own.
      this.judge({ ok: false, reason: result.reason, samples: 2, errorOutput: result.stderr }, ts)
    }
  }

  /** Combines the probe outcome with the latest check results and reports a status change. */
  private judge(probe: ProbeOutcome, ts: number): void {
    const rules = { minBitrate: this.minBitrate }
    const verdict = sampleVerdict({ probe, ...this.checkResults() }, rules)
    this.hysteresis = applySample(this.hysteresis, verdict, outcomeSamples(probe), rules)
    const current = this.hysteresis.current
    if (current) this.setStatus(current.status, current.reason, ts, current.evidence)
  }

  /** Whether the window start has stayed the same for staleAfterMs (http(s) only). */
  private isStale(start: number | undefined, now: number): boolean {
    if (this.staleAfterMs <= 0 || start === undefined) return false
    if (this.lastWindowStart === undefined || Math.abs(start - this.lastWindowStart) > 0.0005) {
      this.lastWindowStart = start
      this.windowMovedAt = now
      return false
    }
    return now - this.windowMovedAt >= this.staleAfterMs
  }

  private emitMetrics(row: MetricsRow): void {
    try {
      this.onMetrics(row)
    } catch (error) {
      this.log.error({ stream_id: this.streamId, err: error }, 'metrics callback threw')
    }
  }

  /** Reports a status change, with the bounded and redacted evidence of the sample that made it. */
  private setStatus(status: StreamStatusValue, reason: string, ts: number, evidence?: string): void {
    const text = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason
    if (status === this.status && text === this.reason) return
    const previous = this.status
    this.status = status
    this.reason = text
    const fields = { stream_id: this.streamId, epoch: this.epoch, status, previous: previous ?? null, reason: text }
    if (status === 'up') this.log.info(fields, previous === undefined ? 'stream up' : `stream ${previous} -> up`)
    else this.log.warn(fields, previous === undefined ? `stream ${status}` : `stream ${previous} -> ${status}`)
    try {
      const errorOutput = errorOutputTail(evidence)
      const update: StatusUpdate = { stream_id: this.streamId, epoch: this.epoch, status, reason: text, ts_ms: ts }
      if (errorOutput !== undefined) update.error_output = errorOutput
      this.onStatus(update)
    } catch (error) {
      this.log.error({ stream_id: this.streamId, err: error }, 'status callback threw')
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
