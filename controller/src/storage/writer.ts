// Batched, retrying writers, one per table. Each batch goes out under one
// token kept across its retries, so a batch whose first insert did land (but
// timed out) is not stored twice. Batches start in the order their rows came
// in. Up to `concurrency` of them are in flight at once, so the next batch
// is serialized while the database parses the one before, and they may
// finish out of order.
//
// With a spill (spill.ts), batches that do not fit in memory, and every
// batch while ClickHouse fails, are written to disk and replayed in queue
// order, under the same token. A write() batch counts as accepted once it
// is durable: stored, or in a spill file that is fsync'd. The hub
// acknowledges an agent's batch at that point, so agents drain during an
// outage. NOTE: a spilled batch that ClickHouse later rejects as invalid is
// dropped and logged, although its sender already got an acknowledgement.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { StorageError } from './errors.ts'
import { SpillCorruptError, type Spill, type SpilledBatch } from './spill.ts'
import { TABLES, type InsertOptions, type Storage, type StorageRow, type TableName } from './types.ts'

export interface WriterOptions {
  logger: Logger
  /** add(): an insert is started as soon as this many rows wait. Default 1000. */
  maxRows?: number
  /** add(): rows wait at most this long before an insert is started. Default 1000 ms. */
  flushMs?: number
  /**
   * Rows held in memory (waiting, in flight or being retried). Past it,
   * batches go to the spill, or add() and write() reject rows when there is
   * no spill or it is full. Default 100000.
   */
  maxBufferedRows?: number
  /** First retry delay; it doubles per attempt up to retryMaxMs, and a random 0-50 % is taken off. Default 100 ms. */
  retryInitialMs?: number
  /** Maximum retry delay. Default 30000 ms. */
  retryMaxMs?: number
  /**
   * close() gives up retrying after this long. Without a spill it reports
   * the rows it could not store, and with one it leaves them in the spill.
   * Default 30000 ms.
   */
  closeTimeoutMs?: number
  /** Disk spill for batches past maxBufferedRows or while inserts fail; its files are replayed first. */
  spill?: Spill
  /** Inserts in flight at once while inserts succeed; one while they fail. Default 2. */
  concurrency?: number
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
  /** Queue position; spill files are named after it so that a replay keeps the order. */
  readonly seq: number
  readonly rowCount: number
  /** Empty for a batch found in the spill at start, until its file is read. */
  token: string
  /** True when the rows may be stored already: the batch was resent, or found in the spill at start. */
  mayBeStored: boolean
  /** The rows while they are held in memory; undefined once the batch is on disk. */
  rows: readonly StorageRow[] | undefined
  /** The batch's spill file, once written. */
  file: SpilledBatch | undefined
  /** The spill write in progress. */
  spilling: Promise<void> | undefined
  /** Resolves once the batch is stored, given up or left in the spill; never rejects. */
  readonly done: Promise<void>
  /** Only for write(): its caller's promise. */
  readonly result?: Promise<void>
  /** Resolves the caller's promise early: the rows are durable in the spill. */
  accept(): void
  settle(error: Error | undefined): void
}

function makeBatch(seq: number, rows: readonly StorageRow[], token: string, withResult: boolean, mayBeStored = false): Batch {
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
    seq,
    rowCount: rows.length,
    token,
    mayBeStored,
    rows,
    file: undefined,
    spilling: undefined,
    done,
    result,
    accept() {
      resolveResult?.()
    },
    settle(error) {
      // After accept() the promise is resolved already and the rejection is a no-op.
      if (error) rejectResult?.(error)
      else resolveResult?.()
      markDone()
    },
  }
}

/**
 * Makes the queue entry of a batch found in the spill at start; only its
 * file is known until its insert reads it. The process that wrote the file
 * may have stored the batch before it stopped.
 */
function spilledBatch(file: SpilledBatch): Batch {
  const batch = makeBatch(file.seq, [], '', false, true)
  return { ...batch, rowCount: file.rows, rows: undefined, file }
}

/** Result of storing one batch: stored, refused by the database, left in the spill by close(), or lost. */
type Outcome =
  | { kind: 'stored' }
  | { kind: 'refused'; error: Error }
  | { kind: 'kept' }
  | { kind: 'lost'; error: Error }

