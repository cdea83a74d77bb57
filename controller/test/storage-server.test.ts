// The 'server' storage driver against a real clickhouse-server started for
// this file (testing/clickhouse-server.ts). Skipped when the package is not
// installed; CI installs it.
//
// NOTE: the server here is Debian's clickhouse-server 18.16, which predates
// DateTime64, TTL, production LowCardinality, query parameters and
// insert_deduplication_token. On it this file checks the write path only:
// feature detection, DDL, batched TabSeparated inserts, the lookup of a
// batch that may be stored already, plain SELECTs, and the clear refusal of
// query parameters. Untested against any server: query
// parameters, token deduplication, DateTime64 and TTL over HTTP (all of them
// are tested on chDB in storage.test.ts, with the same SQL and settings).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { BatchWriter, StorageError, TABLES, openStorage, type Storage, type StorageRow } from '../src/storage/index.ts'
import { findClickHouseServer, startClickHouseServer, type ClickHouseServer } from '../../testing/clickhouse-server.ts'

const bin = findClickHouseServer()
const logger = pino({ level: process.env.MONIT_TEST_LOG ?? 'silent' })
const dataDir = mkdtempSync(join(tmpdir(), 'monit-storage-server-'))
let server: ClickHouseServer | undefined
let storage: Storage

// Without a server no test is registered. (Not test.skip: scripts/test.ts
// computes failed = Total - Passed - Skipped, but uvu's Total already leaves
// skipped tests out, so each skip would cancel one failure elsewhere.)
const define: (name: string, fn: () => Promise<void>) => void = bin === undefined ? () => {} : test
if (bin === undefined) {
  console.log('SKIP storage-server: clickhouse-server is not installed (apt-get install clickhouse-server); its 6 tests did not run')
}

test.before(async () => {
  if (bin === undefined) return
  server = await startClickHouseServer({ bin })
  storage = await openStorage({ url: server.url, dataDir, database: 'monit_test', logger })
})

