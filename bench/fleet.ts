// A simulated fleet against one controller on this machine, with each figure
// printed beside a baseline measured in the same run. It measures placement
// cost as the stream count doubles, and the incremental pass after a lost
// agent at 100 and at 1,000 agents. It compares controller CPU while the fleet
// heartbeats with a bare ws server and its own fleet over the same window,
// and metrics rows per second from the fleet
// with the storage writer fed directly. It also prints the time until every
// stream is assigned and the controller's peak memory. Everything runs on 127.0.0.1. Every child
// process is stopped at the end, and the whole run is killed after a fixed limit.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peakMemoryMiB, report, runHelper, startControllerProcess, stopProcess, waitForHttp, type ControllerProcess } from './helpers/processes.ts'
import { MAX_STREAMS, placementMs, reassignmentMs } from './helpers/fleet-placement.ts'
import { cpuOver, LoadProcess, openFileLimit, sleep, waitFor } from './helpers/fleet-load.ts'
import { freePort } from '../testing/ports.ts'

const wantedAgents = Number(process.env.MONIT_BENCH_FLEET_AGENTS ?? 1000)
const streamCount = Number(process.env.MONIT_BENCH_FLEET_STREAMS ?? MAX_STREAMS)
const metricsBatches = Number(process.env.MONIT_BENCH_FLEET_BATCHES ?? 4000)
const loadProcessCount = 2
const heartbeatS = 2
const cpuWindowS = 20
const rowsPerBatch = 50
/** Streams created through the REST API; the others are written to the database before the controller starts. */
const restStreams = 2000
/** Unacknowledged metrics batches each simulated agent keeps in flight. */
const window = 2
const agentToken = 'bench-fleet-agent-token-0123456789'
const adminPassword = 'bench-admin-password'
/** The whole run is killed after this long, with every process it started. */
const runLimitMs = 9 * 60_000
/** The controller welcomes each agent before any scheduling pass, so this only bounds a stalled run. */
const welcomeTimeoutMs = 120_000
/** File descriptors a Node process uses besides its sockets (modules, chDB, SQLite, pipes); an estimate. */
const reservedFds = 200

const children: ChildProcess[] = []
const watchdog = setTimeout(() => {
  console.error(`fleet benchmark still running after ${runLimitMs / 60_000} minutes; killing its processes`)
  for (const child of children) child.kill('SIGKILL')
  process.exit(1)
}, runLimitMs)

/**
 * Returns how many agents the open-file limit allows. Each simulated agent's
 * socket takes one descriptor in its load process and one in the server, so
 * the server process needs the most: one per agent plus the reserve.
 */
function agentsWithinFileLimit(): number {
  const limit = openFileLimit()
  const agents = Math.max(0, Math.min(wantedAgents, limit - reservedFds, loadProcessCount * (limit - reservedFds)))
  console.log(`open-file limit (ulimit -n): ${limit}; about ${agents + reservedFds} descriptors needed by the server process`)
  if (agents < wantedAgents) console.log(`open-file limit too low for ${wantedAgents} agents; using ${agents}`)
  return agents
}

function startLoads(wsUrl: string, agents: number, capacity: number): LoadProcess[] {
  const perProcess = Math.ceil(agents / loadProcessCount)
  const loads: LoadProcess[] = []
  for (let index = 0; index * perProcess < agents; index++) {
    const count = Math.min(perProcess, agents - index * perProcess)
    const load = new LoadProcess(wsUrl, agentToken, index * perProcess, count, capacity, heartbeatS)
    children.push(load.child)
    loads.push(load)
  }
  return loads
}

