/** Exponential reconnect delays with random jitter and a cap. */
export class Backoff {
  private attempt = 0

  constructor(
    private readonly initialMs = 500,
    private readonly maxMs = 30_000,
    /** Share of the delay added or taken away at random, so that agents spread out. */
    private readonly jitter = 0.3,
    private readonly random: () => number = Math.random,
  ) {}

  /** Returns the delay before the next attempt and counts the attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt)
    this.attempt += 1
    const spread = 1 + this.jitter * (2 * this.random() - 1)
    return Math.round(Math.min(this.maxMs, base) * spread)
  }

  reset(): void {
    this.attempt = 0
  }
}
