// Counts the rows of one table in a stopped controller's chDB folder.
import { pino } from 'pino'
import { openStorage } from '../../controller/src/storage/index.ts'

const [dataDir, table = 'heatmap'] = process.argv.slice(2)
const storage = await openStorage({ dataDir: dataDir!, logger: pino({ level: 'warn' }) })
const [counted] = await storage.query<{ rows: string }>(`SELECT count() AS rows FROM ${storage.table(table as 'heatmap')}`)
await storage.close()
console.log(JSON.stringify({ rows: Number(counted!.rows) }))
