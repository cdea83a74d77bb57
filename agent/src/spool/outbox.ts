import { randomUUID } from 'node:crypto'
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { decodeAgentMessage, encodeMessage, type Metrics, type MetricsRow, type Status } from '@monit/protocol'
import {
  batchFileName,
  journalFileName,
  listFolder,
  remove,
  setAside,
  STATUSES_FILE,
  writeDurably,
  type BatchFile,
} from './files.ts'

export interface OutboxOptions {
  /**
   * The spool folder; created if missing. One agent id per folder.
   * NOTE: nothing stops two processes from sharing a folder; they would send
   * and delete each other's batches.
   */
  dir: string
  /** Rows that seal a batch at once. */
  maxRows?: number
  /** Milliseconds after which a partial batch is sealed anyway. */
  flushMs?: number
  /** Sealed batches kept while unacknowledged; the oldest is dropped beyond this. */
  maxBatches?: number
  /** Bytes of sealed batches kept while unacknowledged; the oldest is dropped beyond this. */
  maxBytes?: number
  /** Milliseconds to wait for an ack before the batch is sent again. */
  ackTimeoutMs?: number
  /** Batches sent and not yet acknowledged at a time, so a long backlog does not flood the socket. */
  maxInFlight?: number
  /** Sends a message; returns false when there is no connection. */
  send: (message: Metrics | Status) => boolean
  logger: Logger
}

/** Spool sizes and counters, plain numbers for a metrics endpoint. */
export interface SpoolStats {
  batches: number
  bytes: number
  /** Batches dropped because the spool was full, since start. */
  droppedBatches: number
  droppedRows: number
  /** Spool files set aside as unreadable, since start. */
  corruptFiles: number
  /** Statuses not yet acknowledged: unsent, or sent to a controller that acknowledges statuses and waiting for its ack. */
  unsentStatuses: number
}

interface SpooledBatch {
  readonly id: string
  readonly rows: number
  readonly bytes: number
  /** The batch file, or undefined when it could not be written and the batch lives in memory only. */
  readonly file: string | undefined
  readonly message: Metrics | undefined
  sentAt: number | undefined
  /** True once the batch went out, from this process or, for a batch found at start, possibly from the one before. */
  sentBefore: boolean
}

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024
export const DEFAULT_SPOOL_MAX_BATCHES = 100_000

/**
 * Metric rows and statuses waiting for the controller, kept on disk so that
 * an agent restart loses none. Rows are grouped into batches, each with an
 * id that the controller uses as its deduplication token. A sealed batch is
 * written and fsync'd before it is sent, and its file is deleted when the
 * controller acknowledges it (after ClickHouse stored it, or after the
 * controller wrote it to its own spill). Each row is also appended to a
 * journal of the open batch as it arrives, so a killed process loses no
 * rows. The journal is not fsync'd, so a machine crash can lose the rows of
 * the last flushMs. Statuses keep only the latest per stream.
 */
export class Outbox {
  // Counters since start, plain fields for the metrics endpoint.
  /** Batches dropped because the spool was full. */
  dropped = 0
  /** Rows of the dropped batches. */
  droppedRows = 0
  /** Spool files set aside as unreadable. */
  corrupt = 0

  private readonly dir: string
  private readonly options: Required<Omit<OutboxOptions, 'send' | 'logger' | 'dir'>>
  private readonly log: Logger
  private readonly batches = new Map<string, SpooledBatch>()
  private bytes = 0
  private nextSeq = 1
  private rows: MetricsRow[] = []
  private openId = ''
  private firstRowAt = 0
  private journalFailed = false
  /** Statuses not sent yet, the latest per stream. */
  private readonly statuses = new Map<string, Status>()
  /** Statuses sent and waiting for their ack, by status_id, with the time they went out (undefined: send again). */
  private readonly sentStatuses = new Map<string, { status: Status; sentAt: number | undefined }>()
  /** True when the controller's welcome announced status acks. */
  private statusAcks = false
  private statusesOnDisk = false
  /** The statuses changed since they were last saved. */
  private statusesChanged = false
  private readonly timer: NodeJS.Timeout

  constructor(private readonly config: OutboxOptions) {
    this.dir = config.dir
    this.log = config.logger
    this.options = {
      maxRows: 200,
      flushMs: 2000,
      maxBatches: DEFAULT_SPOOL_MAX_BATCHES,
      maxBytes: DEFAULT_SPOOL_MAX_BYTES,
      ackTimeoutMs: 30_000,
      maxInFlight: 16,
      ...withoutUndefined(config),
    }
    mkdirSync(this.dir, { recursive: true })
    this.load()
    this.timer = setInterval(() => this.pump(), Math.min(this.options.flushMs, 1000))
    this.timer.unref()
  }