export class BatchWriter {
  readonly table: TableName
  readonly maxRows: number
  readonly flushMs: number
  readonly maxBufferedRows: number
  readonly concurrency: number

  // Counters, plain fields for the metrics endpoint.
  /** Rows stored. */
  rowsWritten = 0
  /** Rows given up: refused by the database as invalid, unreadable in the spill, or still unstored when close() timed out. */
  rowsFailed = 0
  /** Rows sent again after a failed attempt (counted per attempt). */
  rowsRetried = 0
  /** Rows refused by add()/write() because the buffer (and the spill) was full. */
  rowsRejected = 0
  /** Rows written to the spill. */
  rowsSpilled = 0
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
  readonly #spill: Spill | undefined
  /** add() rows not yet in a batch. */
  #open: StorageRow[] = []
  #timer: NodeJS.Timeout | undefined
  /** Batches in order; the first #inFlight of them are being inserted. */
  readonly #queue: Batch[] = []
  /** Batches being inserted. They are always the head of the queue, because batches start in queue order. */
  #inFlight = 0
  /** Rows of queued batches that are held in memory. */
  #memoryRows = 0
  /** Queued batches on disk or being written there; while there are any, new batches follow them. */
  #diskBatches = 0
  #diskRows = 0
  #nextSeq: number
  /** Spill writes run one after another, in queue order. */
  #spillWrites: Promise<void> = Promise.resolve()
  /** True from a failed insert until the next one succeeds. */
  #failing = false
  /** Called when inserts start failing, while close() waits. */
  #onFailing: (() => void) | undefined
  /** write() batches still queued, by token, so a resent batch joins the first. */
  readonly #pendingWrites = new Map<string, Batch>()
  #closed = false
  #closing: Promise<void> | undefined
  #aborted = false
  #droppedOnClose = 0
  #keptOnClose = 0
  /** Ends the retry delays being waited out, for close(). */
  readonly #wakers = new Set<() => void>()
  #warnedFull = false

  constructor(storage: Pick<Storage, 'insert'>, table: TableName, options: WriterOptions) {
    this.table = table
    if (!TABLES.includes(table)) throw new Error(`unknown table ${JSON.stringify(table)}`)
    this.maxRows = positive(options.maxRows ?? 1000, 'maxRows')
    this.flushMs = positive(options.flushMs ?? 1000, 'flushMs')
    this.maxBufferedRows = positive(options.maxBufferedRows ?? 100_000, 'maxBufferedRows')
    this.concurrency = Math.floor(positive(options.concurrency ?? 2, 'concurrency'))
    this.#retryInitialMs = positive(options.retryInitialMs ?? 100, 'retryInitialMs')
    this.#retryMaxMs = Math.max(this.#retryInitialMs, options.retryMaxMs ?? 30_000)
    this.#closeTimeoutMs = Math.max(0, options.closeTimeoutMs ?? 30_000)
    this.#storage = storage
    this.#logger = options.logger.child({ component: 'writer', table })
    this.#spill = options.spill
    this.#nextSeq = (this.#spill?.lastSeq(table) ?? 0) + 1
    this.#queueSpilledBatches()
  }

  /** Rows held in memory: waiting for a batch, queued, in flight or being retried. */
  get bufferedRows(): number {
    return this.#open.length + this.#memoryRows
  }

  /** Rows queued in spill files, including the ones found at start. */
  get spilledRows(): number {
    return this.#diskRows
  }