/** Waits until every agent got its welcome; returns the time the last hello was sent. */
async function waitWelcomed(loads: readonly LoadProcess[], server: string, timeoutMs: number): Promise<number> {
  const started = Date.now()
  try {
    await waitFor(`agents welcomed by the ${server}`, loads, timeoutMs, () => loads.every((load) => load.welcomed !== undefined))
  } finally {
    const welcomed = loads.reduce((sum, load) => sum + (load.welcomed?.agents ?? load.progress.welcomed), 0)
    console.log(`${server}: ${welcomed} agents welcomed after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  return Math.max(...loads.map((load) => load.welcomed!.lastHelloAt))
}

function printPlacement(): void {
  // A discarded round first, so that the first figure does not pay for compiling the placement code and growing the heap.
  placementMs(streamCount, 1000)
  for (const agents of [1000, 100]) {
    const half = placementMs(streamCount / 2, agents)
    const full = placementMs(streamCount, agents)
    const name = `placement of ${streamCount.toLocaleString('en-US')} streams on ${agents.toLocaleString('en-US')} agents (CPU time)`
    const baseline = { name: `${(streamCount / 2).toLocaleString('en-US')} streams`, value: half }
    report(name, full, 'ms', baseline, '<= 2.2x, and under 2,000 ms')
  }
  const small = reassignmentMs(streamCount, 100)
  const large = reassignmentMs(streamCount, 1000)
  report(
    `incremental pass after losing 1 of 1,000 agents (${large.moved} streams move, CPU time)`,
    large.ms,
    'ms',
    { name: `1 of 100 agents (${small.moved} streams move)`, value: small.ms },
    'within 1.5x',
  )
}


/** Starts the bare ws server with its own fleet of `agents` and waits until every one is welcomed. */
async function startBareFleet(agents: number, capacity: number): Promise<{ pid: number; stop: () => Promise<void> }> {
  const port = await freePort()
  const entry = fileURLToPath(new URL('./helpers/fleet-bare-server.ts', import.meta.url))
  const server = spawn(process.execPath, ['--import', 'tsx', entry, String(port), String(heartbeatS)], { stdio: 'inherit' })
  children.push(server)
  let loads: LoadProcess[] = []
  const stop = async () => {
    await Promise.all(loads.map((load) => load.stop()))
    await stopProcess(server)
  }
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000)
    loads = startLoads(`ws://127.0.0.1:${port}/api/agents/v1/ws`, agents, capacity)
    await waitWelcomed(loads, 'bare ws server', 120_000)
    return { pid: server.pid!, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Returns the CPU seconds of the controller and of the bare ws server over
 * the same window, each while its own fleet only heartbeats. Measured side
 * by side, both see the same load from the rest of the machine, which on a
 * shared machine moves more than the figures themselves.
 */
async function heartbeatCpu(controllerPid: number, agents: number, capacity: number): Promise<{ cpu: number; bareCpu: number }> {
  const bare = await startBareFleet(agents, capacity)
  try {
    await sleep(2 * heartbeatS * 1000)
    const [cpu, bareCpu] = await Promise.all([cpuOver(controllerPid, cpuWindowS), cpuOver(bare.pid, cpuWindowS)])
    return { cpu, bareCpu }
  } finally {
    await bare.stop()
  }
}

async function login(url: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/jwt/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: adminPassword }),
  })
  if (!response.ok) throw new Error(`login as admin failed: HTTP ${response.status} ${await response.text()}`)
  return ((await response.json()) as { token: string }).token
}

