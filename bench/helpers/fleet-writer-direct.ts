// The baseline for the fleet benchmark's metrics figure: metrics rows fed
// straight into the storage writer (chDB) through write(rows, token), in
// batches of ROWS_PER_BATCH rows with IN_FLIGHT batches outstanding, as the
// hub does for the agents' batches. Prints the rows per second once every
// row is stored.
//
// Usage: fleet-writer-direct.ts BATCHES ROWS_PER_BATCH IN_FLIGHT
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { openStorage } from '../../controller/src/storage/index.ts'
import { metricsRecords } from '../../controller/src/storage/rows.ts'
import { BatchWriter } from '../../controller/src/storage/writer.ts'
import type { MetricsRow } from '@monit/protocol'

const batches = Number(process.argv[2] ?? 10_000)
const rowsPerBatch = Number(process.argv[3] ?? 50)
const inFlight = Number(process.argv[4] ?? 2000)
const streamCount = 20_000
const logger = pino({ level: 'warn' })
const dataDir = await mkdtemp(join(tmpdir(), 'monit-bench-fleet-writer-'))
const storage = await openStorage({ dataDir, logger })
await storage.init()
// The controller's defaults for --flush-rows and --flush-ms, and the --buffer-rows the benchmark gives it.
const writer = new BatchWriter(storage, 'metrics', { logger, maxRows: 10_000, flushMs: 1000, maxBufferedRows: 1_000_000 })

function batchRows(batch: number): MetricsRow[] {
  const now = Date.now()
  return Array.from({ length: rowsPerBatch }, (_, index) => ({
    stream_id: `bench-stream-${String((batch * rowsPerBatch + index) % streamCount).padStart(5, '0')}`,
    epoch: 1,
    ts_ms: now - index,
    bitrate: 2_500_000,
    frames: 250,
    width: 1280,
    height: 720,
    fps: 25,
    bytes: 3_125_000,
    seconds: 10,
    keyframe_interval: 2,
    codecs: 'h264,aac',
    probe_duration_ms: 10_150,
  }))
}

let next = 0
const started = performance.now()
async function feed(): Promise<void> {
  while (next < batches) {
    const batch = next++
    const agentId = `bench-agent-${String(batch % 1000).padStart(5, '0')}`
    await writer.write(metricsRecords(agentId, batchRows(batch)), `${agentId}-batch-${batch}`)
  }
}
await Promise.all(Array.from({ length: inFlight }, () => feed()))
const seconds = (performance.now() - started) / 1000

const [counted] = await storage.query<{ rows: string }>(`SELECT count() AS rows FROM ${storage.table('metrics')}`)
await writer.close()
await storage.close()
await rm(dataDir, { recursive: true, force: true })
const rows = batches * rowsPerBatch
console.log(JSON.stringify({ rows, stored: Number(counted!.rows), seconds, rowsPerSecond: rows / seconds }))
