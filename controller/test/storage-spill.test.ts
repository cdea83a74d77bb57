// The disk spill and the BatchWriter on top of real chDB. ClickHouse cannot
// be stopped inside chDB, so an outage is a fault injector: a wrapper whose
// inserts fail, as a dropped connection would, while it is "down".
// chDB opens one data folder per process, so each test gets its own
// database in one folder.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import {
  BufferFullError,
  StorageError,
  createWriters,
  closeWriters,
  openStorage,
  type InsertOptions,
  type Storage,
  type StorageRow,
  type TableName,
  type Writers,
} from '../src/storage/index.ts'
import { Spill } from '../src/storage/spill.ts'

const root = mkdtempSync(join(tmpdir(), 'monit-spill-test-'))
const logger = pino({ level: process.env.MONIT_TEST_LOG ?? 'silent' })
const opened: Storage[] = []
/** Every writer set and fault injector, so that a failed test still lets the process exit. */
const started: Array<{ writers: Writers; outage?: OutageStorage }> = []
let databases = 0
let spillFolders = 0

async function fresh(): Promise<Storage> {
  const storage = await openStorage({ dataDir: join(root, 'chdb'), database: `spill${++databases}`, logger })
  opened.push(storage)
  await storage.init()
  return storage
}

function spillDir(): string {
  return join(root, `spill-${++spillFolders}`)
}

/** Fault injector: inserts fail with a retryable error while `down` is true. */
class OutageStorage {
  down = false
  failedInserts = 0

  constructor(private readonly real: Storage) {}

  async insert(table: TableName, rows: readonly StorageRow[], token: string): Promise<void> {
    if (this.down) {
      this.failedInserts += 1
      throw new StorageError('injected fault: connect ECONNREFUSED', { driver: 'embedded', retryable: true })
    }
    await this.real.insert(table, rows, token)
  }
}

async function count(storage: Storage, table: TableName, distinct = 'count()'): Promise<number> {
  const [row] = await storage.query<{ c: string }>(`SELECT ${distinct} AS c FROM ${storage.table(table)}`)
  return Number(row?.c)
}

