// Cluster mode of the 'server' storage driver on real processes: a
// standalone ZooKeeper and two clickhouse-server replicas of one shard, all
// on 127.0.0.1 (testing/clickhouse-cluster.ts). init() creates the
// ReplicatedMergeTree `<table>_local` tables and the Distributed tables ON
// CLUSTER; rows go in and are counted through the Distributed tables.
//
// NOTE: the servers are Debian's clickhouse-server 18.16. It has no
// insert_deduplication_token, so what drops a resent batch here is the
// Replicated table's own deduplication of a block identical to a recent one
// (replicated_deduplication_window, 100 blocks by default). Not tested here:
// insert_deduplication_token on Replicated tables and through Distributed
// inserts, query parameters, TTL, DateTime64 and LowCardinality on a
// cluster, more than one shard, and any newer server's ON CLUSTER syntax.
// Skipped when clickhouse-server or ZooKeeper (Debian's zookeeper package)
// is missing; scripts/test-setup.sh installs both.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { ConfigError, loadControllerConfig } from '../src/config.ts'
import { BatchWriter, TABLES, openStorage, type Storage, type StorageRow } from '../src/storage/index.ts'
import { findClickHouseServer } from '../../testing/clickhouse-server.ts'
import { startClickHouseCluster, type ClickHouseCluster } from '../../testing/clickhouse-cluster.ts'
import { findZooKeeper } from '../../testing/zookeeper.ts'
import { waitFor } from '../../testing/controller.ts'

const CLUSTER = 'monit_test'
const DATABASE = 'monit_cluster'
const bin = findClickHouseServer()
const zookeeper = findZooKeeper()
const logger = pino({ level: process.env.MONIT_TEST_LOG ?? 'silent' })
const dataDir = mkdtempSync(join(tmpdir(), 'monit-storage-cluster-'))
let cluster: ClickHouseCluster | undefined
/** One storage per replica, both in cluster mode; the first runs init(). */
let storages: Storage[] = []

// Without the servers the cluster tests are not registered (see storage-server.test.ts for why not test.skip).
const canRun = bin !== undefined && zookeeper !== undefined
const define: (name: string, fn: () => Promise<void>) => void = canRun ? test : () => {}
if (!canRun) {
  const missing = [bin === undefined ? 'clickhouse-server' : '', zookeeper === undefined ? 'zookeeper' : ''].filter(Boolean).join(' and ')
  console.log(`SKIP storage-cluster: ${missing} not installed (apt-get install ${missing}); the cluster tests did not run`)
}

// The servers are killed by the helpers' exit handlers if the file hangs.
const watchdog = setTimeout(() => {
  console.error('storage-cluster: timed out after 150 s')
  process.exit(1)
}, 150_000)
watchdog.unref()

test.before(async () => {
  if (!canRun) return
  cluster = await startClickHouseCluster({ name: CLUSTER, replicas: 2, bin, zookeeper })
  storages = await Promise.all(
    cluster.servers.map((server) => openStorage({ url: server.url, dataDir, database: DATABASE, cluster: CLUSTER, logger })),
  )
})

test.after(async () => {
  for (const storage of storages) await storage.close()
  await cluster?.stop()
  rmSync(dataDir, { recursive: true, force: true })
  clearTimeout(watchdog)
})

async function count(storage: Storage, table: string, where = '1'): Promise<number> {
  const [row] = await storage.query<{ c: string }>(`SELECT count() AS c FROM ${DATABASE}.${table} WHERE ${where}`)
  return Number(row?.c)
}

/** Waits until every replica's local table has `expected` matching rows, and returns the counts. */
async function replicatedCounts(table: string, where: string, expected: number): Promise<number[]> {
  let counts: number[] = []
  await waitFor(
    `${expected} rows in ${table} on every replica`,
    async () => {
      counts = await Promise.all(storages.map((storage) => count(storage, `${table}_local`, where)))
      return counts.every((n) => n === expected) ? true : undefined
    },
    30_000,
    200,
  )
  return counts
}

const now = Date.now()
const status = (stream: string, i: number): StorageRow => ({
  stream_id: stream,
  agent_id: 'edge-1',
  epoch: 1,
  status: i % 2 === 0 ? 'up' : 'degraded',
  reason: `row ${i}`,
  insert_ts: now - i * 1000,
})

define('init() creates replicated and Distributed tables on every replica', async () => {
  const [first, second] = storages as [Storage, Storage]
  assert.is(first.cluster, CLUSTER)
  await first.init()
  await second.init() // idempotent, and from the other replica
  for (const storage of storages) {
    const tables = await storage.query<{ name: string; engine: string; engine_full: string }>(
      `SELECT name, engine, engine_full FROM system.tables WHERE database = '${DATABASE}' ORDER BY name`,
    )
    assert.equal(tables.map((t) => t.name), TABLES.flatMap((name) => [name, `${name}_local`]).sort())
    for (const table of TABLES) {
      const local = tables.find((t) => t.name === `${table}_local`)!
      const front = tables.find((t) => t.name === table)!
      assert.is(local.engine, 'ReplicatedMergeTree')
      assert.match(local.engine_full, `ReplicatedMergeTree('/clickhouse/tables/{shard}/${DATABASE}/${table}', '{replica}')`)
      assert.is(front.engine, 'Distributed')
      assert.is(front.engine_full, `Distributed(${CLUSTER}, ${DATABASE}, ${table}_local, cityHash64(stream_id))`)
    }
  }
  const [replicas] = await first.query<{ n: string }>(`SELECT count() AS n FROM system.replicas WHERE database = '${DATABASE}'`)
  assert.is(Number(replicas?.n), TABLES.length)
})