  /** Batches queued in spill files, including the ones found at start. */
  get spilledBatches(): number {
    return this.#diskBatches
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Buffers rows; an insert starts when maxRows wait or flushMs after the
   * first. Rows without insert_ts get the current time. Returns false,
   * taking none of them, when they fit neither under maxBufferedRows nor in
   * the spill. Throws WriterClosedError after close().
   */
  add(rows: readonly StorageRow[]): boolean {
    if (this.#closed) throw new WriterClosedError(this.table, 'closed; rows rejected')
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
   * batch_id), after the rows added before. Resolves once the rows are
   * durable: stored, or written to the spill. Rejects with BufferFullError
   * at once when memory and spill are full, with a non-retryable
   * StorageError when the database refuses rows not yet spilled, or with
   * WriterClosedError. Resending a token whose batch is still queued returns
   * that batch's promise. With `mayBeStored` (a batch sent again by its
   * sender), a server that cannot deduplicate by token is asked first.
   */
  write(rows: readonly StorageRow[], token: string, options: InsertOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new WriterClosedError(this.table, 'closed; rows rejected'))
    if (typeof token !== 'string' || token === '') return Promise.reject(new TypeError('write() needs a non-empty token'))
    const pending = this.#pendingWrites.get(token)
    if (pending?.result) return pending.result
    if (rows.length === 0) return Promise.resolve()
    if (!this.#admit(rows.length)) {
      return Promise.reject(new BufferFullError(this.table, rows.length, this.bufferedRows, this.maxBufferedRows))
    }
    this.#sealOpen()
    const now = Date.now()
    const batch = this.#enqueue(rows.map((row) => stamped(row, now)), token, true, options.mayBeStored === true)
    return batch.result as Promise<void>
  }

