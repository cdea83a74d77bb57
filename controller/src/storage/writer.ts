// Batched, retrying writers, one per table. Rows go out in the order they
// came in, each batch under one token kept across its retries, so a batch
// whose first insert did land (but timed out) is not stored twice.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { StorageError } from './errors.ts'
import { TABLES, type Storage, type StorageRow, type TableName } from './types.ts'

export interface WriterOptions {
  logger: Logger
  /** add(): an insert is started as soon as this many rows wait. Default 1000. */
  maxRows?: number
  /** add(): rows wait at most this long before an insert is started. Default 1000 ms. */
  flushMs?: number
  /** Rows held in memory (waiting, in flight or being retried) before add() and write() refuse more. Default 100000. */
  maxBufferedRows?: number
  /** First retry delay; it doubles per attempt up to retryMaxMs, and a random 0-50 % is taken off. Default 100 ms. */
  retryInitialMs?: number
  /** Longest retry delay. Default 30000 ms. */
  retryMaxMs?: number
  /** close() gives up retrying after this long and reports the rows it could not store. Default 30000 ms. */
  closeTimeoutMs?: number
}

/** The in-memory bound is reached: answer 503 / not_ready and let the sender retry later. */
export class BufferFullError extends Error {
  override readonly name = 'BufferFullError'
  readonly code = 'buffer_full' as const
  constructor(
    readonly table: TableName,
    readonly rows: number,
    readonly bufferedRows: number,
    readonly maxBufferedRows: number,
  ) {
    super(`${table} writer is full: ${bufferedRows} of ${maxBufferedRows} rows buffered, ${rows} more refused`)
  }
}

/** The writer is closed, or closed before these rows could be stored. */
export class WriterClosedError extends Error {
  override readonly name = 'WriterClosedError'
  readonly code = 'writer_closed' as const
  constructor(
    readonly table: TableName,
    message: string,
  ) {
    super(`${table} writer: ${message}`)
  }
}

interface Batch {
  readonly rows: readonly StorageRow[]
  readonly token: string
  /** Resolves once the batch is stored or given up; never rejects. */
  readonly done: Promise<void>
  /** Only for write(): its caller's promise. */
  readonly result?: Promise<void>
  settle(error: Error | undefined): void
}

function makeBatch(rows: readonly StorageRow[], token: string, withResult: boolean): Batch {
  let markDone!: () => void
  const done = new Promise<void>((resolve) => (markDone = resolve))
  let resolveResult: (() => void) | undefined
  let rejectResult: ((error: Error) => void) | undefined
  const result = withResult
    ? new Promise<void>((resolve, reject) => {
        resolveResult = resolve
        rejectResult = reject
      })
    : undefined
  return {
    rows,
    token,
    done,
    result,
    settle(error) {
      if (error) rejectResult?.(error)
      else resolveResult?.()
      markDone()
    },
  }
}

export class BatchWriter {
  readonly table: TableName
  readonly maxRows: number
  readonly flushMs: number
  readonly maxBufferedRows: number

  // Counters, plain fields for the metrics endpoint.
  /** Rows stored. */
  rowsWritten = 0
  /** Rows given up: refused by the database as invalid, or still unstored when close() timed out. */
  rowsFailed = 0
  /** Rows sent again after a failed attempt (counted per attempt). */
  rowsRetried = 0
  /** Rows refused by add()/write() because the buffer was full. */
  rowsRejected = 0
  /** Inserts that succeeded. */
  batchesWritten = 0
  /** Inserts given up. */
  batchesFailed = 0
  /** Failed attempts that were retried. */
  retries = 0
  /** Duration of the last successful insert, ms. */
  lastWriteLatencyMs = 0
  /** Date.now() of the last successful insert; 0 before the first. */
  lastWriteAt = 0
  /** Message of the last failed attempt, for a status page. */
  lastError: string | undefined

  readonly #storage: Pick<Storage, 'insert'>
  readonly #logger: Logger
  readonly #retryInitialMs: number
  readonly #retryMaxMs: number
  readonly #closeTimeoutMs: number
  /** add() rows not yet in a batch. */
  #open: StorageRow[] = []
  #timer: NodeJS.Timeout | undefined
  /** Batches in order; the first one is being inserted. */
  readonly #queue: Batch[] = []
  #queuedRows = 0
  /** write() batches still queued, by token, so a resent batch joins the first. */
  readonly #pendingWrites = new Map<string, Batch>()
  #pumping = false
  #closed = false
  #closing: Promise<void> | undefined
  #aborted = false
  #droppedOnClose = 0
  #wake: (() => void) | undefined
  #warnedFull = false

