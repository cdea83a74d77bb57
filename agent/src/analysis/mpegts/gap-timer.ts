// Counts the gaps in which something that must repeat (a PAT, a PMT, the
// packets of a PID) stayed away longer than a limit. A gap counts once when
// it starts to exceed the limit, however long it lasts. After a new
// measurement window starts, a gap that is still open counts once more, so
// every window in which the table or PID is missing reports it.

export class GapTimer {
  /** Time of the last occurrence, or of the start of the watch. */
  private lastMs: number | undefined
  private counted = false

  /**
   * `startMs` is undefined while no clock is known yet, and the first check
   * then starts the watch.
   */
  constructor(
    readonly limitMs: number,
    startMs: number | undefined,
  ) {
    this.lastMs = startMs
  }

  /**
   * Records an occurrence at `nowMs` and returns true when the gap that it
   * ends was longer than the limit and not counted yet.
   */
  occur(nowMs: number | undefined): boolean {
    const late = nowMs !== undefined && this.check(nowMs)
    if (nowMs !== undefined) this.lastMs = nowMs
    this.counted = false
    return late
  }

  /** Returns true when the current gap has just grown longer than the limit. */
  check(nowMs: number): boolean {
    if (this.lastMs === undefined) {
      this.lastMs = nowMs
      return false
    }

    if (this.counted || nowMs - this.lastMs <= this.limitMs) return false
    this.counted = true
    return true
  }

  /** Lets a gap that is still open count again in the next window. */
  rearm(): void {
    this.counted = false
  }
}