function batchFiles(dir: string, table: TableName): string[] {
  return readdirSync(join(dir, table)).filter((name) => name.endsWith('.json'))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const now = Date.now()
let viewers = 0
function beacons(count: number): StorageRow[] {
  return Array.from({ length: count }, () => ({ stream_id: 'outage', uniq_id: `viewer-${++viewers}`, insert_ts: now }))
}

function agentRows(batch: number, count: number): StorageRow[] {
  return Array.from({ length: count }, (_, i) => ({
    stream_id: 'outage',
    agent_id: 'edge-1',
    epoch: batch * 1000 + i,
    codecs: 'h264',
    insert_ts: now - i,
  }))
}

const writerOptions = { logger, maxRows: 100, flushMs: 50, maxBufferedRows: 300, retryInitialMs: 20, retryMaxMs: 200 }

function writersOn(storage: Pick<Storage, 'insert'>, spill: Spill, options: Partial<typeof writerOptions> = {}): Writers {
  const writers = createWriters(storage, { ...writerOptions, ...options, spill })
  started.push({ writers, outage: storage instanceof OutageStorage ? storage : undefined })
  return writers
}

test.after(async () => {
  for (const { writers, outage } of started) {
    if (outage) outage.down = false
    await closeWriters(writers).catch(() => {})
  }
  for (const storage of opened) await storage.close()
  rmSync(root, { recursive: true, force: true })
})

test('spill files are listed in order at open; unfinished ones are deleted', async () => {
  const dir = spillDir()
  const spill = await Spill.open({ dir, maxBytes: 1024 * 1024, logger })
  await spill.write('heatmap', 3, 'token-c', beacons(1))
  await spill.write('heatmap', 1, 'token-a', beacons(2))
  await spill.write('heatmap', 2, 'token-b', beacons(3))
  const bytes = spill.bytes
  writeFileSync(join(dir, 'heatmap', '000000000009-5.json.tmp'), '{"table":"heat')

  const reopened = await Spill.open({ dir, maxBytes: 1024 * 1024, logger })
  const found = reopened.found('heatmap')
  assert.equal(found.map((batch) => batch.seq), [1, 2, 3])
  assert.equal(found.map((batch) => batch.rows), [2, 3, 1])
  assert.is(reopened.bytes, bytes)
  assert.is(reopened.lastSeq('heatmap'), 3)
  assert.is(reopened.lastSeq('metrics'), 0)
  assert.not.ok(readdirSync(join(dir, 'heatmap')).some((name) => name.endsWith('.tmp')), 'temporary file deleted')

  const content = await reopened.read(found[0]!)
  assert.is(content.token, 'token-a')
  assert.is(content.rows.length, 2)
})

test('spill write returns undefined past maxBytes', async () => {
  const spill = await Spill.open({ dir: spillDir(), maxBytes: 2000, logger })
  assert.ok(await spill.write('events', 1, 'small', beacons(2)))
  assert.is(await spill.write('events', 2, 'large', beacons(50)), undefined)
  assert.is(spill.found('events').length, 0, 'found lists only files present at open')
  assert.ok(spill.bytes < 2000)
})

test('rows accepted during an outage are stored once afterwards', async () => {
  const storage = await fresh()
  const outage = new OutageStorage(storage)
  const dir = spillDir()
  const spill = await Spill.open({ dir, maxBytes: 64 * 1024 * 1024, logger })
  const writers = writersOn(outage, spill)
  outage.down = true

  // Beacons through add(), 1000 rows, and 30 agent batches of 10 rows
  // through write(), each agent batch sent twice as after a lost ack.
  const acks: Promise<void>[] = []
  for (let i = 0; i < 40; i++) {
    assert.ok(writers.heatmap.add(beacons(25)), `add ${i}`)
    acks.push(writers.metrics.write(agentRows(i % 30, 10), `agent-batch-${i % 30}`))
    await sleep(5)
  }
  await Promise.all(acks)
  assert.ok(writers.metrics.spilledRows > 0, 'agent batches acknowledged from the spill')
  await until('beacons in the spill', () => writers.heatmap.spilledRows === 1000)
  await until('retries', () => outage.failedInserts >= 4)
  assert.ok(batchFiles(dir, 'heatmap').length > 0)
  assert.ok(writers.heatmap.bufferedRows <= writerOptions.maxBufferedRows)

  outage.down = false
  await writers.heatmap.flush()
  await writers.metrics.flush()
  // Batches sent again after they were stored: ClickHouse drops them by token.
  for (let i = 0; i < 5; i++) await writers.metrics.write(agentRows(i, 10), `agent-batch-${i}`)

  assert.is(await count(storage, 'heatmap'), 1000)
  assert.is(await count(storage, 'heatmap', 'uniqExact(uniq_id)'), 1000)
  assert.is(await count(storage, 'metrics'), 300)
  assert.is(await count(storage, 'metrics', 'uniqExact(epoch)'), 300)
  assert.is(writers.heatmap.spilledBatches, 0)
  assert.equal(batchFiles(dir, 'heatmap'), [])
  assert.equal(batchFiles(dir, 'metrics'), [])
  assert.is(spill.bytes, 0)
  await closeWriters(writers)
})

test('close() during an outage leaves rows in the spill; the next start replays them once', async () => {
  const storage = await fresh()
  const outage = new OutageStorage(storage)
  const dir = spillDir()
  const first = writersOn(outage, await Spill.open({ dir, maxBytes: 1024 ** 2, logger }))
  outage.down = true
  first.heatmap.add(beacons(30))
  const written = first.metrics.write(agentRows(1, 7), 'before-close')
  await until('an insert to fail', () => outage.failedInserts > 0)
  await written

  // closeTimeoutMs is 30 s: close() must not wait for it while inserts fail.
  await closeWriters(first)
  assert.ok(batchFiles(dir, 'heatmap').length > 0)
  assert.ok(batchFiles(dir, 'metrics').length > 0)
  assert.is(await count(storage, 'heatmap'), 0)

  const spill = await Spill.open({ dir, maxBytes: 1024 ** 2, logger })
  assert.is(spill.found('heatmap').reduce((sum, batch) => sum + batch.rows, 0), 30)
  const second = writersOn(storage, spill)
  assert.is(second.heatmap.spilledRows, 30)
  second.heatmap.add(beacons(5))
  await second.heatmap.flush()
  await second.metrics.flush()
  assert.is(await count(storage, 'heatmap'), 35)
  assert.is(await count(storage, 'metrics'), 7)
  assert.equal(batchFiles(dir, 'heatmap'), [])
  await closeWriters(second)
})

test('a replayed batch already stored under its token is stored once', async () => {
  const storage = await fresh()
  assert.ok(storage.features?.dedupToken, 'chDB supports insert_deduplication_token')
  const dir = spillDir()
  const rows = agentRows(7, 4)
  // The insert landed, but the process died before it deleted the file.
  await storage.insert('metrics', rows, 'landed-before-crash')
  await (await Spill.open({ dir, maxBytes: 1024 ** 2, logger })).write('metrics', 1, 'landed-before-crash', rows)

  const hints: boolean[] = []
  const recording = {
    insert: (table: TableName, batch: readonly StorageRow[], token: string, options?: InsertOptions) => {
      hints.push(options?.mayBeStored === true)
      return storage.insert(table, batch, token, options)
    },
  }
  const writers = writersOn(recording, await Spill.open({ dir, maxBytes: 1024 ** 2, logger }))
  await writers.metrics.flush()
  assert.is(await count(storage, 'metrics'), 4)
  assert.is(writers.metrics.rowsWritten, 4)
  // Servers without token deduplication look the replayed batch up first.
  assert.equal(hints, [true])
  assert.equal(batchFiles(dir, 'metrics'), [])
  await closeWriters(writers)
})

test('a corrupt spill file is set aside and the others are replayed', async () => {
  const storage = await fresh()
  const dir = spillDir()
  const before = await Spill.open({ dir, maxBytes: 1024 ** 2, logger })
  await before.write('events', 1, 'first', [{ stream_id: 's', uniq_id: 'a', event: 'play' }])
  const broken = await before.write('events', 2, 'second', [{ stream_id: 's', uniq_id: 'b', event: 'play' }])
  await before.write('events', 3, 'third', [{ stream_id: 's', uniq_id: 'c', event: 'play' }])
  truncateSync(broken!.path, 20)

  const spill = await Spill.open({ dir, maxBytes: 1024 ** 2, logger })
  const writers = writersOn(storage, spill)
  await writers.events.flush()
  assert.is(await count(storage, 'events'), 2)
  assert.is(spill.batchesCorrupt, 1)
  assert.is(writers.events.rowsFailed, 1)
  assert.equal(readdirSync(join(dir, 'events')), ['000000000002-1.json.corrupt'])
  await closeWriters(writers)
})

test('rows are refused only when memory and spill are both full', async () => {
  const storage = await fresh()
  const outage = new OutageStorage(storage)
  const spill = await Spill.open({ dir: spillDir(), maxBytes: 8 * 1024, logger })
  const writers = writersOn(outage, spill, { maxRows: 10, maxBufferedRows: 40 })
  outage.down = true

  let accepted = 0
  for (let i = 0; i < 100 && writers.heatmap.add(beacons(10)); i++) {
    accepted += 10
    await sleep(5)
  }
  assert.ok(spill.full, 'spill filled up first')
  assert.ok(writers.heatmap.rowsRejected > 0)
  assert.ok(writers.heatmap.bufferedRows <= 40 + 10, 'memory stays near its bound')
  const refused = await writers.metrics.write(agentRows(1, 50), 'no-room').catch((error: unknown) => error)
  assert.instance(refused, BufferFullError)

  outage.down = false
  await writers.heatmap.flush()
  assert.is(await count(storage, 'heatmap'), accepted)
  assert.ok(writers.heatmap.add(beacons(10)), 'accepts again once drained')
  await closeWriters(writers)
})

test.run()
