// The embedded (chDB) storage driver and the BatchWriter on top of it.
// chDB holds one data folder per process, so this file opens one folder and
// gives each test its own database in it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { MetricsRow } from '@monit/protocol'
import {
  BatchWriter,
  StorageError,
  TABLES,
  formatTimestamp,
  metricsRecords,
  openStorage,
  statusRecord,
  type Storage,
  type StorageRow,
  type TableName,
} from '../src/storage/index.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'monit-storage-test-'))
const logger = pino({ level: process.env.MONIT_TEST_LOG ?? 'silent' })
const opened: Storage[] = []
let databases = 0

async function fresh(options: { ttlDays?: number; database?: string } = {}): Promise<Storage> {
  const storage = await openStorage({ dataDir, database: options.database ?? `t${++databases}`, ttlDays: options.ttlDays, logger })
  opened.push(storage)
  await storage.init()
  return storage
}

async function count(storage: Storage, table: TableName): Promise<number> {
  const [row] = await storage.query<{ c: string }>(`SELECT count() AS c FROM ${storage.table(table)}`)
  return Number(row?.c)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Rows must be recent: TTL (90 days) removes older ones at the next merge.
const now = Date.now()
function metric(stream: string, offsetMs: number, extra: Record<string, unknown> = {}): StorageRow {
  return {
    stream_id: stream,
    agent_id: 'edge-1',
    epoch: 3,
    bitrate: 2_500_000.5,
    frames: 250,
    width: 1920,
    height: 1080,
    fps: 25,
    bytes: 3_125_000,
    seconds: 10,
    keyframe_interval: 50,
    codecs: 'h264,aac',
    probe_duration_ms: 10_250,
    insert_ts: now - offsetMs,
    ...extra,
  }
}

test.after(async () => {
  for (const storage of opened) await storage.close()
  rmSync(dataDir, { recursive: true, force: true })
})

test('init() creates the four MergeTree tables with partition, order, TTL and dedup window', async () => {
  const storage = await fresh()
  assert.is(storage.driver, 'embedded')
  const features = storage.features!
  assert.ok(features.dateTime64 && features.lowCardinality && features.ttl && features.dedupToken && features.queryParams, JSON.stringify(features))
  assert.match(features.version, /^\d+\.\d+/)
  const tables = await storage.query<{ name: string; engine: string; partition_key: string; sorting_key: string; create_table_query: string }>(
    'SELECT name, engine, partition_key, sorting_key, create_table_query FROM system.tables WHERE database = {db:String} ORDER BY name',
    { db: storage.database },
  )
  assert.equal(tables.map((t) => t.name), [...TABLES].sort())
  for (const table of tables) {
    assert.is(table.engine, 'MergeTree')
    assert.is(table.partition_key, 'toYYYYMM(insert_date)')
    assert.is(table.sorting_key, 'stream_id, insert_ts')
    assert.match(table.create_table_query, 'TTL insert_date + toIntervalDay(90)')
    assert.match(table.create_table_query, 'non_replicated_deduplication_window = 10000')
  }
  const columns = await storage.query<{ name: string; type: string }>(
    "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'metrics' ORDER BY position",
    { db: storage.database },
  )
  assert.equal(
    columns.map((c) => `${c.name} ${c.type}`),
    [
      'stream_id String',
      'agent_id String',
      'epoch UInt64',
      'bitrate Float64',
      'frames UInt32',
      'width UInt16',
      'height UInt16',
      'fps Float32',
      'bytes UInt64',
      'seconds Float32',
      'keyframe_interval Float32',
      'codecs LowCardinality(String)',
      'probe_duration_ms UInt32',
      'ts_sync_loss Nullable(UInt32)',
      'ts_pat_error Nullable(UInt32)',
      'ts_pmt_error Nullable(UInt32)',
      'ts_cc_error Nullable(UInt32)',
      'ts_pid_error Nullable(UInt32)',
      'ts_pcr Nullable(UInt8)',
      'ts_programs String',
      'batch_id String',
      'insert_date Date',
      "insert_ts DateTime64(3, 'UTC')",
    ],
  )
})

test('init() is idempotent and brings an existing table up to date (TTL, missing column)', async () => {
  const storage = await fresh({ database: 'upgrade' })
  await storage.init()
  await storage.command(`ALTER TABLE ${storage.table('events')} DROP COLUMN user_agent`)
  const later = await fresh({ database: 'upgrade', ttlDays: 30 })
  const [events] = await later.query<{ q: string }>("SELECT create_table_query AS q FROM system.tables WHERE database = 'upgrade' AND name = 'events'")
  assert.match(events!.q, 'TTL insert_date + toIntervalDay(30)')
  assert.match(events!.q, /`?user_agent`? String/)
})

test('insert + query round trip: values, DateTime64 in ms, insert_date, query params', async () => {
  const storage = await fresh()
  const ts = now - 3 * 86_400_000 + 7 // a time with milliseconds
  const iso = new Date(ts).toISOString()
  await storage.insert(
    'metrics',
    [
      metric('cam-1', 0, { insert_ts: ts }), // ms since the epoch
      metric('cam-2', 0, { insert_ts: iso }), // ISO 8601
      metric('cam-3', 0, { insert_ts: formatTimestamp(ts) }), // 'YYYY-MM-DD hh:mm:ss.sss', UTC
      metric("o'brien \"\\", 0, { insert_ts: new Date(ts), epoch: 2n ** 60n }), // quotes in a value; a 64-bit epoch
    ],
    'round-trip',
  )
  const rows = await storage.query<Record<string, unknown>>(
    `SELECT *, toUnixTimestamp64Milli(insert_ts) AS ms FROM ${storage.table('metrics')} WHERE insert_ts >= {from:DateTime64(3, 'UTC')} ORDER BY stream_id`,
    { from: formatTimestamp(ts) },
  )
  assert.is(rows.length, 4)
  const expectedTs = formatTimestamp(ts)
  for (const row of rows) {
    assert.is(row.insert_ts, expectedTs)
    assert.is(row.ms, String(ts))
    assert.is(row.insert_date, iso.slice(0, 10))
  }
  const first = rows[0]!
  assert.equal(
    { ...first, insert_ts: undefined, insert_date: undefined, ms: undefined },
    {
      stream_id: 'cam-1',
      agent_id: 'edge-1',
      epoch: '3', // 64-bit integers come back as strings
      bitrate: 2_500_000.5,
      frames: 250,
      width: 1920,
      height: 1080,
      fps: 25,
      bytes: '3125000',
      seconds: 10,
      keyframe_interval: 50,
      codecs: 'h264,aac',
      probe_duration_ms: 10_250,
      // A row without a TS summary, as older agents send.
      ts_sync_loss: null,
      ts_pat_error: null,
      ts_pmt_error: null,
      ts_cc_error: null,
      ts_pid_error: null,
      ts_pcr: null,
      ts_programs: '',
      insert_ts: undefined,
      insert_date: undefined,
      ms: undefined,
      // chDB deduplicates by token, so rows carry no batch_id.
      batch_id: '',
    },
  )
  assert.is(rows[3]!.stream_id, "o'brien \"\\")
  assert.is(rows[3]!.epoch, String(2n ** 60n))

  const [bound] = await storage.query<{ n: string }>(
    `SELECT count() AS n FROM ${storage.table('metrics')} WHERE stream_id = {stream:String} AND epoch IN {epochs:Array(UInt64)};`,
    { stream: "o'brien \"\\", epochs: [2n ** 60n, 7n] }, // bigint for 64-bit values
  )
  assert.is(bound!.n, '1')
})

test('text with control characters, NULLs and odd numbers round trip', async () => {
  const storage = await fresh()
  const awkward = 'tab\there\nnew line\r\\back\0nul \ud800 lone'
  await storage.insert(
    'av_checks',
    [
      {
        stream_id: 'cam-odd',
        agent_id: awkward,
        epoch: 2,
        sample_s: Number.NaN,
        decoded_s: 2.5,
        video: true,
        audio: false,
        black_s: 0,
        freeze_s: 0,
        silence_s: 0,
        periods: '{"black":[]}',
        integrated_lufs: null,
        true_peak_dbtp: Number.POSITIVE_INFINITY,
        lra: -7.5,
        error: '',
        insert_ts: now,
      },
    ],
    'odd-1',
  )

  const [row] = await storage.query<Record<string, unknown>>(
    `SELECT agent_id, sample_s, decoded_s, video, audio, periods, integrated_lufs, true_peak_dbtp, lra FROM ${storage.table('av_checks')} WHERE stream_id = 'cam-odd'`,
  )
  // The lone surrogate is stored as U+FFFD; ClickHouse would reject it as JSON.
  assert.is(row!.agent_id, 'tab\there\nnew line\r\\back\0nul \ufffd lone')
  assert.is(row!.sample_s, 0)
  assert.is(row!.decoded_s, 2.5)
  assert.is(row!.video, 1)
  assert.is(row!.audio, 0)
  assert.is(row!.periods, '{"black":[]}')
  assert.is(row!.integrated_lufs, null)
  assert.is(row!.true_peak_dbtp, null)
  assert.is(row!.lra, -7.5)
})

test('rows from protocol messages: metricsRecords() and statusRecord()', async () => {
  const storage = await fresh()
  const ts = now - 1000
  const wire: MetricsRow = {
    stream_id: 'cam-9',
    epoch: 4,
    ts_ms: ts,
    bitrate: 800_000,
    frames: 300,
    width: 640,
    height: 360,
    fps: 30,
    bytes: 1_000_000,
    seconds: 10,
    keyframe_interval: 60,
    codecs: 'h264',
    probe_duration_ms: 10_020,
  }
  await storage.insert('metrics', metricsRecords('edge-7', [wire]), 'm1')
  await storage.insert(
    'statuses',
    [statusRecord('edge-7', { type: 'status', stream_id: 'cam-9', epoch: 4, status: 'degraded', reason: 'low fps', ts_ms: ts })],
    's1',
  )
  const [m] = await storage.query<Record<string, unknown>>(
    `SELECT stream_id, agent_id, epoch, width, codecs, toUnixTimestamp64Milli(insert_ts) AS ms FROM ${storage.table('metrics')}`,
  )
  assert.equal(m, { stream_id: 'cam-9', agent_id: 'edge-7', epoch: '4', width: 640, codecs: 'h264', ms: String(ts) })
  const [s] = await storage.query<Record<string, unknown>>(`SELECT stream_id, agent_id, epoch, status, reason FROM ${storage.table('statuses')}`)
  assert.equal(s, { stream_id: 'cam-9', agent_id: 'edge-7', epoch: '4', status: 'degraded', reason: 'low fps' })
})

test('heatmap and events rows; a missing insert_ts means now', async () => {
  const storage = await fresh()
  const viewer = { platform: 'web', app: 'player', version: '2.1', os: 'linux', browser: 'firefox', country: 'FR', region: 'IDF', host: 'cdn1', user_agent: 'Mozilla/5.0' }
  const before = Date.now()
  await storage.insert('heatmap', [{ stream_id: 'cam-1', uniq_id: 'u1', ...viewer }], 'h1')
  await storage.insert('events', [{ stream_id: 'cam-1', uniq_id: 'u1', event: 'error', code: 'E42', value: 1.5, ...viewer, insert_ts: now }], 'e1')
  const [h] = await storage.query<Record<string, unknown>>(`SELECT *, toUnixTimestamp64Milli(insert_ts) AS ms FROM ${storage.table('heatmap')}`)
  assert.is(h!.country, 'FR')
  assert.ok(Number(h!.ms) >= before - 1 && Number(h!.ms) <= Date.now())
  const [e] = await storage.query<Record<string, unknown>>(`SELECT event, code, value, user_agent FROM ${storage.table('events')}`)
  assert.equal(e, { event: 'error', code: 'E42', value: 1.5, user_agent: 'Mozilla/5.0' })
})

test('the same token twice stores the rows once; another token stores them again', async () => {
  const storage = await fresh()
  const batch = [metric('cam-1', 1000), metric('cam-2', 2000), metric('cam-1', 3000)]
  await storage.insert('metrics', batch, 'batch-A')
  await storage.insert('metrics', batch, 'batch-A')
  assert.is(await count(storage, 'metrics'), 3)
  await storage.insert('metrics', batch, 'batch-B')
  assert.is(await count(storage, 'metrics'), 6)
  // Tokens are per table.
  await storage.insert('statuses', [{ stream_id: 'cam-1', agent_id: 'a', epoch: 1, status: 'up', reason: '', insert_ts: now }], 'batch-A')
  assert.is(await count(storage, 'statuses'), 1)
  // Rows spanning two months (two partitions, two parts) deduplicate as well.
  const spanning = [metric('cam-3', 0), metric('cam-3', 40 * 86_400_000)]
  await storage.insert('metrics', spanning, 'batch-C')
  await storage.insert('metrics', spanning, 'batch-C')
  assert.is(await count(storage, 'metrics'), 8)
})

test('rows the table cannot take are refused before sending, as not retryable', async () => {
  const storage = await fresh()
  const unknown = await storage.insert('metrics', [metric('cam-1', 0, { colour: 'red' })], 'x').catch((err: unknown) => err)
  assert.instance(unknown, StorageError)
  assert.is((unknown as StorageError).retryable, false)
  assert.match((unknown as Error).message, 'unknown column "colour"')
  const badTime = await storage.insert('metrics', [metric('cam-1', 0, { insert_ts: 'yesterday' })], 'y').catch((err: unknown) => err)
  assert.is((badTime as StorageError).retryable, false)
  const badValue = await storage.insert('metrics', [metric('cam-1', 0, { frames: 'many' })], 'z').catch((err: unknown) => err)
  assert.instance(badValue, StorageError)
  assert.is((badValue as StorageError).retryable, false, (badValue as Error).message)
  assert.is(await count(storage, 'metrics'), 0)
  const badSql = await storage.query('SELEC 1').catch((err: unknown) => err)
  assert.is((badSql as StorageError).retryable, false)
  assert.is((badSql as StorageError).clickhouseCode, 62)
})

test('too many parts is retryable', async () => {
  const storage = await fresh()
  const table = storage.table('statuses')
  // Merges stopped and a low limit make the engine refuse the third part, as it does when merges fall behind.
  await storage.command(`ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 2`)
  await storage.command(`SYSTEM STOP MERGES ${table}`)
  const status = (epoch: number) => [{ stream_id: 'cam-parts', agent_id: 'a', epoch, status: 'up', reason: '', insert_ts: now }]
  await storage.insert('statuses', status(1), 'parts-1')
  await storage.insert('statuses', status(2), 'parts-2')
  const refused = await storage.insert('statuses', status(3), 'parts-3').catch((err: unknown) => err)
  assert.instance(refused, StorageError)
  assert.is((refused as StorageError).clickhouseCode, 252)
  assert.match((refused as Error).message, /too many parts/i)
  assert.is((refused as StorageError).retryable, true)

  await storage.command(`SYSTEM START MERGES ${table}`)
  await storage.command(`OPTIMIZE TABLE ${table} FINAL`)
  await storage.insert('statuses', status(3), 'parts-3')
  assert.is(await count(storage, 'statuses'), 3)
})

test('a second data folder in the same process is refused; ping and close', async () => {
  const other = mkdtempSync(join(tmpdir(), 'monit-storage-other-'))
  try {
    const refused = await openStorage({ dataDir: other, logger }).catch((err: unknown) => err)
    assert.instance(refused, StorageError)
    assert.match((refused as Error).message, 'one data folder per process')
  } finally {
    rmSync(other, { recursive: true, force: true })
  }
  const storage = await fresh()
  await storage.ping()
  await storage.close()
  const closed = await storage.ping().catch((err: unknown) => err)
  assert.instance(closed, StorageError)
  // The shared session stays open for the other storages.
  await opened[0]!.ping()
})

test('writer flushes by size', async () => {
  const storage = await fresh()
  const writer = new BatchWriter(storage, 'metrics', { logger, maxRows: 5, flushMs: 60_000 })
  writer.add(Array.from({ length: 12 }, (_, i) => metric(`cam-${i % 3}`, i)))
  const deadline = Date.now() + 5000
  while ((await count(storage, 'metrics')) < 10 && Date.now() < deadline) await sleep(10)
  assert.is(await count(storage, 'metrics'), 10, 'two full batches stored, two rows wait')
  assert.is(writer.bufferedRows, 2)
  await writer.flush()
  assert.is(await count(storage, 'metrics'), 12)
  assert.is(writer.batchesWritten, 3)
  assert.ok(writer.lastWriteLatencyMs > 0)
  await writer.close()
})

test('writer flushes by interval', async () => {
  const storage = await fresh()
  const writer = new BatchWriter(storage, 'statuses', { logger, maxRows: 1000, flushMs: 150 })
  const started = Date.now()
  writer.add([{ stream_id: 'cam-1', agent_id: 'a', epoch: 1, status: 'down', reason: 'timeout', insert_ts: now }])
  writer.add([{ stream_id: 'cam-2', agent_id: 'a', epoch: 1, status: 'up', reason: '' }])
  assert.is(writer.bufferedRows, 2)
  await sleep(50)
  if (Date.now() - started < 140) assert.is(await count(storage, 'statuses'), 0, 'nothing stored before flushMs')
  while ((await count(storage, 'statuses')) < 2 && Date.now() - started < 5000) await sleep(10)
  assert.is(await count(storage, 'statuses'), 2)
  assert.is(writer.batchesWritten, 1)
  assert.ok(writer.lastWriteAt - started >= 149, 'stored no earlier than flushMs after the first row')
  await writer.close()
})

/**
 * Fault injection: wraps the real storage and fails the first inserts. With
 * `landFirst` the rows are stored before the failure is thrown, like a
 * timeout after the server committed the insert, which is what the token is for.
 */
class FlakyStorage {
  calls = 0
  tokens: string[] = []
  constructor(
    private readonly real: Storage,
    private failures: number,
    private readonly landFirst: boolean,
  ) {}

  async insert(table: TableName, rows: readonly StorageRow[], token: string): Promise<void> {
    this.calls += 1
    this.tokens.push(token)
    if (this.failures > 0) {
      this.failures -= 1
      if (this.landFirst) await this.real.insert(table, rows, token)
      throw new StorageError('injected fault: request timed out', { driver: 'embedded', retryable: true })
    }
    await this.real.insert(table, rows, token)
  }
}

test('writer retries a failing storage (injected faults) and stores each batch once', async () => {
  const storage = await fresh()
  // Rows land on the first two attempts, but the writer is told they failed.
  const landed = new FlakyStorage(storage, 2, true)
  const writer = new BatchWriter(landed, 'metrics', { logger, retryInitialMs: 10, retryMaxMs: 40 })
  await writer.write([metric('cam-1', 1), metric('cam-1', 2), metric('cam-2', 3)], 'agent-batch-17')
  assert.is(landed.calls, 3)
  assert.equal(new Set(landed.tokens), new Set(['agent-batch-17']))
  assert.is(await count(storage, 'metrics'), 3)
  assert.is(writer.retries, 2)
  assert.is(writer.rowsWritten, 3)

  // Failing before anything lands, for add() rows with a generated token.
  const refused = new FlakyStorage(storage, 3, false)
  const writer2 = new BatchWriter(refused, 'metrics', { logger, maxRows: 4, retryInitialMs: 10, retryMaxMs: 40 })
  writer2.add([metric('cam-3', 1), metric('cam-3', 2), metric('cam-3', 3), metric('cam-3', 4)])
  await writer2.close()
  assert.is(refused.calls, 4)
  assert.is(new Set(refused.tokens).size, 1)
  assert.is(await count(storage, 'metrics'), 7)
})

test('write() resolves after its rows are queryable; close() flushes the rest', async () => {
  const storage = await fresh()
  const writer = new BatchWriter(storage, 'events', { logger, flushMs: 60_000 })
  writer.add([{ stream_id: 's', uniq_id: 'u', event: 'play' }])
  await writer.write([{ stream_id: 's', uniq_id: 'u', event: 'pause' }], 'w1')
  // Its own row is in. The add() row went out first, but with two inserts in flight it may land later.
  const [written] = await storage.query<{ c: string }>(`SELECT count() AS c FROM ${storage.table('events')} WHERE event = 'pause'`)
  assert.is(Number(written!.c), 1)
  await writer.flush()
  assert.is(await count(storage, 'events'), 2)
  writer.add([{ stream_id: 's', uniq_id: 'u', event: 'stop' }])
  await writer.close()
  assert.is(await count(storage, 'events'), 3)
})

test.run()
