// A metrics batch that a controller stored but never acknowledged (it died
// first) reaches another controller again, marked resent by the agent. On
// Debian's clickhouse-server 18.16, which has no insert_deduplication_token,
// the controller finds the batch by its batch_id column and acknowledges it
// without storing it twice. The test stores the batch itself, as the dead
// controller would have, and speaks the agent protocol over a real WebSocket.
// Skipped when clickhouse-server is not installed; CI installs it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { MetricsRow } from '@monit/protocol'
import { metricsRecords, openStorage, type Storage } from '../src/storage/index.ts'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { connectFakeAgent, type FakeAgent } from '../../testing/fake-agent.ts'
import { findClickHouseServer, startClickHouseServer, type ClickHouseServer } from '../../testing/clickhouse-server.ts'

const bin = findClickHouseServer()
const define: (name: string, fn: () => Promise<void>) => void = bin === undefined ? () => {} : test
if (bin === undefined) console.log('SKIP resent-batch: clickhouse-server is not installed; its 2 tests did not run')

const AGENT_ID = 'edge-resend'
const STREAM_ID = 'cam-resend'
const dataDir = mkdtempSync(join(tmpdir(), 'monit-resent-batch-'))
let clickhouse: ClickHouseServer | undefined
let server: TestController | undefined
let storage: Storage
let agent: FakeAgent
let epoch = 0

let probes = 0
function rows(count: number): MetricsRow[] {
  return Array.from({ length: count }, () => {
    probes += 1
    return {
      stream_id: STREAM_ID,
      epoch,
      ts_ms: Date.now() - 60_000 + probes * 1000,
      bitrate: 2_000_000,
      frames: 250,
      width: 1280,
      height: 720,
      fps: 25,
      bytes: 1_000_000 + probes,
      seconds: 10,
      keyframe_interval: 50,
      codecs: 'h264',
      probe_duration_ms: 10_000,
    }
  })
}

async function storedRows(): Promise<number> {
  const [row] = await storage.query<{ stored: string }>(`SELECT count() AS stored FROM ${storage.table('metrics')} WHERE stream_id = '${STREAM_ID}'`)
  return Number(row?.stored)
}

/** Sends a batch and resolves once the controller acknowledges it. */
async function sendBatch(batchId: string, batch: MetricsRow[], resent: boolean): Promise<void> {
  agent.send({ type: 'metrics', batch_id: batchId, rows: batch, ...(resent ? { resent: true } : {}) })
  const reply = await agent.next((message) => ('batch_id' in message && message.batch_id === batchId) || message.type === 'error')
  assert.equal(reply, { type: 'ack', batch_id: batchId })
}

test.before(async () => {
  if (bin === undefined) return
  try {
    clickhouse = await startClickHouseServer({ bin })
    server = await startTestController(['--clickhouse', clickhouse.url, '--clickhouse-database', 'monit_resent'])
    storage = await openStorage({ url: clickhouse.url, dataDir, database: 'monit_resent', logger: pino({ level: 'silent' }) })
    await storage.init()

    const created = await server.inject({ method: 'POST', url: `/api/state/streams/v1/${STREAM_ID}/create`, payload: { url: 'udp://127.0.0.1:5000' } })
    assert.is(created.statusCode, 201, created.body)
    agent = await connectFakeAgent(server.url, server.agentToken)
    agent.hello(AGENT_ID)
    const perform = await agent.next((message) => message.type === 'perform')
    if (perform.type === 'perform') epoch = perform.epoch
  } catch (error) {
    // uvu drops errors thrown here without a word.
    console.error('resent-batch setup failed:', error)
    throw error
  }
})

test.after(async () => {
  agent?.close()
  await storage?.close()
  await server?.stop()
  await clickhouse?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

define('resent batch stored by another controller', async () => {
  assert.is(storage.features!.dedupToken, false, 'the server cannot deduplicate by token, so the lookup is what keeps the batch single')
  const batch = rows(3)
  // What the controller that died had stored before it could send the ack.
  await storage.insert('metrics', metricsRecords(AGENT_ID, batch), 'batch-stored-before-crash')
  assert.is(await storedRows(), 3)

  await sendBatch('batch-stored-before-crash', batch, true)
  assert.is(await storedRows(), 3)
})

define('resent batch not stored yet', async () => {
  const before = await storedRows()
  await sendBatch('batch-never-stored', rows(2), true)
  assert.is(await storedRows(), before + 2)
})

test.run()