test.after(async () => {
  await storage?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

async function count(table: string): Promise<number> {
  const [row] = await storage.query<{ c: string }>(`SELECT count() AS c FROM ${table}`)
  return Number(row?.c)
}

const now = Date.now()
const metric = (stream: string, i: number): StorageRow => ({
  stream_id: stream,
  agent_id: 'edge-1',
  epoch: 1,
  bitrate: 1_000_000 + i,
  frames: 250,
  width: 1280,
  height: 720,
  fps: 25,
  bytes: 1_250_000,
  seconds: 10,
  keyframe_interval: 50,
  codecs: 'h264',
  probe_duration_ms: 10_100,
  insert_ts: now - i * 1000,
})

define('init() detects the server and creates the tables (DDL)', async () => {
  assert.is(storage.driver, 'server')
  assert.not.match(storage.table('metrics'), 'undefined')
  await storage.init()
  await storage.init() // idempotent
  const features = storage.features!
  console.log(`NOTE clickhouse-server ${features.version}; untested on it: ${Object.entries(features).filter(([, on]) => on === false).map(([name]) => name).join(', ') || 'nothing'}`)
  if (features.version.startsWith('18.')) {
    assert.equal(
      { ...features, version: undefined },
      { version: undefined, dateTime64: false, lowCardinality: false, ttl: false, dedupToken: false, queryParams: false },
    )
  }
  const tables = await storage.query<{ name: string; engine: string; partition_key: string; sorting_key: string }>(
    "SELECT name, engine, partition_key, sorting_key FROM system.tables WHERE database = 'monit_test' ORDER BY name",
  )
  assert.equal(tables.map((t) => t.name), [...TABLES].sort())
  for (const table of tables) {
    assert.is(table.engine, 'MergeTree')
    assert.is(table.partition_key, 'toYYYYMM(insert_date)')
    assert.is(table.sorting_key, 'stream_id, insert_ts')
  }
  const [ts] = await storage.query<{ type: string }>(
    "SELECT type FROM system.columns WHERE database = 'monit_test' AND table = 'metrics' AND name = 'insert_ts'",
  )
  assert.is(ts!.type, features.dateTime64 ? "DateTime64(3, 'UTC')" : "DateTime('UTC')")
})

define('batched inserts land (writer add() and write())', async () => {
  const writer = new BatchWriter(storage, 'metrics', { logger, maxRows: 50, flushMs: 100 })
  assert.ok(writer.add(Array.from({ length: 120 }, (_, i) => metric(`cam-${i % 3}`, i))))
  await writer.write(Array.from({ length: 10 }, (_, i) => metric('cam-9', i)), 'agent-batch-1')
  await writer.close()
  assert.is(writer.batchesWritten, 4)
  assert.is(await count('monit_test.metrics'), 130)
  const [row] = await storage.query<Record<string, unknown>>(
    "SELECT stream_id, epoch, bytes, codecs, insert_date, toString(insert_ts) AS ts FROM monit_test.metrics WHERE stream_id = 'cam-9' ORDER BY insert_ts DESC LIMIT 1",
  )
  const expected = new Date(now).toISOString()
  assert.equal(row, {
    stream_id: 'cam-9',
    epoch: '1',
    bytes: '1250000',
    codecs: 'h264',
    insert_date: expected.slice(0, 10), // from its DEFAULT, since the insert names every other column
    ts: storage.features!.dateTime64 ? `${expected.slice(0, 10)} ${expected.slice(11, 23)}` : `${expected.slice(0, 10)} ${expected.slice(11, 19)}`,
  })
  await storage.insert('statuses', [{ stream_id: 'cam-1', agent_id: 'edge-1', epoch: 1, status: 'down', reason: 'no signal', insert_ts: now }], 's-1')
  await storage.insert('heatmap', [{ stream_id: 'cam-1', uniq_id: 'u1', country: 'FR' }], 'h-1')
  await storage.insert('events', [{ stream_id: 'cam-1', uniq_id: 'u1', event: 'play', value: 1 }], 'e-1')
  assert.is(await count('monit_test.statuses'), 1)
  assert.is(await count('monit_test.heatmap'), 1)
  assert.is(await count('monit_test.events'), 1)
})

define('token deduplication where the server has it; otherwise a repeated insert is stored twice', async () => {
  const before = await count('monit_test.statuses')
  const rows = [{ stream_id: 'cam-2', agent_id: 'edge-1', epoch: 1, status: 'up', reason: '', insert_ts: now }]
  await storage.insert('statuses', rows, 'same-token')
  await storage.insert('statuses', rows, 'same-token')
  assert.is(await count('monit_test.statuses'), before + (storage.features!.dedupToken ? 1 : 2))
})

define('a batch that may be stored is looked up by token', async () => {
  const before = await count('monit_test.metrics')
  const rows = [metric('cam-resent', 0), metric('cam-resent', 1)]
  await storage.insert('metrics', rows, "resent-batch-'quoted'\\")
  await storage.insert('metrics', rows, "resent-batch-'quoted'\\", { mayBeStored: true })
  assert.is(await count('monit_test.metrics'), before + 2)

  // A batch not stored yet is inserted, even when it may have been.
  await storage.insert('metrics', [metric('cam-resent', 2)], 'resent-batch-2', { mayBeStored: true })
  assert.is(await count('monit_test.metrics'), before + 3)
  if (!storage.features!.dedupToken) {
    const [row] = await storage.query<{ tokens: string }>(
      "SELECT groupUniqArray(batch_id) AS tokens FROM monit_test.metrics WHERE stream_id = 'cam-resent'",
    )
    assert.equal([...(row!.tokens as unknown as string[])].sort(), ["resent-batch-'quoted'\\", 'resent-batch-2'])
  }
})

define('query parameters: refused with a clear error where unsupported', async () => {
  const query = storage.query<{ n: string }>('SELECT count() AS n FROM monit_test.metrics WHERE stream_id = {stream:String}', { stream: 'cam-9' })
  if (storage.features!.queryParams) {
    assert.equal(await query, [{ n: '10' }])
  } else {
    const error = await query.catch((err: unknown) => err)
    assert.instance(error, StorageError)
    assert.is((error as StorageError).retryable, false)
    assert.match((error as Error).message, 'query parameters are not supported by ClickHouse')
  }
})

define('ping; errors carry the ClickHouse code', async () => {
  await storage.ping()
  const error = await storage.query('SELECT * FROM monit_test.nope').catch((err: unknown) => err)
  assert.instance(error, StorageError)
  assert.is((error as StorageError).clickhouseCode, 60) // UNKNOWN_TABLE
  assert.is((error as StorageError).retryable, true)
})

test.run()
