// A concurrency limit for the requests of one pass, and the deadline that
// bounds the pass.

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>

/** Runs at most `concurrency` tasks at once; the others wait in call order. */
export function createLimiter(concurrency: number): Limiter {
  const slots = Math.max(1, Math.floor(concurrency))
  const waiting: Array<() => void> = []
  let running = 0

  const release = () => {
    running--
    waiting.shift()?.()
  }

  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    try {
      return await task()
    } finally {
      release()
    }
  }
}

/** Abort reason of the requests that the pass deadline stops. */
export class PassDeadlineError extends Error {
  override name = 'TimeoutError'
}

/**
 * Aborts `signal` when the pass has run for `budgetMs`. The budget can only
 * shrink, once the target duration is known.
 */
export class PassDeadline {
  private readonly controller = new AbortController()
  private readonly startedAt = performance.now()
  private timer: NodeJS.Timeout | undefined
  private budget: number
  private readonly onParentAbort: () => void

  constructor(
    budgetMs: number,
    private readonly parent?: AbortSignal,
  ) {
    this.budget = budgetMs
    this.schedule()

    this.onParentAbort = () => this.controller.abort(parent?.reason)
    if (parent?.aborted) this.onParentAbort()
    parent?.addEventListener('abort', this.onParentAbort, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get budgetMs(): number {
    return this.budget
  }

  get expired(): boolean {
    return this.controller.signal.aborted
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt
  }

  /** Lowers the budget to `budgetMs` if that is lower, and aborts at once if it has run out. */
  shrinkTo(budgetMs: number): void {
    if (budgetMs >= this.budget) return

    this.budget = budgetMs
    this.schedule()
  }

  /** Stops the timer; call when the pass ends. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.parent?.removeEventListener('abort', this.onParentAbort)
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer)

    const remaining = Math.max(0, this.budget - this.elapsedMs())
    this.timer = setTimeout(() => {
      this.controller.abort(
        new PassDeadlineError(`pass time limit of ${Math.round(this.budget)} ms reached`),
      )
    }, remaining)
    this.timer.unref()
  }
}
