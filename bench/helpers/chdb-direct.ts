// The ceiling under the storage writer. The same heatmap rows are encoded as
// TabSeparated before the clock starts, then inserted straight into chDB
// sessions on the controller's heatmap table. Inserts carry 10,000 rows and
// each session has one in flight, as the writer runs them. Prints the rows
// per second.
//
// Usage: chdb-direct.ts ROWS
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { Session } from 'chdb'
import { encodeRows, openStorage } from '../../controller/src/storage/index.ts'
import { PARSE_SETTINGS } from '../../controller/src/storage/embedded.ts'
import { heatmapRows } from './heatmap-rows.ts'

const total = Number(process.argv[2] ?? 500_000)
const perInsert = 10_000
const sessions = 2
const dataDir = await mkdtemp(join(tmpdir(), 'monit-bench-chdb-'))

// The table as the controller creates it, then closed so that raw sessions can open the folder.
const storage = await openStorage({ dataDir, logger: pino({ level: 'warn' }) })
await storage.init()
const features = storage.features!
const table = storage.table('heatmap')
await storage.close()

const bodies = Array.from({ length: total / perInsert }, (_, index) => {
  const encoded = encodeRows('heatmap', heatmapRows(perInsert, index * perInsert), features, 'embedded')
  return { columns: encoded.columns, values: Buffer.from(encoded.body) }
})
const opened = Array.from({ length: sessions }, () => new Session(join(dataDir, 'chdb')))

const started = performance.now()
let next = 0
await Promise.all(
  opened.map(async (session) => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      await session.insert({ table, values: body.values, format: 'TabSeparated', columns: body.columns, settings: PARSE_SETTINGS })
    }
  }),
)
const seconds = (performance.now() - started) / 1000

for (const session of opened) session.close()
await rm(dataDir, { recursive: true, force: true })
console.log(JSON.stringify({ rows: total, seconds, rowsPerSecond: total / seconds }))
