// Two controller processes with --cluster on one MariaDB database and one
// clickhouse-server, and two real agents that know both controllers'
// URLs, probing real HLS streams. The first test kills the leader with
// SIGKILL: the other controller must take the scheduler lease, the agents
// must reconnect to it, and every probe must be stored exactly once. The
// second restarts each controller and each agent in turn.
//
// The agents expose no count of the metrics rows they produced, so the
// tests check probe slots instead. A probe runs every INTERVAL_S seconds,
// so no gap between a stream's consecutive stored rows may exceed a few
// intervals (none lost). No row may be stored twice, compared by stream,
// agent, epoch, second and bytes read (none twice). clickhouse-server 18.16
// has no insert_deduplication_token, so a batch whose ack died with its
// controller comes back marked resent and is looked up by its batch_id.
// controller/test/resent-batch.test.ts covers that case deterministically.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import knexFactory, { type Knex } from 'knex'
import { freePort, startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'
import { findClickHouseServer, startClickHouseServer, type ClickHouseServer } from '../../testing/clickhouse-server.ts'
import { mariadbDatabase, type TestDatabase } from '../../testing/databases.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { waitFor, TEST_ADMIN_PASSWORD, TEST_JWT_SECRET } from '../../testing/controller.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const AGENT_TOKEN = 'test-cluster-agent-token-0123456789'
const INTERVAL_S = 2
const LEASE_TTL_S = 3
/** Largest gap allowed between a stream's consecutive rows: a late probe plus clock rounding to whole seconds. */
const MAX_GAP_S = 3 * INTERVAL_S
/** The whole file is killed after this long. */
const FILE_LIMIT_MS = 8 * 60_000

interface ControllerProcess {
  id: string
  port: number
  url: string
  dataDir: string
  child: ChildProcess
  output(): string
}

interface MetricsRow {
  stream_id: string
  agent_id: string
  epoch: number
  /** Seconds since the Unix epoch: insert_ts is a DateTime on clickhouse-server 18.16. */
  at: number
  /** Bytes the probe read, which distinguish two probes in the same second from one row stored twice. */
  bytes: number
}

const clickhouseBin = findClickHouseServer()
let database: TestDatabase
let databaseUrl: string
let settings: Knex
let clickhouse: ClickHouseServer
const hls: HlsStream[] = []
const controllers = new Map<string, ControllerProcess>()
const ports = new Map<string, number>()
const agents = new Map<string, AgentProcess>()
const agentDirs = new Map<string, string>()
const streamIds = ['cluster-a', 'cluster-b']

const watchdog = setTimeout(() => {
  console.error(`controller cluster test still running after ${FILE_LIMIT_MS / 60_000} minutes; killing its processes`)
  for (const controller of controllers.values()) controller.child.kill('SIGKILL')
  for (const agent of agents.values()) agent.child.kill('SIGKILL')
  process.exit(1)
}, FILE_LIMIT_MS)
watchdog.unref()

async function startController(id: string): Promise<ControllerProcess> {
  const port = ports.get(id) ?? (await freePort('tcp'))
  ports.set(id, port)
  const dataDir = mkdtempSync(join(tmpdir(), `monit-cluster-${id}-`))
  const args = [
    '--import', 'tsx', join(root, 'controller/src/main.ts'),
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', dataDir,
    '--database', databaseUrl,
    '--clickhouse', clickhouse.url,
    '--cluster',
    '--controller-id', id,
    '--lease-ttl', String(LEASE_TTL_S),
    '--heartbeat-interval', '1',
    '--reassign-grace', '8',
    '--agent-token', AGENT_TOKEN,
    '--flush-ms', '200',
  ]
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, MONIT_LOG_LEVEL: 'info', MONIT_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, MONIT_JWT_SECRET: TEST_JWT_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const controller = { id, port, url: `http://127.0.0.1:${port}`, dataDir, child, output: () => output }
  controllers.set(id, controller)
  await waitFor(`controller ${id} to listen`, async () => ((await fetch(`${controller.url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60_000, 200)
  return controller
}

async function stopController(id: string, signal: NodeJS.Signals): Promise<void> {
  const controller = controllers.get(id)
  if (controller === undefined) return
  controllers.delete(id)
  const exited = new Promise<void>((done) => {
    if (controller.child.exitCode !== null || controller.child.signalCode !== null) done()
    else controller.child.once('exit', () => done())
  })
  controller.child.kill(signal)
  const timer = setTimeout(() => controller.child.kill('SIGKILL'), 20_000)
  await exited
  clearTimeout(timer)
  rmSync(controller.dataDir, { recursive: true, force: true })
}

function startAgent(id: string, order: string[]): AgentProcess {
  const dataDir = agentDirs.get(id) ?? mkdtempSync(join(tmpdir(), `monit-cluster-agent-${id}-`))
  agentDirs.set(id, dataDir)
  const urls = order.map((controllerId) => `http://127.0.0.1:${ports.get(controllerId)}`).join(',')
  const agent = startAgentProcess({ controllerUrl: urls, token: AGENT_TOKEN, id, args: ['--data-dir', dataDir] })
  agents.set(id, agent)
  return agent
}

/** Calls the REST API of any running controller, logging in as admin. */
async function api(method: 'GET' | 'POST', path: string, body?: object): Promise<{ status: number; body: any }> {
  const controller = [...controllers.values()][0]!
  const login = await fetch(`${controller.url}/api/auth/jwt/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: TEST_ADMIN_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  const response = await fetch(`${controller.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: await response.json() }
}

async function leaseHolder(): Promise<string | undefined> {
  const row = (await settings('leases').where('name', 'scheduler').first('holder', 'expires_at')) as { holder: string; expires_at: number | string } | undefined
  return row !== undefined && Number(row.expires_at) > Date.now() ? row.holder : undefined
}

/** Returns the controller each connected agent is on, by agent id. */
async function agentControllers(): Promise<Map<string, string>> {
  const rows = (await settings('agents').where('connected', true).select('id', 'controller_id')) as Array<{ id: string; controller_id: string | null }>
  return new Map(rows.filter((row) => row.controller_id !== null).map((row) => [row.id, row.controller_id!]))
}

async function clickhouseQuery(sql: string): Promise<string> {
  const response = await fetch(`${clickhouse.url}/?query=${encodeURIComponent(sql)}`)
  const text = await response.text()
  if (!response.ok) throw new Error(`ClickHouse query failed: HTTP ${response.status} ${text}`)
  return text
}

async function metricsRows(): Promise<MetricsRow[]> {
  const text = await clickhouseQuery(
    'SELECT stream_id, agent_id, epoch, toUInt32(insert_ts) AS at, bytes FROM monit.metrics ORDER BY stream_id, at FORMAT JSONEachRow',
  )
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const row = JSON.parse(line) as { stream_id: string; agent_id: string; epoch: number | string; at: number | string; bytes: number | string }
      return { stream_id: row.stream_id, agent_id: row.agent_id, epoch: Number(row.epoch), at: Number(row.at), bytes: Number(row.bytes) }
    })
}

async function rowsSince(streamId: string, since: number): Promise<number> {
  return (await metricsRows()).filter((row) => row.stream_id === streamId && row.at * 1000 >= since).length
}

/** Lists the rows (stream, agent, epoch, second, bytes) stored more than once. */
function duplicates(rows: readonly MetricsRow[]): string[] {
  const seen = new Map<string, number>()
  for (const row of rows) {
    const key = `${row.stream_id} ${row.agent_id} epoch ${row.epoch} at ${row.at} bytes ${row.bytes}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  return [...seen].filter(([, count]) => count > 1).map(([key, count]) => `${key} x${count}`)
}

/** Lists the gaps longer than MAX_GAP_S between a stream's consecutive rows. */
function gaps(rows: readonly MetricsRow[], streamId: string): string[] {
  const times = rows.filter((row) => row.stream_id === streamId).map((row) => row.at).sort((a, b) => a - b)
  const found: string[] = []
  for (let index = 1; index < times.length; index++) {
    const gap = times[index]! - times[index - 1]!
    if (gap > MAX_GAP_S) found.push(`${gap} s after ${new Date(times[index - 1]! * 1000).toISOString()}`)
  }
  return found
}

/**
 * Returns the longest time, in seconds, that two agents both stored rows of
 * the stream: each agent's rows are cut into runs without gaps over
 * MAX_GAP_S, and runs of different agents are intersected.
 */
function longestOverlapS(rows: readonly MetricsRow[], streamId: string): number {
  const runs: Array<{ agent: string; start: number; end: number }> = []
  const byAgent = new Map<string, number[]>()
  for (const row of rows) {
    if (row.stream_id !== streamId) continue
    const list = byAgent.get(row.agent_id) ?? []
    list.push(row.at)
    byAgent.set(row.agent_id, list)
  }
  for (const [agent, times] of byAgent) {
    times.sort((a, b) => a - b)
    let start = times[0]!
    for (let index = 1; index <= times.length; index++) {
      if (index === times.length || times[index]! - times[index - 1]! > MAX_GAP_S) {
        runs.push({ agent, start, end: times[index - 1]! })
        start = times[index]!
      }
    }
  }
  let longest = 0
  for (const a of runs) {
    for (const b of runs) {
      if (a.agent >= b.agent) continue
      longest = Math.max(longest, Math.min(a.end, b.end) - Math.max(a.start, b.start))
    }
  }
  return longest
}

async function setStreams(state: 'up' | 'down'): Promise<void> {
  for (const id of streamIds) {
    const response = await api('POST', `/api/state/streams/v1/${id}/${state}`)
    assert.is(response.status, 200, `setting ${id} ${state}: ${JSON.stringify(response.body)}`)
  }
}

/** Waits until each stream has `count` rows stored at or after `since` (milliseconds). */
async function waitForNewRows(since: number, count: number, timeoutMs = 60_000): Promise<void> {
  for (const id of streamIds) {
    await waitFor(`${count} new rows of ${id}`, async () => ((await rowsSince(id, since)) >= count ? true : undefined), timeoutMs, 500)
  }
}

/** Sets the streams down and waits until no new row arrives for 3 intervals, so every row sent is stored. */
async function stopProbing(): Promise<MetricsRow[]> {
  await setStreams('down')
  let previous = -1
  let rows: MetricsRow[] = []
  await waitFor('rows to stop arriving', async () => {
    rows = await metricsRows()
    const settled = rows.length === previous
    previous = rows.length
    return settled ? true : undefined
  }, 60_000, 3 * INTERVAL_S * 1000)
  return rows
}

async function waitForAgentsOn(allowed: readonly string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(`both agents on ${allowed.join(' or ')}`, async () => {
    const placed = await agentControllers()
    const ok = [...agents.keys()].every((id) => allowed.includes(placed.get(id) ?? ''))
    return ok ? true : undefined
  }, timeoutMs, 500)
}

test.before(async () => {
  if (clickhouseBin === undefined) return
  database = mariadbDatabase()
  databaseUrl = await database.setup()
  const url = new URL(databaseUrl)
  settings = knexFactory({
    client: 'mysql2',
    connection: { host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: '', database: url.pathname.slice(1) },
    pool: { min: 0, max: 2 },
  })
  clickhouse = await startClickHouseServer({ bin: clickhouseBin })
  hls.push(await startHlsStream(), await startHlsStream())
  await startController('c1')
  await startController('c2')
  startAgent('edge-1', ['c1', 'c2'])
  startAgent('edge-2', ['c2', 'c1'])
  await waitForAgentsOn(['c1', 'c2'])
})

test.after(async () => {
  for (const agent of agents.values()) await agent.stop()
  for (const id of [...controllers.keys()]) await stopController(id, 'SIGTERM')
  await settings?.destroy()
  await database?.teardown()
  await clickhouse?.stop()
  await stopAllTestStreams()
  for (const dir of agentDirs.values()) rmSync(dir, { recursive: true, force: true })
  clearTimeout(watchdog)
})

test('killed leader is replaced, rows stay whole', async () => {
  if (clickhouseBin === undefined) {
    console.log('clickhouse-server not installed; skipping (make test installs it)')
    return
  }
  for (const [index, id] of streamIds.entries()) {
    const created = await api('POST', `/api/state/streams/v1/${id}/create`, {
      url: hls[index]!.url,
      probe: { interval_s: INTERVAL_S, sample_s: 1, timeout_s: 5 },
    })
    assert.is(created.status, 201, JSON.stringify(created.body))
  }
  const leader = await waitFor('a leader', leaseHolder, 30_000, 250)
  await waitForNewRows(0, 3)

  const killedAt = Date.now()
  await stopController(leader, 'SIGKILL')
  const survivor = leader === 'c1' ? 'c2' : 'c1'
  const next = await waitFor('the lease to move', async () => {
    const holder = await leaseHolder()
    return holder === survivor ? holder : undefined
  }, (LEASE_TTL_S + 20) * 1000, 250)
  assert.is(next, survivor)
  await waitForAgentsOn([survivor])
  await waitForNewRows(killedAt + 4 * INTERVAL_S * 1000, 3)

  const rows = await stopProbing()
  assert.equal(duplicates(rows), [], 'no row stored twice')
  for (const id of streamIds) {
    assert.equal(gaps(rows, id), [], `no probe of ${id} lost`)
    assert.ok(longestOverlapS(rows, id) <= INTERVAL_S, `${id} ran on two agents for ${longestOverlapS(rows, id)} s`)
  }

  // The killed controller comes back as a follower for the next test.
  await startController(leader)
})

test('restarts in turn keep rows whole and single', async () => {
  if (clickhouseBin === undefined) return
  const started = Date.now()
  await setStreams('up')
  await waitForNewRows(started, 2)

  for (const id of ['c1', 'c2']) {
    await stopController(id, 'SIGTERM')
    await startController(id)
    await waitFor('a leader', leaseHolder, (LEASE_TTL_S + 20) * 1000, 250)
    await waitForAgentsOn(['c1', 'c2'])
    await waitForNewRows(Date.now(), 2)
  }
  for (const [id, order] of [['edge-1', ['c1', 'c2']], ['edge-2', ['c2', 'c1']]] as const) {
    await agents.get(id)!.stop()
    startAgent(id, [...order])
    await waitForAgentsOn(['c1', 'c2'])
    await waitForNewRows(Date.now(), 2)
  }

  const rows = (await stopProbing()).filter((row) => row.at * 1000 >= started - 1000)
  assert.equal(duplicates(rows), [], 'no row stored twice')
  for (const id of streamIds) {
    assert.ok(longestOverlapS(rows, id) <= INTERVAL_S, `${id} ran on two agents for ${longestOverlapS(rows, id)} s`)
  }
})

test.run()