  constructor(storage: Pick<Storage, 'insert'>, table: TableName, options: WriterOptions) {
    this.table = table
    if (!TABLES.includes(table)) throw new Error(`unknown table ${JSON.stringify(table)}`)
    this.maxRows = positive(options.maxRows ?? 1000, 'maxRows')
    this.flushMs = positive(options.flushMs ?? 1000, 'flushMs')
    this.maxBufferedRows = positive(options.maxBufferedRows ?? 100_000, 'maxBufferedRows')
    this.#retryInitialMs = positive(options.retryInitialMs ?? 100, 'retryInitialMs')
    this.#retryMaxMs = Math.max(this.#retryInitialMs, options.retryMaxMs ?? 30_000)
    this.#closeTimeoutMs = Math.max(0, options.closeTimeoutMs ?? 30_000)
    this.#storage = storage
    this.#logger = options.logger.child({ component: 'writer', table })
  }

  /** Rows held: waiting for a batch, queued, in flight or being retried. */
  get bufferedRows(): number {
    return this.#open.length + this.#queuedRows
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Buffers rows; an insert starts when maxRows wait or flushMs after the
   * first. Rows without insert_ts get the current time. Returns false,
   * taking none of them, when they would not fit under maxBufferedRows.
   * Throws WriterClosedError after close().
   */
  add(rows: readonly StorageRow[]): boolean {
    if (this.#closed) throw new WriterClosedError(this.table, 'closed; rows refused')
    if (rows.length === 0) return true
    if (!this.#admit(rows.length)) return false
    const now = Date.now()
    for (const row of rows) this.#open.push(stamped(row, now))
    while (this.#open.length >= this.maxRows) this.#enqueue(this.#open.splice(0, this.maxRows), randomUUID(), false)
    if (this.#open.length === 0) {
      this.#clearTimer()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#sealOpen()
      }, this.flushMs)
    }
    return true
  }

  /**
   * Inserts rows as one batch under the caller's token (e.g. an agent's
   * batch_id), after the rows added before. Resolves once stored; rejects
   * with BufferFullError at once when full, with a non-retryable
   * StorageError when the database refuses the rows, or with
   * WriterClosedError. Resending a token whose batch is still queued returns
   * that batch's promise.
   */
  write(rows: readonly StorageRow[], token: string): Promise<void> {
    if (this.#closed) return Promise.reject(new WriterClosedError(this.table, 'closed; rows refused'))
    if (typeof token !== 'string' || token === '') return Promise.reject(new TypeError('write() needs a non-empty token'))
    const pending = this.#pendingWrites.get(token)
    if (pending?.result) return pending.result
    if (rows.length === 0) return Promise.resolve()
    if (!this.#admit(rows.length)) {
      return Promise.reject(new BufferFullError(this.table, rows.length, this.bufferedRows, this.maxBufferedRows))
    }
    this.#sealOpen()
    const now = Date.now()
    const batch = this.#enqueue(rows.map((row) => stamped(row, now)), token, true)
    return batch.result as Promise<void>
  }

  /** Starts inserting the rows add() holds and resolves when everything buffered now is stored or given up. */
  async flush(): Promise<void> {
    this.#sealOpen()
    await this.#queue.at(-1)?.done
  }

  /**
   * Refuses new rows, stores what is buffered and resolves. If the database
   * is still failing after closeTimeoutMs, stops retrying and rejects with
   * WriterClosedError naming the rows left unstored (write() callers get the
   * same error). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    const drained = this.flush()
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#closeTimeoutMs))),
    ])
    clearTimeout(timer)
    if (timedOut) {
      this.#aborted = true
      this.#wake?.()
      await drained
    }
    if (this.#droppedOnClose > 0) {
      throw new WriterClosedError(this.table, `closed after ${this.#closeTimeoutMs} ms with ${this.#droppedOnClose} rows not stored`)
    }
  }

  #admit(rows: number): boolean {
    if (this.bufferedRows + rows <= this.maxBufferedRows) {
      // A new warning only after the buffer got back below half full.
      if (this.bufferedRows + rows <= this.maxBufferedRows / 2) this.#warnedFull = false
      return true
    }
    this.rowsRejected += rows
    if (!this.#warnedFull) {
      this.#warnedFull = true
      this.#logger.warn({ rows, bufferedRows: this.bufferedRows, maxBufferedRows: this.maxBufferedRows }, 'writer buffer full; refusing rows')
    }
    return false
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #sealOpen(): void {
    this.#clearTimer()
    while (this.#open.length > 0) this.#enqueue(this.#open.splice(0, this.maxRows), randomUUID(), false)
  }

  #enqueue(rows: readonly StorageRow[], token: string, withResult: boolean): Batch {
    const batch = makeBatch(rows, token, withResult)
    this.#queue.push(batch)
    this.#queuedRows += rows.length
    if (withResult) this.#pendingWrites.set(token, batch)
    void this.#pump()
    return batch
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      for (let batch = this.#queue[0]; batch !== undefined; batch = this.#queue[0]) {
        const error = await this.#store(batch)
        this.#queue.shift()
        this.#queuedRows -= batch.rows.length
        if (this.#pendingWrites.get(batch.token) === batch) this.#pendingWrites.delete(batch.token)
        batch.settle(error)
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Inserts one batch, retrying while the failure is retryable. Returns the error it gave up on. */
  async #store(batch: Batch): Promise<Error | undefined> {
    const rows = batch.rows.length
    for (let attempt = 1; ; attempt++) {
      if (this.#aborted) return this.#giveUpOnClose(batch)
      const started = performance.now()
      try {
        await this.#storage.insert(this.table, batch.rows, batch.token)
        this.lastWriteLatencyMs = performance.now() - started
        this.lastWriteAt = Date.now()
        this.rowsWritten += rows
        this.batchesWritten += 1
        if (attempt > 1) this.#logger.info({ rows, attempts: attempt, token: batch.token }, 'batch stored after retries')
        return undefined
      } catch (caught) {
        const error = caught instanceof Error ? caught : new Error(String(caught))
        this.lastError = error.message
        // Anything that is not a StorageError (a custom storage) is unknown: retry it.
        if (error instanceof StorageError && !error.retryable) {
          this.rowsFailed += rows
          this.batchesFailed += 1
          this.#logger.error({ rows, token: batch.token, err: error }, 'batch refused by the database; dropped')
          return error
        }
        if (this.#aborted) return this.#giveUpOnClose(batch)
        const delayMs = this.#backoff(attempt)
        this.retries += 1
        this.rowsRetried += rows
        this.#logger.warn({ rows, attempt, delayMs, token: batch.token, err: error.message }, 'insert failed; retrying')
        await this.#sleep(delayMs)
      }
    }
  }

  #giveUpOnClose(batch: Batch): Error {
    const rows = batch.rows.length
    this.rowsFailed += rows
    this.batchesFailed += 1
    this.#droppedOnClose += rows
    this.#logger.error({ rows, token: batch.token, lastError: this.lastError }, 'writer closed before the batch could be stored; rows lost')
    return new WriterClosedError(this.table, `closed before ${rows} rows could be stored (last error: ${this.lastError ?? 'none'})`)
  }

  /** Exponential, capped, with up to half of it taken off at random so that writers do not retry in step. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#retryMaxMs, this.#retryInitialMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      const writer = this
      function done() {
        clearTimeout(timer)
        writer.#wake = undefined
        resolve()
      }
      this.#wake = done
    })
  }
}

/** A row without insert_ts gets the time it was handed over, not the time of a later retry. */
function stamped(row: StorageRow, now: number): StorageRow {
  return row.insert_ts === undefined ? { ...row, insert_ts: now } : row
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${value})`)
  return value
}

export type Writers = Record<TableName, BatchWriter>

/** One writer per table, sharing the options. */
export function createWriters(storage: Pick<Storage, 'insert'>, options: WriterOptions): Writers {
  return Object.fromEntries(TABLES.map((table) => [table, new BatchWriter(storage, table, options)])) as Writers
}

/** Closes every writer; rejects with the first error after all have finished. */
export async function closeWriters(writers: Writers): Promise<void> {
  const results = await Promise.allSettled(Object.values(writers).map((writer) => writer.close()))
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failed) throw failed.reason
}