  /** Batches sealed and not yet acknowledged. */
  get pendingBatches(): number {
    return this.batches.size
  }

  get stats(): SpoolStats {
    return {
      batches: this.batches.size,
      bytes: this.bytes,
      droppedBatches: this.dropped,
      droppedRows: this.droppedRows,
      corruptFiles: this.corrupt,
      unsentStatuses: this.statuses.size + this.sentStatuses.size,
    }
  }

  /** Adds a row to the open batch and to its journal on disk. */
  add(row: MetricsRow): void {
    if (this.rows.length === 0) {
      this.openId = randomUUID()
      this.firstRowAt = Date.now()
    }
    this.rows.push(row)
    this.appendToJournal(row)
    this.log.debug({ batch_id: this.openId, stream_id: row.stream_id, ts_ms: row.ts_ms }, 'metrics row spooled')
    if (this.rows.length >= this.options.maxRows) this.pump()
  }

  /** Sends a status now, or keeps it on disk, replacing an older unsent one of the stream. */
  addStatus(status: Status): void {
    this.statuses.set(status.stream_id, { ...status, status_id: status.status_id ?? randomUUID() })
    this.statusesChanged = true
    this.sendStatuses()
  }

  /**
   * Sets whether the controller acknowledges statuses, from its welcome. With
   * acks a sent status stays on disk until its ack comes; without them (an
   * older controller) it is forgotten once sent.
   */
  setStatusAcks(enabled: boolean): void {
    this.statusAcks = enabled
  }

  /** Forgets a batch or status the controller has stored, and sends more of the backlog. */
  acknowledge(id: string): void {
    if (this.sentStatuses.delete(id)) {
      this.statusesChanged = true
      this.saveStatuses()
      return
    }
    const batch = this.batches.get(id)
    if (batch === undefined) return
    this.forget(batch)
    this.pump()
  }

  /** Marks a batch or status for sending again, after the controller failed to store it. */
  retryLater(id: string): void {
    const retryAt = Date.now() - this.options.ackTimeoutMs + 5000
    const status = this.sentStatuses.get(id)
    if (status !== undefined) status.sentAt = retryAt
    const batch = this.batches.get(id)
    if (batch !== undefined) batch.sentAt = retryAt
  }

  /** Marks every batch and unacknowledged status unsent, so that all go again on the next connection. */
  connectionLost(): void {
    for (const batch of this.batches.values()) batch.sentAt = undefined
    for (const entry of this.sentStatuses.values()) entry.sentAt = undefined
  }

  /**
   * Seals due rows into a batch, then sends unsent statuses and the batches
   * that are unsent or timed out, oldest first, at most maxInFlight at a time.
   */
  pump(): void {
    const now = Date.now()
    if (this.rows.length >= this.options.maxRows || (this.rows.length > 0 && now - this.firstRowAt >= this.options.flushMs)) {
      this.seal()
    }
    if (!this.sendStatuses()) return

    let inFlight = 0
    for (const batch of this.batches.values()) {
      if (inFlight >= this.options.maxInFlight) return
      if (batch.sentAt !== undefined && now - batch.sentAt < this.options.ackTimeoutMs) {
        inFlight += 1
        continue
      }
      const result = this.sendBatch(batch, now)
      if (result === 'offline') return
      if (result === 'sent') inFlight += 1
    }
  }

  /** Stops the timer and seals the open rows, so the next start finds them as a batch. */
  close(): void {
    clearInterval(this.timer)
    if (this.rows.length > 0) this.seal()
  }

  /** Sends one batch; 'skipped' when its file was unreadable, 'offline' when there is no connection. */
  private sendBatch(batch: SpooledBatch, now: number): 'sent' | 'skipped' | 'offline' {
    const message = batch.message ?? this.readBatch(batch)
    if (message === undefined) return 'skipped'
    // Marked so that the controller checks for a copy stored by a controller that died before its ack.
    if (!this.config.send(batch.sentBefore ? { ...message, resent: true } : message)) return 'offline'
    batch.sentAt = now
    batch.sentBefore = true
    return 'sent'
  }

  private appendToJournal(row: MetricsRow): void {
    try {
      appendFileSync(join(this.dir, journalFileName(this.openId)), JSON.stringify(row) + '\n')
      this.journalFailed = false
    } catch (error) {
      // Logged once per run of failures; the row is still in memory and sealed with the batch.
      if (!this.journalFailed) this.log.warn({ batch_id: this.openId, err: error }, 'appending to the spool journal failed')
      this.journalFailed = true
    }
  }

