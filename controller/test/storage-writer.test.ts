// BatchWriter against an in-memory fake storage (no ClickHouse): batching,
// ordering, retries, backpressure and shutdown. The same writer against real
// chDB is in storage.test.ts.
import { TABLES } from '../src/storage/types.ts'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { StorageError } from '../src/storage/errors.ts'
import { BatchWriter, BufferFullError, WriterClosedError, closeWriters, createWriters } from '../src/storage/writer.ts'
import type { InsertOptions, StorageRow, TableName } from '../src/storage/types.ts'

interface Call {
  table: TableName
  rows: readonly StorageRow[]
  token: string
  mayBeStored: boolean
  at: number
}

/**
 * Fake storage. Every insert is recorded in `calls`; `faults` holds errors
 * thrown by the next inserts, one each (fault injection); `gate`, when set,
 * holds inserts until it resolves. Tokens deduplicate like ClickHouse does.
 */
class FakeStorage {
  calls: Call[] = []
  stored: StorageRow[] = []
  faults: Error[] = []
  gate: Promise<void> | undefined
  readonly #tokens = new Set<string>()

  async insert(table: TableName, rows: readonly StorageRow[], token: string, options: InsertOptions = {}): Promise<void> {
    this.calls.push({ table, rows, token, mayBeStored: options.mayBeStored === true, at: performance.now() })
    if (this.gate) await this.gate
    const fault = this.faults.shift()
    if (fault) throw fault
    if (this.#tokens.has(token)) return
    this.#tokens.add(token)
    this.stored.push(...rows)
  }
}

function capture() {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

const silent = pino({ level: 'silent' })
const rows = (from: number, count: number, stream = 's1') =>
  Array.from({ length: count }, (_, i) => ({ stream_id: stream, epoch: from + i, insert_ts: 1_700_000_000_000 + from + i }))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const retryable = () => new StorageError('insert: connect ECONNREFUSED', { driver: 'server', retryable: true })

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(5)
  }
}

test('starts an insert as soon as maxRows rows wait', async () => {
  const storage = new FakeStorage()
  const writer = new BatchWriter(storage, 'metrics', { logger: silent, maxRows: 3, flushMs: 60_000 })
  assert.ok(writer.add(rows(0, 7)))
  await until(() => writer.rowsWritten === 6)
  assert.equal(storage.calls.map((c) => c.rows.length), [3, 3])
  assert.is(writer.bufferedRows, 1)
  await writer.flush()
  assert.equal(storage.calls.map((c) => c.rows.length), [3, 3, 1])
  assert.equal(storage.stored.map((r) => r.epoch), [0, 1, 2, 3, 4, 5, 6])
  assert.is(new Set(storage.calls.map((c) => c.token)).size, 3, 'each batch has its own token')
  assert.is(writer.rowsWritten, 7)
  assert.is(writer.batchesWritten, 3)
  await writer.close()
})

test('starts an insert flushMs after the first row when fewer than maxRows wait', async () => {
  const storage = new FakeStorage()
  const writer = new BatchWriter(storage, 'statuses', { logger: silent, maxRows: 100, flushMs: 80 })
  const started = performance.now()
  writer.add(rows(0, 2))
  await sleep(20)
  writer.add(rows(2, 1))
  await sleep(20)
  assert.is(storage.calls.length, 0)
  await until(() => storage.calls.length === 1)
  assert.ok(storage.calls[0]!.at - started >= 75, 'not before flushMs')
  assert.is(storage.calls[0]!.rows.length, 3)
  await writer.close()
})

test('add() stamps rows that lack insert_ts with the time they were added', async () => {
  const storage = new FakeStorage()
  const writer = new BatchWriter(storage, 'heatmap', { logger: silent })
  const before = Date.now()
  writer.add([{ stream_id: 's', uniq_id: 'u' }])
  await writer.flush()
  const stamp = storage.stored[0]!.insert_ts as number
  assert.ok(stamp >= before && stamp <= Date.now())
  await writer.close()
})

