// Refreshes the stored last-seen time of the agents connected to this
// controller in one batch per interval, rather than one write per heartbeat.
import type { Logger } from 'pino'

export interface PresenceStore {
  /** Sets last_seen_at of these agents; returns how many rows changed. */
  touchAgents(ids: readonly string[], at?: number): Promise<number>
}

export class PresenceWriter {
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> | undefined
  private failures = 0

  constructor(
    private readonly store: PresenceStore,
    /** Returns the ids of the agents connected here now. */
    private readonly connected: () => string[],
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs)
    this.timer.unref()
  }

  /** Writes the last-seen time of every connected agent now; a flush in progress is awaited instead. */
  flush(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing
    this.flushing = this.write().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.flushing
  }

  private async write(): Promise<void> {
    const ids = this.connected()
    if (ids.length === 0) return
    try {
      await this.store.touchAgents(ids, Date.now())
      if (this.failures > 0) this.log.info({ agents: ids.length, failures: this.failures }, 'recording agent last-seen times works again')
      this.failures = 0
    } catch (error) {
      // Logged on the first failure and every 10th after it, so a database outage does not flood the log.
      if (this.failures % 10 === 0) this.log.warn({ err: error, agents: ids.length, failures: this.failures + 1 }, 'recording agent last-seen times failed')
      this.failures += 1
    }
  }
}
