// Feeds heatmap rows straight into the storage writer (chDB), 100 rows per
// add() as in a 100-beacon request, and prints the rows per second it
// reaches once every row is stored.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { openStorage } from '../../controller/src/storage/index.ts'
import { BatchWriter } from '../../controller/src/storage/writer.ts'
import { heatmapRows } from './heatmap-rows.ts'

const total = Number(process.argv[2] ?? 500_000)
const perAdd = 100
const logger = pino({ level: 'warn' })
const dataDir = await mkdtemp(join(tmpdir(), 'monit-bench-writer-'))
const storage = await openStorage({ dataDir, logger })
await storage.init()
const writer = new BatchWriter(storage, 'heatmap', { logger, maxRows: 10_000, flushMs: 1000, maxBufferedRows: 1_000_000 })
const batches = Array.from({ length: total / perAdd }, (_, index) => heatmapRows(perAdd, index * perAdd))

const started = performance.now()
for (const rows of batches) {
  while (!writer.add(rows)) await new Promise((done) => setTimeout(done, 5))
}
await writer.flush()
const seconds = (performance.now() - started) / 1000

const [counted] = await storage.query<{ rows: string }>(`SELECT count() AS rows FROM ${storage.table('heatmap')}`)
await writer.close()
await storage.close()
await rm(dataDir, { recursive: true, force: true })
console.log(JSON.stringify({ rows: total, stored: Number(counted!.rows), seconds, rowsPerSecond: total / seconds }))
