// A manual clock for code that takes a Clock (controller/src/alerts/clock.ts):
// time moves only when a test calls advance(), which runs the timers that
// fall due in time order.
import type { Clock } from '../controller/src/alerts/clock.ts'

interface Timer {
  id: number
  dueMs: number
  callback: () => void
}

export class FakeClock implements Clock {
  #nowMs: number
  #nextId = 1
  #timers: Timer[] = []

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#nowMs = startMs
  }

  now(): number {
    return this.#nowMs
  }

  setTimer(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.#nextId++, dueMs: this.#nowMs + Math.max(0, delayMs), callback }
    this.#timers.push(timer)
    return timer.id
  }

  clearTimer(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle)
  }

  /** Timers not run yet. */
  get pending(): number {
    return this.#timers.length
  }

  /** Moves time forward by ms, running each timer that falls due at its own time. */
  advance(ms: number): void {
    const endMs = this.#nowMs + ms
    for (;;) {
      const due = this.#timers
        .filter((timer) => timer.dueMs <= endMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0]
      if (due === undefined) break
      this.#timers = this.#timers.filter((timer) => timer !== due)
      this.#nowMs = due.dueMs
      due.callback()
    }
    this.#nowMs = endMs
  }
}