  private seal(): void {
    const message: Metrics = { type: 'metrics', batch_id: this.openId, rows: this.rows }
    this.rows = []
    this.store(message)
    this.removeFile(journalFileName(message.batch_id))
    this.enforceLimits()
  }

  /** Writes a sealed batch to disk, or keeps it in memory when the write fails. */
  private store(message: Metrics): void {
    const body = encodeMessage(message)
    const name = batchFileName(this.nextSeq++, message.rows.length, message.batch_id)
    const bytes = Buffer.byteLength(body)
    let file: string | undefined = name
    try {
      writeDurably(this.dir, name, body)
    } catch (error) {
      this.log.error({ batch_id: message.batch_id, rows: message.rows.length, err: error }, 'writing a spool file failed; keeping the batch in memory')
      file = undefined
    }
    const rows = message.rows.length
    this.batches.set(message.batch_id, { id: message.batch_id, rows, bytes, file, message: file ? undefined : message, sentAt: undefined, sentBefore: false })
    this.bytes += bytes
  }

  /** Drops the oldest batches while the spool is over maxBatches or maxBytes. */
  private enforceLimits(): void {
    while (this.batches.size > this.options.maxBatches || this.bytes > this.options.maxBytes) {
      const [oldest] = this.batches.values()
      if (oldest === undefined) return
      this.forget(oldest)
      this.dropped += 1
      this.droppedRows += oldest.rows
      this.log.warn(
        { batch_id: oldest.id, rows: oldest.rows, dropped_total: this.dropped, spool_bytes: this.bytes, spool_batches: this.batches.size },
        'spool full; dropped the oldest batch',
      )
    }
  }

  private forget(batch: SpooledBatch): void {
    this.batches.delete(batch.id)
    this.bytes -= batch.bytes
    if (batch.file !== undefined) this.removeFile(batch.file)
  }

  /** Reads a batch file; a file that is not the batch it is named after is set aside. */
  private readBatch(batch: SpooledBatch): Metrics | undefined {
    let text: string
    try {
      text = readFileSync(join(this.dir, batch.file!), 'utf8')
    } catch (error) {
      this.log.warn({ batch_id: batch.id, file: batch.file, err: error }, 'reading a spool file failed; batch skipped')
      this.forget(batch)
      return undefined
    }

    const decoded = decodeAgentMessage(text)
    if (decoded.ok && decoded.message.type === 'metrics' && decoded.message.batch_id === batch.id) return decoded.message
    const reason = decoded.ok ? `a ${decoded.message.type} message, not batch ${batch.id}` : decoded.message
    this.setAsideCorrupt(batch.file!, reason, batch.id)
    this.batches.delete(batch.id)
    this.bytes -= batch.bytes
    return undefined
  }

  private setAsideCorrupt(name: string, reason: string, batchId?: string): void {
    this.corrupt += 1
    this.log.warn({ batch_id: batchId, file: name, reason, corrupt_total: this.corrupt }, 'spool file is corrupt; skipped')
    try {
      setAside(this.dir, name)
    } catch (error) {
      this.log.warn({ file: name, err: error }, 'setting aside a corrupt spool file failed')
    }
  }

  private removeFile(name: string): void {
    try {
      remove(this.dir, name)
    } catch (error) {
      this.log.warn({ file: name, err: error }, 'deleting a spool file failed')
    }
  }

  /**
   * Sends again the statuses whose ack did not come after a reconnect or
   * the ack timeout, then the unsent ones. Returns true when no unsent one
   * is left, and keeps the file in step with them.
   */
  private sendStatuses(): boolean {
    const now = Date.now()
    for (const [id, entry] of this.sentStatuses) {
      if (entry.sentAt !== undefined && now - entry.sentAt < this.options.ackTimeoutMs) continue
      if (!this.config.send({ ...entry.status, resent: true })) return false
      entry.sentAt = now
      if (!this.statusAcks) {
        this.sentStatuses.delete(id)
        this.statusesChanged = true
      }
    }
    for (const [streamId, status] of this.statuses) {
      if (!this.config.send(status)) break
      this.statuses.delete(streamId)
      if (this.statusAcks) this.sentStatuses.set(status.status_id!, { status, sentAt: now })
      this.statusesChanged = true
    }
    if (this.statusesChanged) this.saveStatuses()
    return this.statuses.size === 0
  }