define('inserts go through the Distributed table to both replicas', async () => {
  const [first, second] = storages as [Storage, Storage]
  await first.insert('statuses', Array.from({ length: 20 }, (_, i) => status('cam-a', i)), 'batch-a')
  await second.insert('statuses', Array.from({ length: 5 }, (_, i) => status('cam-b', i)), 'batch-b')
  // insert_distributed_sync: the rows are on one replica when insert() resolves. A read through the
  // Distributed table picks any replica, so it waits for the other replica to fetch the parts.
  assert.equal(await replicatedCounts('statuses', '1', 25), [25, 25])
  assert.is(await count(first, 'statuses'), 25)
  assert.is(await count(second, 'statuses'), 25)
  const [row] = await second.query<{ stream_id: string; rows: string }>(
    `SELECT stream_id, count() AS rows FROM ${second.table('statuses')} WHERE stream_id = 'cam-a' GROUP BY stream_id`,
  )
  assert.equal(row, { stream_id: 'cam-a', rows: '20' })
})

define('batch resent with the same token is stored once', async () => {
  const [first, second] = storages as [Storage, Storage]
  const rows = Array.from({ length: 10 }, (_, i) => status('cam-resent', i))
  await first.insert('statuses', rows, 'resent-1')
  await first.insert('statuses', rows, 'resent-1')
  await second.insert('statuses', rows, 'resent-1') // a retry may reach the other replica
  assert.equal(await replicatedCounts('statuses', "stream_id = 'cam-resent'", 10), [10, 10])
  assert.is(await count(first, 'statuses', "stream_id = 'cam-resent'"), 10)

  // Through the writer: a write() resent after the first one was stored.
  const writer = new BatchWriter(first, 'metrics', { logger, maxRows: 100, flushMs: 50 })
  const metric = (i: number): StorageRow => ({ stream_id: 'cam-w', agent_id: 'edge-1', epoch: 1, bitrate: 1000 + i, codecs: 'h264', insert_ts: now - i })
  const batch = Array.from({ length: 30 }, (_, i) => metric(i))
  await writer.write(batch, 'agent-batch-7')
  await writer.write(batch, 'agent-batch-7')
  await writer.close()
  assert.equal(await replicatedCounts('metrics', "stream_id = 'cam-w'", 30), [30, 30])
  assert.is(await count(second, 'metrics', "stream_id = 'cam-w'"), 30)
})

define('identical rows under a new token are kept', async () => {
  const [first] = storages as [Storage]
  const rows = [status('cam-same', 1)]
  await first.insert('statuses', rows, 'content-1')
  await first.insert('statuses', rows, 'content-2')
  // The second token makes a new block: as insert_deduplication_token where
  // the server has it, and on 18.16 as the batch_id in every row, which
  // changes the block hash that replicated tables deduplicate by.
  assert.equal(await replicatedCounts('statuses', "stream_id = 'cam-same'", 2), [2, 2])
  await first.insert('statuses', [status('cam-same', 2)], 'content-3')
  assert.equal(await replicatedCounts('statuses', "stream_id = 'cam-same'", 3), [3, 3])
})

define('init() brings back a dropped column on both table kinds', async () => {
  const [first, second] = storages as [Storage, Storage]
  // A table as an older build would have left it: metrics without the codecs column.
  await first.command(`ALTER TABLE ${DATABASE}.metrics_local ON CLUSTER ${CLUSTER} DROP COLUMN codecs`)
  await first.command(`DROP TABLE ${DATABASE}.metrics ON CLUSTER ${CLUSTER}`)
  await first.command(
    `CREATE TABLE ${DATABASE}.metrics ON CLUSTER ${CLUSTER} AS ${DATABASE}.metrics_local ENGINE = Distributed(${CLUSTER}, ${DATABASE}, metrics_local, cityHash64(stream_id))`,
  )
  const reopened = await openStorage({ url: cluster!.servers[1]!.url, dataDir, database: DATABASE, cluster: CLUSTER, logger })
  try {
    await reopened.init()
  } finally {
    await reopened.close()
  }
  for (const storage of [first, second]) {
    const columns = await storage.query<{ table: string }>(
      `SELECT table FROM system.columns WHERE database = '${DATABASE}' AND name = 'codecs' AND table IN ('metrics', 'metrics_local') ORDER BY table`,
    )
    assert.equal(columns.map((c) => c.table), ['metrics', 'metrics_local'])
  }
  await first.insert('metrics', [{ stream_id: 'cam-codecs', agent_id: 'edge-1', epoch: 1, codecs: 'hevc', insert_ts: now }], 'codecs-1')
  await replicatedCounts('metrics', "stream_id = 'cam-codecs'", 1)
  const [row] = await second.query<{ codecs: string }>(`SELECT codecs FROM ${second.table('metrics')} WHERE stream_id = 'cam-codecs'`)
  assert.is(row?.codecs, 'hevc')
})

test('embedded driver with a cluster fails at start', async () => {
  const error = await openStorage({ dataDir, cluster: CLUSTER, logger }).catch((err: unknown) => err)
  assert.instance(error, Error)
  assert.match((error as Error).message, 'needs the server driver')
  assert.throws(() => loadControllerConfig(['--clickhouse-cluster', CLUSTER]), (err: unknown) => err instanceof ConfigError && /needs a ClickHouse server URL/.test(err.message))
  assert.throws(
    () => loadControllerConfig(['--clickhouse', 'http://127.0.0.1:8123', '--clickhouse-cluster', 'bad-name']),
    (err: unknown) => err instanceof ConfigError && err.setting === '--clickhouse-cluster',
  )
  const config = loadControllerConfig([], { MONIT_CLICKHOUSE: 'http://127.0.0.1:8123', MONIT_CLICKHOUSE_CLUSTER: CLUSTER })
  assert.is(config.clickhouseCluster, CLUSTER)
})

test.run()
