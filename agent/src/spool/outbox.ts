import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Metrics, MetricsRow } from '@monit/protocol'

export interface OutboxOptions {
  /** Rows that seal a batch at once. */
  maxRows?: number
  /** Milliseconds after which a partial batch is sealed anyway. */
  flushMs?: number
  /** Sealed batches kept while unacknowledged; the oldest is dropped beyond this. */
  maxBatches?: number
  /** Milliseconds to wait for an ack before the batch is sent again. */
  ackTimeoutMs?: number
  /** Sends a batch; returns false when there is no connection. */
  send: (message: Metrics) => boolean
  logger: Logger
}

interface Batch {
  message: Metrics
  sentAt: number | undefined
}

/**
 * Metric rows waiting for the controller: rows are grouped into batches,
 * each with an id that the controller uses as its deduplication token, and a
 * batch stays here until the controller acknowledges that it is stored.
 */
export class Outbox {
  private rows: MetricsRow[] = []
  private firstRowAt = 0
  private readonly batches = new Map<string, Batch>()
  private readonly timer: NodeJS.Timeout
  private readonly options: Required<Omit<OutboxOptions, 'send' | 'logger'>>
  /** Batches dropped because the outbox was full. */
  dropped = 0

  constructor(private readonly config: OutboxOptions) {
    this.options = { maxRows: 200, flushMs: 2000, maxBatches: 2000, ackTimeoutMs: 30_000, ...config }
    this.timer = setInterval(() => this.pump(), Math.min(this.options.flushMs, 1000))
    this.timer.unref()
  }

  /** Batches sealed and not yet acknowledged. */
  get pendingBatches(): number {
    return this.batches.size
  }

  add(row: MetricsRow): void {
    if (this.rows.length === 0) this.firstRowAt = Date.now()
    this.rows.push(row)
    if (this.rows.length >= this.options.maxRows) this.pump()
  }

  /** Forgets a batch the controller has stored. */
  acknowledge(batchId: string): void {
    this.batches.delete(batchId)
  }

  /** Marks a batch for sending again, after the controller failed to store it. */
  retryLater(batchId: string): void {
    const batch = this.batches.get(batchId)
    if (batch !== undefined) batch.sentAt = Date.now() - this.options.ackTimeoutMs + 5000
  }

  /** Marks every batch unsent, so that all go again on the next connection. */
  connectionLost(): void {
    for (const batch of this.batches.values()) batch.sentAt = undefined
  }

  /** Seals due rows into a batch and sends what is unsent or timed out, oldest first. */
  pump(): void {
    const now = Date.now()
    if (this.rows.length > 0 && (this.rows.length >= this.options.maxRows || now - this.firstRowAt >= this.options.flushMs)) {
      this.seal()
    }
    for (const batch of this.batches.values()) {
      if (batch.sentAt !== undefined && now - batch.sentAt < this.options.ackTimeoutMs) continue
      if (!this.config.send(batch.message)) return
      batch.sentAt = now
    }
  }

  close(): void {
    clearInterval(this.timer)
  }

  private seal(): void {
    const message: Metrics = { type: 'metrics', batch_id: randomUUID(), rows: this.rows }
    this.rows = []
    this.batches.set(message.batch_id, { message, sentAt: undefined })
    while (this.batches.size > this.options.maxBatches) {
      const [oldest] = this.batches.keys()
      const rows = this.batches.get(oldest!)!.message.rows.length
      this.batches.delete(oldest!)
      this.dropped += 1
      this.config.logger.warn({ batch_id: oldest, rows, dropped_total: this.dropped }, 'outbox full; dropped the oldest batch')
    }
  }
}
