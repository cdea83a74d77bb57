// A ClickHouse outage under load, with real processes: a controller child
// process (fixtures/spill-controller.ts, no injected faults) writes through
// the 'server' driver to a clickhouse-server started here, while this file
// posts player beacons to it. The server is killed with SIGKILL, stays down
// for 60 s while the beacons go on, and is restarted on the same ports and
// data folder. Afterwards every beacon row the controller accepted (202) is
// in ClickHouse exactly once, counted by the viewer ids sent.
//
// NOTE: 18.16 has no insert_deduplication_token, so nothing deduplicates a
// batch here whose insert was stored but whose response was lost. After
// SIGKILL the port refuses connections at once, so only an insert in flight
// at the moment of the kill can end that way. An outage by SIGSTOP is not
// tested: the kernel keeps accepting connections, and the server stores
// their inserts after SIGCONT although the clients have timed out and will
// send the batch again (checked by hand on 18.16).
// Skipped when clickhouse-server is not installed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { openStorage, type Storage } from '../src/storage/index.ts'
import { findClickHouseServer, startClickHouseServer, type ClickHouseServer } from '../../testing/clickhouse-server.ts'
import { TEST_ADMIN_PASSWORD, TEST_JWT_SECRET, waitFor } from '../../testing/controller.ts'

const OUTAGE_MS = 60_000
const STREAM = 'outage'
const fixture = fileURLToPath(new URL('./fixtures/spill-controller.ts', import.meta.url))
const bin = findClickHouseServer()

if (bin === undefined) {
  console.log('SKIP clickhouse-outage: clickhouse-server is not installed (apt-get install clickhouse-server); its test did not run')
}
const define: (name: string, fn: () => Promise<void>) => void = bin === undefined ? () => {} : test

// The child processes are killed in test.after, and the servers by the helper's exit handler.
const watchdog = setTimeout(() => {
  console.error('clickhouse-outage: timed out after 170 s')
  process.exit(1)
}, 170_000)
watchdog.unref()

let dataDir: string
const servers: ClickHouseServer[] = []
let controller: ChildProcess | undefined
let storage: Storage | undefined

test.before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'monit-clickhouse-outage-'))
})

test.after(async () => {
  if (controller && controller.exitCode === null && controller.signalCode === null) controller.kill('SIGKILL')
  await storage?.close()
  for (const server of servers) await server.stop()
  // The restarted server kept the first one's folder; remove it now.
  if (servers[0]) await rm(servers[0].dir, { recursive: true, force: true })
  await rm(dataDir, { recursive: true, force: true })
  clearTimeout(watchdog)
})

/** Starts the controller process against `url` and resolves with its base URL and output. */
async function startController(url: string): Promise<{ base: string; output: () => string; exited: Promise<number | null> }> {
  const args = ['--import', 'tsx', fixture, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--clickhouse', url]
  args.push('--flush-rows', '200', '--flush-ms', '100', '--beacon-rate-limit', '0')
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      MONIT_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      MONIT_JWT_SECRET: TEST_JWT_SECRET,
      MONIT_LOG_LEVEL: 'info',
      MONIT_TEST_INSERTS_DOWN: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  controller = child
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const base = await waitFor('the controller to listen', () => /\{"listening":"([^"]+)"\}/.exec(output)?.[1], 60_000, 100)
  return { base, output: () => output, exited }
}

/** Beacon load: one request of 10 viewers every 100 ms, each viewer id used once. */
class BeaconLoad {
  readonly accepted = new Set<string>()
  readonly sent = new Set<string>()
  readonly statuses = new Map<number | string, number>()
  #next = 0
  #running = true
  readonly #done: Promise<void>

  constructor(readonly base: string) {
    this.#done = this.#run()
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const ids = Array.from({ length: 10 }, () => `viewer-${++this.#next}`)
      for (const id of ids) this.sent.add(id)
      const body = ids.map((id) => ({ stream_id: STREAM, unique_id: id, app: 'web-player', version: '2.0.0', host: 'www.example.com' }))
      let status: number | string
      try {
        const response = await fetch(`${this.base}/api/data/heatmap/v1`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        })
        status = response.status
        await response.arrayBuffer()
      } catch (error) {
        status = (error as Error).name
      }
      if (status === 202) for (const id of ids) this.accepted.add(id)
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#done
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

define('rows accepted during a 60 s outage are stored once', async () => {
  const first = await startClickHouseServer({ bin, keepDir: true })
  servers.push(first)
  const started = await startController(first.url)
  const load = new BeaconLoad(started.base)

  await sleep(5_000)
  const beforeOutage = load.accepted.size
  first.signal('SIGKILL')
  await first.exited
  await sleep(OUTAGE_MS)
  const duringOutage = load.accepted.size - beforeOutage
  const second = await startClickHouseServer({
    bin,
    dir: first.dir,
    ports: { http: first.httpPort, tcp: first.tcpPort, interserver: first.interserverPort },
  })
  servers.push(second)
  await sleep(5_000)
  await load.stop()

  const output = started.output()
  assert.ok(beforeOutage > 0, 'rows were accepted before the outage')
  assert.ok(duringOutage > 0, `rows were accepted during the outage (statuses: ${JSON.stringify([...load.statuses])})`)
  assert.match(output, '"msg":"insert failed; retrying"')
  assert.match(output, '"msg":"spilling batches to disk"')

  storage = await openStorage({ url: second.url, dataDir, logger: pino({ level: 'silent' }) })
  const table = storage.table('heatmap')
  const expected = load.accepted.size
  // The writer's retry delay grows to 30 s during the outage, so the spill may take that long to drain.
  await waitFor(
    `${expected} accepted rows in ${table}`,
    async () => {
      const [row] = await storage!.query<{ ids: string }>(`SELECT uniqExact(uniq_id) AS ids FROM ${table} WHERE stream_id = '${STREAM}'`)
      return Number(row?.ids) >= expected ? true : undefined
    },
    60_000,
    500,
  )

  const rows = await storage.query<{ uniq_id: string; copies: string }>(
    `SELECT uniq_id, count() AS copies FROM ${table} WHERE stream_id = '${STREAM}' GROUP BY uniq_id`,
  )
  const stored = new Map(rows.map((row) => [row.uniq_id, Number(row.copies)]))
  const missing = [...load.accepted].filter((id) => !stored.has(id))
  const duplicated = [...stored].filter(([, copies]) => copies > 1).map(([id]) => id)
  const unknown = [...stored.keys()].filter((id) => !load.sent.has(id))
  assert.equal(missing, [], 'every accepted row is stored')
  assert.equal(duplicated, [], 'no row is stored twice')
  assert.equal(unknown, [], 'only rows that were sent are stored')
  // Requests that failed or timed out may have been stored too; every 202 must have been.
  assert.ok(stored.size >= expected)

  controller!.kill('SIGTERM')
  assert.is(await started.exited, 0, started.output().slice(-2000))
  console.log(`clickhouse-outage: ${expected} rows accepted (${duringOutage} during the outage), statuses ${JSON.stringify([...load.statuses])}`)
})

test.run()
