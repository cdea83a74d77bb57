// Collects the latest probe time of each assignment from metrics batches
// and stores them together once per interval, in one transaction, rather
// than two writes per stream for every batch.
import type { Logger } from 'pino'

export interface ProbeTime {
  streamId: string
  agentId: string
  epoch: number
  /** Milliseconds since the Unix epoch. */
  at: number
}

export interface ProbeTimeStore {
  recordProbes(entries: readonly ProbeTime[]): Promise<void>
}

export class ProbeTimeWriter {
  /** `stream id\nagent id\nepoch` → latest probe time not yet stored. */
  private pending = new Map<string, ProbeTime>()
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: ProbeTimeStore,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs)
    this.timer.unref()
  }

  record(entry: ProbeTime): void {
    const key = `${entry.streamId}\n${entry.agentId}\n${entry.epoch}`
    const known = this.pending.get(key)
    if (known === undefined || entry.at > known.at) this.pending.set(key, entry)
  }

  /** Stores what was collected; flushes run one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write())
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return
    const entries = [...this.pending.values()]
    this.pending = new Map()
    try {
      await this.store.recordProbes(entries)
    } catch (error) {
      // Probe times are a display aid: the next batches bring newer ones, so these are dropped.
      this.log.warn({ err: error, assignments: entries.length }, 'storing probe times failed; dropped them')
    }
  }
}
