// Runs one task on a fixed cadence: the first run at a random offset inside
// the interval, runs never overlapping, and a run that overran its slot
// followed at once by the next. stop() aborts a running task and waits.
import type { Logger } from 'pino'

export interface PeriodicCheckOptions {
  /** Name for logs, such as "screenshot". */
  name: string
  intervalMs: number
  /** One run; it should end soon after `signal` aborts. Errors are logged. */
  run: (signal: AbortSignal) => Promise<void>
  logger: Logger
  /** Source of the start offset inside the interval, in [0, 1) (default Math.random). */
  random?: () => number
}

export class PeriodicCheck {
  readonly name: string
  readonly intervalMs: number
  /** Runs completed, failed ones included. */
  runs = 0

  private readonly task: (signal: AbortSignal) => Promise<void>
  private readonly log: Logger
  private readonly random: () => number
  private started = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private nextDue = 0
  private current: Promise<void> | undefined
  private abort: AbortController | undefined

  constructor(options: PeriodicCheckOptions) {
    this.name = options.name
    this.intervalMs = Math.max(10, options.intervalMs)
    this.task = options.run
    this.log = options.logger
    this.random = options.random ?? Math.random
  }

  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    const fraction = Math.min(Math.max(this.random(), 0), 0.999999)
    this.nextDue = Date.now() + Math.floor(fraction * this.intervalMs)
    this.arm()
  }

  /** Cancels the timer, aborts a running task and resolves once it has ended. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.abort?.abort()
    await this.current
  }

  private arm(): void {
    if (this.stopped) return
    const delay = Math.max(0, this.nextDue - Date.now())
    this.timer = setTimeout(() => this.tick(), delay)
  }

  private tick(): void {
    this.timer = undefined
    if (this.stopped) return
    const abort = new AbortController()
    this.abort = abort
    this.current = this.task(abort.signal)
      .catch((error: unknown) => {
        this.log.error({ check: this.name, err: error }, 'check failed unexpectedly')
      })
      .finally(() => {
        this.runs++
        this.current = undefined
        this.abort = undefined
        this.scheduleNext()
      })
  }

  private scheduleNext(): void {
    if (this.stopped) return
    this.nextDue += this.intervalMs
    const now = Date.now()
    if (this.nextDue < now) this.nextDue = now
    this.arm()
  }
}
