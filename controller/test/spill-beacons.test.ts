// Player beacons while ClickHouse is down: the controller keeps accepting
// them into its disk spill and returns 503 only once memory and spill are
// full. chDB cannot be stopped, so the outage is a fault injector: the
// writers insert through a wrapper that fails while it is "down".
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { buildController, type Controller } from '../src/app.ts'
import { loadControllerConfig } from '../src/config.ts'
import { StorageError, type Storage, type StorageRow, type TableName } from '../src/storage/index.ts'
import { TEST_ADMIN_PASSWORD, TEST_JWT_SECRET, waitFor } from '../../testing/controller.ts'

/** Fault injector: inserts fail with a retryable error while `down` is true. */
class OutageStorage {
  down = true
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

let dataDir: string
let controller: Controller
let outage: OutageStorage

let viewers = 0
function beacons(count: number) {
  return Array.from({ length: count }, () => ({
    stream_id: 'spilled',
    unique_id: `viewer-${++viewers}`,
    app: 'web-player',
    version: '2.0.0',
    host: 'www.example.com',
  }))
}

async function post(payload: unknown) {
  const response = await controller.app.inject({
    method: 'POST',
    url: '/api/data/heatmap/v1',
    payload: payload as object,
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
  })
  return { status: response.statusCode, body: response.json(), headers: response.headers }
}

async function storedRows(expression: string): Promise<number> {
  const { storage } = controller.context
  const [row] = await storage.query<{ c: string }>(
    `SELECT ${expression} AS c FROM ${storage.table('heatmap')} WHERE stream_id = {stream_id:String}`,
    { stream_id: 'spilled' },
  )
  return Number(row?.c)
}

test.before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'monit-spill-beacons-'))
  const args = ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--flush-rows', '10', '--flush-ms', '50']
  // Room for about ten 10-row batches on disk (a beacon row is near 300 bytes) and 30 rows in memory.
  args.push('--spill-max-bytes', '32KiB', '--buffer-rows', '30', '--beacon-rate-limit', '0')
  const config = loadControllerConfig(args, { MONIT_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, MONIT_JWT_SECRET: TEST_JWT_SECRET })
  const logger = pino({ level: process.env.MONIT_TEST_LOG_LEVEL ?? 'warn' })
  controller = await buildController(config, logger, {
    wrapInserts: (storage) => (outage = new OutageStorage(storage)),
  })
})

test.after(async () => {
  outage.down = false
  await controller.close().catch((error: unknown) => console.error('closing the controller failed:', error))
  await rm(dataDir, { recursive: true, force: true })
})

test('beacons are spilled during an outage and 503 comes only when the spill is full', async () => {
  let accepted = 0
  let full: Awaited<ReturnType<typeof post>> | undefined
  for (let i = 0; i < 200 && full === undefined; i++) {
    const response = await post(beacons(10))
    if (response.status === 202) accepted += 10
    else full = response
  }

  const writer = controller.context.writers.heatmap
  assert.ok(full, 'a request was refused')
  assert.is(full.status, 503)
  assert.is(full.body.code, 'MONIT_ERR_BUFFER_FULL')
  assert.is(full.headers['retry-after'], '5')
  assert.ok(outage.failedInserts > 0)
  await waitFor('rows in the spill', () => (writer.spilledRows > 0 ? true : undefined), 10_000, 20)
  assert.ok(accepted > 30, `more rows accepted (${accepted}) than memory holds`)
  const files = await readdir(join(dataDir, 'spill', 'heatmap'))
  assert.ok(files.some((name) => name.endsWith('.json')))

  outage.down = false
  await waitFor('the spill to drain', () => (writer.spilledBatches === 0 ? true : undefined), 30_000, 50)
  await writer.flush()
  assert.is(await storedRows('count()'), accepted)
  assert.is(await storedRows('uniqExact(uniq_id)'), accepted)

  const after = await post(beacons(10))
  assert.is(after.status, 202, 'accepts again once drained')
})

test('spill size setting reads units and rejects others', () => {
  assert.is(loadControllerConfig([], {}).spillMaxBytes, 1024 ** 3)
  assert.is(loadControllerConfig(['--spill-max-bytes', '512MiB'], {}).spillMaxBytes, 512 * 1024 ** 2)
  assert.is(loadControllerConfig([], { MONIT_SPILL_MAX_BYTES: '0' }).spillMaxBytes, 0)
  assert.is(loadControllerConfig(['--buffer-rows', '500'], {}).bufferRows, 500)
  assert.throws(() => loadControllerConfig(['--spill-max-bytes', '1GB'], {}), /--spill-max-bytes: "1GB" is not a size/)
  assert.throws(() => loadControllerConfig([], { MONIT_BUFFER_ROWS: '0' }), /MONIT_BUFFER_ROWS/)
})

test.run()
