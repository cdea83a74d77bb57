// The agent's monitors, one per assigned stream_id.
import type { Logger } from 'pino'
import type { MetricsRow, Perform } from '@monit/protocol'
import { killAll } from '../media/runner.ts'
import type { ProbeFn } from './probe.ts'
import { StreamMonitor, type StatusUpdate, type StreamAssignment } from './stream-monitor.ts'

export interface MonitorSetOptions {
  logger: Logger
  onMetrics: (row: MetricsRow) => void
  onStatus: (status: StatusUpdate) => void
  /** Probe function for every monitor (tests replace it). */
  probe?: ProbeFn
  retryDelayMs?: number
  random?: () => number
  staleAfterMs?: number
}

export type PerformOutcome = 'started' | 'restarted' | 'unchanged'

function sameAssignment(monitor: StreamMonitor, next: StreamAssignment): boolean {
  const a = monitor.settings
  const b = next.probe
  return (
    monitor.epoch === next.epoch &&
    monitor.url === next.url &&
    a.interval_s === b.interval_s &&
    a.sample_s === b.sample_s &&
    a.timeout_s === b.timeout_s
  )
}

export class MonitorSet {
  private readonly monitors = new Map<string, StreamMonitor>()
  /** Stops in progress (replaced or revoked monitors). */
  private readonly stopping = new Set<Promise<void>>()
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
    })
    this.monitors.set(assignment.stream_id, monitor)
    const log = { stream_id: assignment.stream_id, epoch: assignment.epoch }
    if (!previous) {
      this.options.logger.info(log, 'stream assigned')
      monitor.start()
      return 'started'
    }
    this.options.logger.info({ ...log, previous_epoch: previous.epoch }, 'stream reassigned; restarting its monitor')
    this.track(previous.stop()).then(() => {
      if (!this.closed && this.monitors.get(assignment.stream_id) === monitor) monitor.start()
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
    this.options.logger.info({ stream_id: streamId, epoch: monitor.epoch }, 'stream revoked')
    await this.track(monitor.stop())
    return true
  }

  /** Stops every monitor and resolves when no probe process is left. */
  async stopAll(): Promise<void> {
    this.closed = true
    const monitors = [...this.monitors.values()]
    this.monitors.clear()
    await Promise.all([...monitors.map((m) => m.stop()), ...this.stopping])
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

  private track(stop: Promise<void>): Promise<void> {
    this.stopping.add(stop)
    return stop.finally(() => this.stopping.delete(stop))
  }
}
