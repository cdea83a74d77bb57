// The analyzer's time base, in milliseconds. With arrival times from the
// caller (the wall clock when each chunk was received) it follows them.
// Without them it follows the PCR of the first PID that carries one: the
// clock starts at 0 on that PID's first PCR and advances by the difference
// between consecutive PCRs. Until then no time is known and no timeout can
// fire.
//
// NOTE: the PCR clock stays on its first PID. If that PID stops while others
// go on, time stops and no timeout fires, so callers that have a wall
// clock should pass arrival times.

import { PCR_TICKS_PER_MS, pcrDelta } from './packet.ts'

export const CLOCK_SOURCE = {
  /** No time yet: no chunk came with a time and no PCR has been seen. */
  none: 'none',
  /** Arrival times passed to push(). */
  arrival: 'arrival',
  /** PCR values of the first PID that carried one. */
  pcr: 'pcr',
} as const

export type ClockSource = (typeof CLOCK_SOURCE)[keyof typeof CLOCK_SOURCE]

/**
 * Largest PCR step taken as elapsed time. A longer step, or a step back, is
 * taken as a discontinuity of the encoder's clock and advances nothing.
 * NOTE: 10 s is a guess. It is far above the 100 ms maximum PCR interval of
 * ISO/IEC 13818-1, so an outage of a few seconds still counts as elapsed time.
 */
export const MAX_PCR_STEP_MS = 10_000

/** Returns the step between two PCRs in ms, or undefined when it is no usable step. */
export function pcrStepMs(previous: number, next: number): number | undefined {
  const stepMs = pcrDelta(previous, next) / PCR_TICKS_PER_MS
  return stepMs <= MAX_PCR_STEP_MS ? stepMs : undefined
}

export class StreamClock {
  private mode: ClockSource = CLOCK_SOURCE.none
  private currentMs: number | undefined
  private pcrPid: number | undefined
  private lastPcr: number | undefined

  get source(): ClockSource {
    return this.currentMs === undefined ? CLOCK_SOURCE.none : this.mode
  }

  /** Current time, or undefined before the clock has started. */
  get nowMs(): number | undefined {
    return this.currentMs
  }

  /**
   * Takes the arrival time of a chunk. The first chunk decides the source
   * for good: with a time the clock follows arrival times, and without one
   * it follows the PCR. Returns true when the time advanced.
   */
  arrive(atMs: number | undefined): boolean {
    if (this.mode === CLOCK_SOURCE.none) {
      this.mode = atMs === undefined ? CLOCK_SOURCE.pcr : CLOCK_SOURCE.arrival
    }
    if (this.mode !== CLOCK_SOURCE.arrival) return false
    if (atMs === undefined || !Number.isFinite(atMs)) return false

    // Arrival times that go back (a wall clock set back) hold the clock still.
    if (this.currentMs !== undefined && atMs <= this.currentMs) return false
    this.currentMs = atMs
    return true
  }

  /** Takes a PCR from `pid`. Returns true when the time advanced. */
  pcr(pid: number, pcr: number, discontinuity: boolean): boolean {
    if (this.mode !== CLOCK_SOURCE.pcr) return false
    this.pcrPid ??= pid
    if (pid !== this.pcrPid) return false

    const previous = this.lastPcr
    this.lastPcr = pcr
    if (previous === undefined) {
      this.currentMs = 0
      return true
    }

    const stepMs = discontinuity ? undefined : pcrStepMs(previous, pcr)
    if (stepMs === undefined || stepMs === 0 || this.currentMs === undefined) return false
    this.currentMs += stepMs
    return true
  }
}
