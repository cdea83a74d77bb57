// Creates most of the fleet benchmark's streams in a SQLite database
// through the controller's repository, before the controller starts on it.
// This takes less of the benchmark's time limit than the REST API, where
// each create is one request that also waits for the pass that places it.
//
// Usage: fleet-seed-streams.ts SQLITE_PATH COUNT
import { pino } from 'pino'
import { openRepository } from '../../controller/src/repository/index.ts'

const [path, countArg] = process.argv.slice(2)
const count = Number(countArg)
const repository = await openRepository(`sqlite:${path}`, pino({ level: 'warn' }))
const started = performance.now()
for (let index = 0; index < count; index++) {
  // Never probed: the simulated agents only store the perform.
  await repository.createStream({ id: `bench-stream-${String(index).padStart(5, '0')}`, url: 'udp://127.0.0.1:5000' })
}
const seconds = (performance.now() - started) / 1000
await repository.close()
console.log(JSON.stringify({ streams: count, seconds }))
