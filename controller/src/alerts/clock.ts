// The time source of the alert engine and the delivery retries, so that tests
// can replace it with a manual clock.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Calls callback once after delayMs; the handle cancels it. */
  setTimer(callback: () => void, delayMs: number): unknown
  clearTimer(handle: unknown): void
}

/** setTimeout's maximum delay, about 24.8 days; a longer delay is cut to it. */
const MAX_TIMEOUT_MS = 2_147_483_647

/** The process clock. Its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMEOUT_MS))
    timer.unref()
    return timer
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

/** Resolves after delayMs on the clock, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clock.clearTimer(handle)
      reject(signal?.reason)
    }
    const handle = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, delayMs)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