  /** Starts inserting the rows add() holds and resolves when everything buffered now is stored or given up. */
  async flush(): Promise<void> {
    this.#sealOpen()
    await Promise.all(this.#queue.map((batch) => batch.done))
  }

  /**
   * Refuses new rows, stores what is buffered and resolves. If the database
   * is still failing after closeTimeoutMs, stops retrying. With a spill the
   * rows left are written to it for the next start; while inserts are
   * failing that happens at once, without waiting. Rows that could not be
   * kept make close() reject with WriterClosedError naming them (write()
   * callers get the same error). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    const drained = this.flush()
    let stop = await this.#waitForDrain(drained, this.#spill !== undefined)
    if (stop && this.#spill !== undefined) {
      await this.#spillQueued('writer closing')
      // Rows that did not fit in the spill get the whole closeTimeoutMs to be stored.
      if (this.#queue.some((batch) => batch.file === undefined)) stop = await this.#waitForDrain(drained, false)
    }
    if (stop) {
      this.#aborted = true
      for (const wake of this.#wakers) wake()
      await drained
    }
    if (this.#keptOnClose > 0) {
      this.#logger.warn({ batches: this.#diskBatches, rows: this.#diskRows }, 'writer closed; rows left in the spill for the next start')
    }
    if (this.#droppedOnClose > 0) {
      const reason = this.#spill === undefined ? '' : ' and not in the spill'
      throw new WriterClosedError(this.table, `closed after ${this.#closeTimeoutMs} ms with ${this.#droppedOnClose} rows not stored${reason}`)
    }
  }

  /**
   * Resolves false once `drained` resolves, or true to stop retrying: after
   * closeTimeoutMs, or with `untilFailing` as soon as inserts fail.
   */
  async #waitForDrain(drained: Promise<void>, untilFailing: boolean): Promise<boolean> {
    if (untilFailing && this.#failing) return true
    let timer: NodeJS.Timeout | undefined
    const waits = [
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#closeTimeoutMs))),
    ]
    if (untilFailing) waits.push(new Promise<boolean>((resolve) => (this.#onFailing = () => resolve(true))))
    const stop = await Promise.race(waits)
    clearTimeout(timer)
    this.#onFailing = undefined
    return stop
  }

  /** Puts the batches found in the spill at the head of the queue, so they are stored before new rows. */
  #queueSpilledBatches(): void {
    const found = this.#spill?.found(this.table) ?? []
    for (const file of found) {
      this.#queue.push(spilledBatch(file))
      this.#diskBatches += 1
      this.#diskRows += file.rows
    }
    if (found.length > 0) this.#startInserts()
  }

  #admit(rows: number): boolean {
    const fitsInMemory = this.bufferedRows + rows <= this.maxBufferedRows
    const spillHasRoom = this.#spill !== undefined && !this.#spill.full
    if (fitsInMemory || spillHasRoom) {
      // A new warning only after the buffer got back below half full.
      if (this.bufferedRows + rows <= this.maxBufferedRows / 2 && this.#spill?.full !== true) this.#warnedFull = false
      return true
    }
    this.rowsRejected += rows
    if (!this.#warnedFull) {
      this.#warnedFull = true
      const spill = this.#spill === undefined ? {} : { spillBytes: this.#spill.bytes, maxSpillBytes: this.#spill.maxBytes }
      this.#logger.warn(
        { rows, bufferedRows: this.bufferedRows, maxBufferedRows: this.maxBufferedRows, ...spill },
        'writer buffer full; refusing rows',
      )
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

  #enqueue(rows: readonly StorageRow[], token: string, withResult: boolean, mayBeStored = false): Batch {
    const batch = makeBatch(this.#nextSeq++, rows, token, withResult, mayBeStored)
    this.#queue.push(batch)
    this.#memoryRows += rows.length
    if (withResult) this.#pendingWrites.set(token, batch)

    const reason = this.#spillReason()
    if (reason !== undefined) this.#spillBatch(batch, reason)
    this.#startInserts()
    return batch
  }

  /** Returns the reason a new batch goes to disk, or undefined to keep it in memory. */
  #spillReason(): string | undefined {
    if (this.#spill === undefined) return undefined
    if (this.#failing) return 'inserts failing'
    if (this.#diskBatches > 0) return 'earlier batches are spilled'
    if (this.bufferedRows > this.maxBufferedRows) return 'memory buffer full'
    return undefined
  }

  /** Writes every batch still held only in memory to the spill, in queue order, and waits for the writes. */
  async #spillQueued(reason: string): Promise<void> {
    for (const batch of this.#queue) this.#spillBatch(batch, reason)
    await this.#spillWrites
  }

  /**
   * Queues a spill write for one batch. Once the file is durable the rows
   * leave memory and a write() caller's promise resolves. When the spill is
   * full or the write fails, the batch stays in memory.
   */
  #spillBatch(batch: Batch, reason: string): void {
    const spill = this.#spill
    const rows = batch.rows
    if (spill === undefined || rows === undefined || batch.file !== undefined || batch.spilling !== undefined) return
    // Reserved now, so that add() and write() see a full spill before the write ends.
    const prepared = spill.prepare(this.table, batch.seq, batch.token, rows)
    if (prepared === undefined) return

    if (this.#diskBatches === 0) {
      this.#logger.warn({ reason, spillBytes: spill.bytes, maxSpillBytes: spill.maxBytes }, 'spilling batches to disk')
    }
    this.#diskBatches += 1
    batch.spilling = this.#spillWrites.then(async () => {
      const file = await spill.commit(prepared)
      batch.spilling = undefined
      if (file === undefined) {
        this.#diskBatches -= 1
        return
      }
      batch.file = file
      batch.rows = undefined
      this.#memoryRows -= batch.rowCount
      this.#diskRows += batch.rowCount
      this.rowsSpilled += batch.rowCount
      batch.accept()
    })
    this.#spillWrites = batch.spilling
  }

  /** Starts inserting queued batches, in queue order, up to the number allowed in flight. */
  #startInserts(): void {
    const limit = this.#failing ? 1 : this.concurrency
    while (this.#inFlight < limit && this.#inFlight < this.#queue.length) {
      const batch = this.#queue[this.#inFlight]!
      this.#inFlight += 1
      void this.#insertBatch(batch)
    }
  }

  /** Stores one batch, takes it off the queue and settles its promises; never rejects. */
  async #insertBatch(batch: Batch): Promise<void> {
    let outcome: Outcome
    try {
      outcome = await this.#store(batch)
      await batch.spilling
      if (outcome.kind !== 'kept') await this.#forgetFile(batch)
    } catch (caught) {
      // Only the spill's own file handling gets here; the batch is given up like a refused one.
      const error = caught instanceof Error ? caught : new Error(String(caught))
      this.#logger.error({ seq: batch.seq, token: batch.token, err: error }, 'batch failed in the spill')
      outcome = { kind: 'refused', error }
    }
    this.#queue.splice(this.#queue.indexOf(batch), 1)
    this.#inFlight -= 1
    if (batch.rows !== undefined) this.#memoryRows -= batch.rowCount
    if (this.#pendingWrites.get(batch.token) === batch) this.#pendingWrites.delete(batch.token)
    batch.settle(outcome.kind === 'refused' || outcome.kind === 'lost' ? outcome.error : undefined)
    this.#startInserts()
  }

  /** Deletes a finished batch's spill file, if it has one. */
  async #forgetFile(batch: Batch): Promise<void> {
    const file = batch.file
    if (file === undefined) return
    batch.file = undefined
    this.#diskBatches -= 1
    this.#diskRows -= file.rows
    try {
      await this.#spill?.remove(file)
    } catch (error) {
      // The rows are stored: a replay of this file at the next start is deduplicated by its token.
      this.#logger.warn({ path: file.path, err: error }, 'deleting a replayed spill file failed')
    }
    if (this.#diskBatches === 0) this.#logger.info({ rowsSpilled: this.rowsSpilled }, 'spill drained')
  }

  /** Inserts one batch, retrying while the failure is retryable. */
  async #store(batch: Batch): Promise<Outcome> {
    const count = batch.rowCount
    let rows = batch.rows
    for (let attempt = 1; ; attempt++) {
      if (this.#aborted) return this.#stopOnClose(batch)
      const started = performance.now()
      try {
        rows ??= await this.#load(batch)
        // A failed attempt may have stored the rows all the same (a timeout after the server took them).
        await this.#storage.insert(this.table, rows, batch.token, { mayBeStored: batch.mayBeStored || attempt > 1 })
        this.#stored(count, performance.now() - started)
        if (attempt > 1) this.#logger.info({ rows: count, attempts: attempt, token: batch.token }, 'batch stored after retries')
        return { kind: 'stored' }
      } catch (caught) {
        const error = caught instanceof Error ? caught : new Error(String(caught))
        if (error instanceof SpillCorruptError) return this.#setAside(batch, error)
        this.lastError = error.message
        // Anything that is not a StorageError (a custom storage) is unknown: retry it.
        if (error instanceof StorageError && !error.retryable) {
          this.rowsFailed += count
          this.batchesFailed += 1
          this.#logger.error({ rows: count, token: batch.token, err: error }, 'batch rejected by the database; dropped')
          return { kind: 'refused', error }
        }
        if (this.#aborted) return this.#stopOnClose(batch)
        this.#startFailing()
        const delayMs = this.#backoff(attempt)
        this.retries += 1
        this.rowsRetried += count
        this.#logger.warn({ rows: count, attempt, delayMs, token: batch.token, err: error.message }, 'insert failed; retrying')
        await this.#sleep(delayMs)
      }
    }
  }

  #stored(rows: number, latencyMs: number): void {
    this.lastWriteLatencyMs = latencyMs
    this.lastWriteAt = Date.now()
    this.rowsWritten += rows
    this.batchesWritten += 1
    if (this.#failing) this.#logger.info({ spilledBatches: this.#diskBatches }, 'inserts succeed again')
    this.#failing = false
  }

  /** From the first failed insert on, every queued batch goes to the spill, and new ones too. */
  #startFailing(): void {
    if (this.#failing) return
    this.#failing = true
    if (this.#spill !== undefined) void this.#spillQueued('inserts failing')
    this.#onFailing?.()
  }

  /** Reads a spilled batch's rows and token. */
  async #load(batch: Batch): Promise<readonly StorageRow[]> {
    const content = await this.#spill!.read(batch.file!)
    batch.token = content.token
    this.#logger.debug({ rows: content.rows.length, token: content.token }, 'replaying a spilled batch')
    return content.rows
  }

  /** Gives up a spill file that cannot be read; the file is renamed, not deleted. */
  async #setAside(batch: Batch, error: SpillCorruptError): Promise<Outcome> {
    const file = batch.file!
    batch.file = undefined
    this.#diskBatches -= 1
    this.#diskRows -= file.rows
    this.rowsFailed += file.rows
    this.batchesFailed += 1
    await this.#spill!.quarantine(file, error)
    return { kind: 'refused', error }
  }

  /** On close after the timeout: a batch in the spill stays there, any other is lost. */
  async #stopOnClose(batch: Batch): Promise<Outcome> {
    await batch.spilling
    if (batch.file !== undefined) {
      this.#keptOnClose += batch.rowCount
      return { kind: 'kept' }
    }
    return { kind: 'lost', error: this.#giveUpOnClose(batch) }
  }

  #giveUpOnClose(batch: Batch): Error {
    const rows = batch.rowCount
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
      const wake = () => {
        clearTimeout(timer)
        this.#wakers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.#wakers.add(wake)
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