test('retries a failing storage (injected faults) with one token, bounded jittered backoff, and logs it', async () => {
  const storage = new FakeStorage()
  storage.faults = [retryable(), retryable(), new Error('socket hang up'), retryable()]
  const { logger, lines } = capture()
  const writer = new BatchWriter(storage, 'metrics', { logger, maxRows: 10, retryInitialMs: 20, retryMaxMs: 50 })
  await writer.write(rows(0, 4), 'batch-1')
  assert.is(storage.calls.length, 5)
  assert.equal(new Set(storage.calls.map((c) => c.token)), new Set(['batch-1']))
  assert.is(storage.stored.length, 4)
  // Delays, as logged: ceilings 20, 40, 50 (capped), 50; each between half the ceiling and the ceiling.
  const retryLogs = lines.filter((line) => line.msg === 'insert failed; retrying')
  const delays = retryLogs.map((line) => line.delayMs as number)
  const ceilings = [20, 40, 50, 50]
  assert.is(delays.length, 4)
  delays.forEach((delay, i) => assert.ok(delay >= ceilings[i]! / 2 && delay <= ceilings[i]!, `delay ${i} = ${delay}, ceiling ${ceilings[i]}`))
  // And the writer did wait that long (timers may be late, never early).
  storage.calls.slice(1).forEach((call, i) => assert.ok(call.at - storage.calls[i]!.at >= delays[i]! - 2, `waited ${i}`))
  assert.is(writer.retries, 4)
  assert.is(writer.rowsRetried, 16)
  assert.is(writer.rowsWritten, 4)
  assert.is(writer.rowsFailed, 0)
  assert.is(retryLogs[0]!.table, 'metrics')
  assert.is(retryLogs[0]!.rows, 4)
  assert.is(retryLogs[0]!.level, 40)
  await writer.close()
})

test('a batch the database refuses is dropped and reported; the rows behind it go on', async () => {
  const storage = new FakeStorage()
  storage.faults = [new StorageError('Code: 27. Cannot parse input', { driver: 'embedded', retryable: false, clickhouseCode: 27 })]
  const { logger, lines } = capture()
  const writer = new BatchWriter(storage, 'events', { logger, retryInitialMs: 5 })
  const bad = writer.write(rows(0, 2), 'bad')
  const good = writer.write(rows(2, 3), 'good')
  const error = await bad.then(
    () => undefined,
    (err: unknown) => err,
  )
  assert.instance(error, StorageError)
  await good
  assert.equal(storage.stored.map((r) => r.epoch), [2, 3, 4])
  assert.is(writer.rowsFailed, 2)
  assert.is(writer.batchesFailed, 1)
  assert.is(writer.retries, 0)
  const logged = lines.find((line) => line.msg === 'batch rejected by the database; dropped')
  assert.ok(logged)
  assert.is(logged.table, 'events')
  assert.is(logged.rows, 2)
  await writer.close()
})

test('stores add() and write() rows once each across failures', async () => {
  const storage = new FakeStorage()
  storage.faults = [retryable(), retryable()]
  const writer = new BatchWriter(storage, 'metrics', { logger: silent, maxRows: 2, flushMs: 10, retryInitialMs: 5 })
  writer.add(rows(0, 3))
  const written = writer.write(rows(3, 2), 'agent-batch')
  writer.add(rows(5, 1))
  await written
  await writer.flush()
  const epochs = storage.stored.map((r) => r.epoch as number).sort((a, b) => a - b)
  assert.equal(epochs, [0, 1, 2, 3, 4, 5])
  await writer.close()
})

test('starts batches in order and keeps up to concurrency inserts in flight', async () => {
  const storage = new FakeStorage()
  let open!: () => void
  storage.gate = new Promise((resolve) => (open = resolve))
  const writer = new BatchWriter(storage, 'metrics', { logger: silent, maxRows: 2, concurrency: 2 })
  writer.add(rows(0, 6))
  await sleep(10)
  assert.equal(
    storage.calls.map((call) => call.rows[0]!.epoch),
    [0, 2],
  )
  open()
  await writer.flush()
  assert.is(storage.calls.length, 3)
  assert.is(storage.calls[2]!.rows[0]!.epoch, 4)
  assert.is(storage.stored.length, 6)
  await writer.close()
})

test('marks retries and resent batches as maybe stored', async () => {
  const storage = new FakeStorage()
  storage.faults = [retryable()]
  const writer = new BatchWriter(storage, 'metrics', { logger: silent, retryInitialMs: 1, retryMaxMs: 1 })
  await writer.write(rows(0, 2), 'first')
  await writer.write(rows(2, 2), 'resent', { mayBeStored: true })
  await writer.write(rows(4, 2), 'fresh')
  await writer.close()
  assert.equal(
    storage.calls.map((call) => [call.token, call.mayBeStored]),
    [
      ['first', false],
      ['first', true],
      ['resent', true],
      ['fresh', false],
    ],
  )
})

test('keeps one insert in flight while inserts fail', async () => {
  const storage = new FakeStorage()
  storage.faults = [retryable(), retryable(), retryable()]
  // Retries wait 100-200 ms, well past the two short sleeps below.
  const writer = new BatchWriter(storage, 'metrics', { logger: silent, maxRows: 1, concurrency: 4, retryInitialMs: 200, retryMaxMs: 200 })
  writer.add(rows(0, 1))
  await until(() => storage.calls.length >= 1)
  await sleep(5)
  writer.add(rows(1, 3))
  await sleep(5)
  // The failed first batch takes the only slot, so the three behind it wait.
  assert.is(storage.calls.length, 1)
  await writer.flush()
  assert.is(storage.stored.length, 4)
  await writer.close()
})