/** Creates the streams from index `first` on through the REST API, 16 requests at a time; returns the seconds it took. */
async function createStreams(url: string, token: string, first: number): Promise<number> {
  const started = performance.now()
  let next = first
  const createNext = async (): Promise<void> => {
    while (next < streamCount) {
      const id = `bench-stream-${String(next++).padStart(5, '0')}`
      const response = await fetch(`${url}/api/state/streams/v1/${id}/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        // Never probed: the simulated agents only store the perform.
        body: JSON.stringify({ url: 'udp://127.0.0.1:5000' }),
      })
      if (response.status !== 201) throw new Error(`creating stream ${id} failed: HTTP ${response.status} ${await response.text()}`)
    }
  }
  await Promise.all(Array.from({ length: 16 }, () => createNext()))
  return (performance.now() - started) / 1000
}

interface ControllerFigures {
  seedSeconds: number
  createSeconds: number
  assignSeconds: number
  cpu: number
  bareCpu: number
  rowsPerSecond: number
  ackedRows: number
  resent: number
  counted: number
  peakMiB: number
}

/**
 * Waits until the agents hold every stream once and no perform or revoke
 * has come for 2 s, which means rebalancing has settled. Returns the time
 * the last perform or revoke arrived.
 */
async function waitAssigned(loads: readonly LoadProcess[]): Promise<number> {
  const held = () => loads.reduce((sum, load) => sum + load.progress.streams, 0)
  const lastPerform = () => Math.max(...loads.map((load) => load.progress.lastPerformAt))
  await waitFor('every stream assigned', loads, 120_000, () => held() === streamCount && Date.now() - lastPerform() > 2000)
  return lastPerform()
}

async function sendMetrics(loads: readonly LoadProcess[]): Promise<{ rowsPerSecond: number; ackedRows: number; resent: number }> {
  const perProcess = Math.ceil(metricsBatches / loads.length)
  loads.forEach((load, index) => {
    const batches = Math.min(perProcess, metricsBatches - index * perProcess)
    load.request({ type: 'metrics', batches, rowsPerBatch, window })
  })
  await waitFor('metrics batches acknowledged', loads, 180_000, () => loads.every((load) => load.metrics !== undefined))
  const reports = loads.map((load) => load.metrics!)
  const ackedRows = reports.reduce((sum, entry) => sum + entry.ackedRows, 0)
  const seconds = (Math.max(...reports.map((entry) => entry.finishedAt)) - Math.min(...reports.map((entry) => entry.startedAt))) / 1000
  return { rowsPerSecond: ackedRows / seconds, ackedRows, resent: reports.reduce((sum, entry) => sum + entry.resent, 0) }
}

async function controllerFleet(agents: number, capacity: number): Promise<ControllerFigures> {
  const databaseDir = await mkdtemp(join(tmpdir(), 'monit-bench-fleet-db-'))
  const databasePath = join(databaseDir, 'monit.sqlite')
  const seeded = Math.max(0, streamCount - restStreams)
  const seed = await runHelper<{ seconds: number }>('bench/helpers/fleet-seed-streams.ts', [databasePath, String(seeded)])
  const controller: ControllerProcess = await startControllerProcess(await freePort(), {
    MONIT_DATABASE: `sqlite:${databasePath}`,
    MONIT_AGENT_TOKEN: agentToken,
    MONIT_ADMIN_PASSWORD: adminPassword,
    MONIT_HEARTBEAT_INTERVAL_S: String(heartbeatS),
    MONIT_WRITE_RATE_LIMIT: '1000000',
    // Room for every agent's window of batches, so no batch is refused as not_ready.
    MONIT_BUFFER_ROWS: '1000000',
  })
  children.push(controller.child)
  let loads: LoadProcess[] = []
  try {
    const createSeconds = await createStreams(controller.url, await login(controller.url), seeded)
    loads = startLoads(`${controller.url.replace('http', 'ws')}/api/agents/v1/ws`, agents, capacity)
    const lastHello = await waitWelcomed(loads, 'controller', welcomeTimeoutMs)
    const lastPerform = await waitAssigned(loads)
    console.log(`every stream assigned ${((lastPerform - lastHello) / 1000).toFixed(2)} s after the last hello`)
    const { cpu, bareCpu } = await heartbeatCpu(controller.child.pid!, agents, capacity)
    console.log(`over the same ${cpuWindowS} s of heartbeats: controller ${cpu.toFixed(2)} CPU s, bare ws server ${bareCpu.toFixed(2)} CPU s`)
    const metrics = await sendMetrics(loads)
    console.log(`metrics: ${metrics.ackedRows} rows acknowledged at ${Math.round(metrics.rowsPerSecond)} rows/s`)
    const peakMiB = peakMemoryMiB(controller.child.pid!)
    await Promise.all(loads.map((load) => load.stop()))
    await controller.stop()
    const counted = await runHelper<{ rows: number }>('bench/helpers/count-rows.ts', [controller.dataDir, 'metrics'])
    return { seedSeconds: seed.seconds, createSeconds, assignSeconds: (lastPerform - lastHello) / 1000, cpu, bareCpu, ...metrics, counted: counted.rows, peakMiB }
  } finally {
    await Promise.all(loads.map((load) => load.stop()))
    await controller.stop()
    await rm(databaseDir, { recursive: true, force: true })
    await rm(controller.dataDir, { recursive: true, force: true })
  }
}

const agents = agentsWithinFileLimit()
// Room for twice each agent's share of the streams, so every stream fits as agents connect one by one.
const capacity = Math.ceil((2 * streamCount) / agents)
console.log(
  `fleet: ${agents} simulated agents in ${loadProcessCount} processes, capacity ${capacity} each, ${streamCount} streams, ` +
    `heartbeat every ${heartbeatS} s, ${metricsBatches} metrics batches of ${rowsPerBatch} rows, ${window} unacknowledged per agent`,
)

printPlacement()

const direct = await runHelper<{ rowsPerSecond: number; stored: number; rows: number }>('bench/helpers/fleet-writer-direct.ts', [
  String(metricsBatches),
  String(rowsPerBatch),
  String(agents * window),
])
console.log(`baseline measured: storage writer fed directly stored ${direct.stored} of ${direct.rows} rows at ${Math.round(direct.rowsPerSecond)} rows/s`)

let fleet: ControllerFigures
try {
  fleet = await controllerFleet(agents, capacity)
} catch (error) {
  // The progress lines above hold the figures measured before the failure.
  console.log(`fleet against the controller failed: ${(error as Error).message}`)
  clearTimeout(watchdog)
  process.exit(1)
}

console.log(
  `streams written to the database before the controller started: ${Math.max(0, streamCount - restStreams)} in ${fleet.seedSeconds.toFixed(1)} s; ` +
    `then created through the REST API: ${Math.min(restStreams, streamCount)} in ${fleet.createSeconds.toFixed(1)} s`,
)
report(`controller CPU over ${cpuWindowS} s while ${agents} agents heartbeat`, fleet.cpu, 'CPU s', { name: 'bare ws server, same window', value: fleet.bareCpu }, '<= 2x')
report('time from the last hello until every stream is assigned', fleet.assignSeconds, 's')
report('metrics rows from the fleet', fleet.rowsPerSecond, 'rows/s', { name: 'storage writer fed directly', value: direct.rowsPerSecond }, '>= 0.5x')
const verdict = fleet.counted === fleet.ackedRows ? 'all present once' : 'MISMATCH'
console.log(`metrics rows acknowledged: ${fleet.ackedRows.toLocaleString('en-US')}; counted in ClickHouse: ${fleet.counted.toLocaleString('en-US')}; ${verdict}`)
console.log(`metrics batches resent after a not_ready error: ${fleet.resent}`)
report('controller peak memory (VmHWM)', fleet.peakMiB, 'MiB')
clearTimeout(watchdog)
