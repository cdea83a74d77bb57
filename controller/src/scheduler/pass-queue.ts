// Debounces and coalesces scheduling triggers into passes that run one at
// a time. Triggers that arrive within the debounce window, or while a pass
// runs, are merged into the one next pass.
import type { Logger } from 'pino'

/** Scope of the next pass: every stream, or only the listed ones. */
export interface PassRequest {
  full: boolean
  /** Read every stream from the store again, rather than using the ones kept in memory. */
  reload: boolean
  streams: ReadonlySet<string>
}

export class PassQueue {
  private full = false
  private reload = false
  private streams = new Set<string>()
  /** Resolvers of the callers waiting for the next pass to finish. */
  private waiters: Array<() => void> = []
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stopped = false

  constructor(
    private readonly debounceMs: number,
    private readonly run: (request: PassRequest) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /**
   * Adds a trigger and resolves once a pass that includes it has finished,
   * whether that pass succeeded or not (its failure is logged).
   */
  request(trigger: { full: boolean; reload?: boolean; streams: readonly string[] }): Promise<void> {
    if (this.stopped) return Promise.resolve()
    if (trigger.full) this.full = true
    if (trigger.reload === true) this.reload = true
    for (const id of trigger.streams) this.streams.add(id)
    const done = new Promise<void>((resolve) => this.waiters.push(resolve))
    this.schedule()
    return done
  }

  /** Drops pending triggers and releases their callers; a pass in progress finishes. */
  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.release(this.waiters)
    this.waiters = []
  }

  private schedule(): void {
    if (this.running || this.timer !== undefined || this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.drain()
    }, this.debounceMs)
  }

  private async drain(): Promise<void> {
    this.running = true
    const request: PassRequest = { full: this.full, reload: this.reload, streams: this.streams }
    const waiters = this.waiters
    this.full = false
    this.reload = false
    this.streams = new Set()
    this.waiters = []
    try {
      await this.run(request)
    } catch (error) {
      this.log.error({ err: error, full: request.full, streams: request.streams.size }, 'scheduling pass failed; retrying on the next change')
    } finally {
      this.running = false
      this.release(waiters)
    }
    // Triggers that came during the pass make exactly one more, after the debounce window.
    if (this.waiters.length > 0) this.schedule()
  }

  private release(waiters: ReadonlyArray<() => void>): void {
    for (const resolve of waiters) resolve()
  }
}