test('write() resolves only once its rows are stored', async () => {
  const storage = new FakeStorage()
  let open!: () => void
  storage.gate = new Promise((resolve) => (open = resolve))
  const writer = new BatchWriter(storage, 'metrics', { logger: silent })
  let settled = false
  const written = writer.write(rows(0, 2), 'b1').then(() => (settled = true))
  await sleep(20)
  assert.is(settled, false)
  open()
  await written
  assert.is(storage.stored.length, 2)
  await writer.close()
})

test('a token resent while its batch is still queued joins that batch', async () => {
  const storage = new FakeStorage()
  let open!: () => void
  storage.gate = new Promise((resolve) => (open = resolve))
  const writer = new BatchWriter(storage, 'metrics', { logger: silent })
  const first = writer.write(rows(0, 2), 'same')
  const again = writer.write(rows(0, 2), 'same')
  assert.is(again, first)
  assert.is(writer.bufferedRows, 2)
  open()
  await Promise.all([first, again])
  assert.is(storage.calls.length, 1)
  await writer.close()
})

test('refuses rows past maxBufferedRows: add() returns false, write() rejects with BufferFullError', async () => {
  const storage = new FakeStorage()
  let open!: () => void
  storage.gate = new Promise((resolve) => (open = resolve))
  const { logger, lines } = capture()
  const writer = new BatchWriter(storage, 'heatmap', { logger, maxRows: 2, maxBufferedRows: 5 })
  assert.ok(writer.add(rows(0, 4)))
  assert.is(writer.add(rows(4, 2)), false, 'all or nothing')
  assert.ok(writer.add(rows(4, 1)))
  assert.is(writer.bufferedRows, 5)
  const refused = await writer.write(rows(5, 1), 'x').catch((err: unknown) => err)
  assert.instance(refused, BufferFullError)
  assert.is((refused as BufferFullError).code, 'buffer_full')
  assert.is(writer.rowsRejected, 3)
  assert.is(lines.filter((line) => line.msg === 'writer buffer full; refusing rows').length, 1, 'logged once per episode')
  open()
  await writer.flush()
  assert.is(writer.bufferedRows, 0)
  assert.ok(writer.add(rows(5, 2)), 'accepts again once drained')
  await writer.close()
  assert.equal(storage.stored.map((r) => r.epoch), [0, 1, 2, 3, 4, 5, 6])
})

test('close() stores what is left, then refuses new rows', async () => {
  const storage = new FakeStorage()
  const writer = new BatchWriter(storage, 'statuses', { logger: silent, flushMs: 60_000 })
  writer.add(rows(0, 3))
  await writer.close()
  assert.is(storage.stored.length, 3)
  assert.throws(() => writer.add(rows(3, 1)), (err: unknown) => err instanceof WriterClosedError)
  const refused = await writer.write(rows(3, 1), 't').catch((err: unknown) => err)
  assert.instance(refused, WriterClosedError)
  await writer.close() // idempotent
})

test('close() gives up after closeTimeoutMs while storage keeps failing, and says how many rows were lost', async () => {
  const storage = new FakeStorage()
  storage.faults = Array.from({ length: 1000 }, retryable)
  const { logger, lines } = capture()
  const writer = new BatchWriter(storage, 'metrics', { logger, retryInitialMs: 10, retryMaxMs: 20, closeTimeoutMs: 100 })
  const written = writer.write(rows(0, 2), 'doomed').catch((err: unknown) => err)
  writer.add(rows(2, 3))
  const started = Date.now()
  const closed = await writer.close().catch((err: unknown) => err)
  assert.ok(Date.now() - started < 1000)
  assert.instance(closed, WriterClosedError)
  assert.match((closed as Error).message, /5 rows not stored/)
  assert.instance(await written, WriterClosedError)
  assert.is(writer.rowsFailed, 5)
  assert.is(writer.rowsWritten, 0)
  assert.ok(lines.some((line) => line.level === 50 && line.rows === 2))
})

test('createWriters() makes one writer per table; closeWriters() closes them all', async () => {
  const storage = new FakeStorage()
  const writers = createWriters(storage, { logger: silent, flushMs: 60_000 })
  assert.equal(Object.keys(writers).sort(), [...TABLES].sort())
  writers.events.add([{ stream_id: 's', uniq_id: 'u', event: 'play' }])
  writers.metrics.add(rows(0, 1))
  await closeWriters(writers)
  assert.equal(storage.calls.map((c) => c.table).sort(), ['events', 'metrics'])
})

test.run()