  /**
   * Writes the statuses not yet acknowledged, or deletes the file once none
   * is left; sent ones are marked `resent`. Without status acks, a status
   * sent at once costs no I/O.
   */
  private saveStatuses(): void {
    const kept = [...this.statuses.values(), ...[...this.sentStatuses.values()].map((entry) => ({ ...entry.status, resent: true }))]
    try {
      if (kept.length > 0) writeDurably(this.dir, STATUSES_FILE, JSON.stringify(kept))
      else if (this.statusesOnDisk) remove(this.dir, STATUSES_FILE)
      this.statusesOnDisk = kept.length > 0
      this.statusesChanged = false
    } catch (error) {
      // Tried again on the next pump, within a second.
      this.log.warn({ statuses: kept.length, err: error }, 'saving unacknowledged statuses failed')
    }
  }

  /** Loads what an earlier run left: sealed batches, open journals and unsent statuses. */
  private load(): void {
    const listing = listFolder(this.dir)
    for (const file of listing.batches) this.adopt(file)
    this.nextSeq = (listing.batches.at(-1)?.seq ?? 0) + 1

    let recoveredRows = 0
    for (const journal of listing.journals) recoveredRows += this.recoverJournal(journal.id, journal.name)
    if (listing.hasStatuses) this.loadStatuses()
    this.enforceLimits()

    if (this.batches.size > 0 || this.statuses.size + this.sentStatuses.size > 0) {
      this.log.info(
        { batches: this.batches.size, bytes: this.bytes, recovered_rows: recoveredRows, statuses: this.statuses.size + this.sentStatuses.size },
        'spool loaded; unsent data goes out after connecting',
      )
    }
  }

  private adopt(file: BatchFile): void {
    this.batches.set(file.id, { id: file.id, rows: file.rows, bytes: file.bytes, file: file.name, message: undefined, sentAt: undefined, sentBefore: true })
    this.bytes += file.bytes
  }

  /**
   * Seals the rows of a journal under its batch id, unless that batch was
   * sealed already (the process died between writing it and deleting the
   * journal). Returns the rows recovered.
   */
  private recoverJournal(id: string, name: string): number {
    if (this.batches.has(id)) {
      this.removeFile(name)
      return 0
    }

    const rows = this.readJournal(name)
    if (rows.length > 0) {
      this.openId = id
      this.rows = rows
      this.seal()
    } else {
      this.removeFile(name)
    }
    return rows.length
  }

  /** Reads journal rows; a line that is not a valid row (such as a line cut short) is skipped. */
  private readJournal(name: string): MetricsRow[] {
    let text: string
    try {
      text = readFileSync(join(this.dir, name), 'utf8')
    } catch (error) {
      this.log.warn({ file: name, err: error }, 'reading a spool journal failed; its rows are lost')
      return []
    }

    const rows: MetricsRow[] = []
    let skipped = 0
    for (const line of text.split('\n')) {
      if (line === '') continue
      const row = parseRow(line)
      if (row === undefined) skipped += 1
      else rows.push(row)
    }
    if (skipped > 0) this.log.warn({ file: name, skipped, rows: rows.length }, 'skipped unreadable lines of a spool journal')
    return rows
  }

  private loadStatuses(): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(join(this.dir, STATUSES_FILE), 'utf8'))
    } catch (error) {
      this.setAsideCorrupt(STATUSES_FILE, (error as Error).message)
      return
    }

    const list = Array.isArray(parsed) ? parsed : []
    for (const item of list) {
      const decoded = decodeAgentMessage(JSON.stringify(item))
      if (!decoded.ok || decoded.message.type !== 'status') continue
      const status = { ...decoded.message, status_id: decoded.message.status_id ?? randomUUID() }
      // A status sent before the restart goes again, marked resent, as long as it waits for its ack.
      if (status.resent === true) this.sentStatuses.set(status.status_id, { status, sentAt: undefined })
      else this.statuses.set(status.stream_id, status)
    }
    const kept = this.statuses.size + this.sentStatuses.size
    if (kept !== list.length || !Array.isArray(parsed)) {
      this.log.warn({ file: STATUSES_FILE, kept }, 'skipped invalid entries of the unacknowledged statuses file')
    }
    this.statusesOnDisk = true
  }
}

/** Parses one journal line into a metrics row, validated by the protocol schema. */
function parseRow(line: string): MetricsRow | undefined {
  let row: unknown
  try {
    row = JSON.parse(line)
  } catch {
    return undefined
  }
  const decoded = decodeAgentMessage(JSON.stringify({ type: 'metrics', batch_id: 'journal-row', rows: [row] }))
  return decoded.ok && decoded.message.type === 'metrics' ? decoded.message.rows[0] : undefined
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>
}
