// The agent's /metrics and /healthz, scraped from a real agent process that
// monitors a real HLS stream and a playlist URL that returns 404.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseListen } from '../agent/src/config.ts'
import { startAgentProcess, waitForMetricsUrl, type AgentProcess } from '../testing/agent.ts'
import { startTestController, waitFor, type TestController } from '../testing/controller.ts'
import { restClient, type RestClient } from '../testing/e2e.ts'
import { startHlsStream, startNotFoundServer, stopAllTestStreams } from '../testing/streams.ts'

const EXPECTED_METRICS = [
  'monit_agent_info',
  'monit_agent_controller_connected',
  'monit_agent_streams_running',
  'monit_agent_probes_total',
  'monit_agent_probe_retries_total',
  'monit_agent_probes_late_total',
  'monit_agent_probe_slots_skipped_total',
  'monit_agent_probe_duration_seconds',
  'monit_agent_spool_pending_batches',
  'monit_agent_spool_bytes',
  'monit_agent_spool_dropped_batches_total',
  'monit_agent_spool_dropped_rows_total',
  'monit_agent_spool_corrupt_files_total',
  'monit_agent_child_processes',
  'process_resident_memory_bytes',
]

/** Reads one sample from Prometheus text; labels as written, such as result="ok". */
function sample(text: string, name: string, labels = ''): number | undefined {
  const series = labels === '' ? name : `${name}{${labels}}`
  const line = text.split('\n').find((row) => row.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`)
  assert.is(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
  return response.text()
}

async function startAgent(server: TestController, id: string, args: string[] = []): Promise<AgentProcess> {
  const agent = startAgentProcess({ controllerUrl: server.url, token: server.agentToken, id, args })
  const api = restClient(server)
  await waitFor(`agent ${id} to connect`, async () => {
    const { body } = await api('GET', '/api/agents/v1')
    return body.agents.find((entry: { id: string; connected: boolean }) => entry.id === id && entry.connected)
  }, 30_000)
  return agent
}

/** TCP ports a process listens on, from its socket inodes and /proc/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        return ''
      }
    })()
    const match = /^socket:\[(\d+)\]$/.exec(target)
    if (match) inodes.add(match[1]!)
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/)
      // fields: sl, local_address, rem_address, st (0A = LISTEN), ..., inode at index 9
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(':')[1]!, 16))
    }
  }
  return ports
}

test('parseListen accepts addresses and off', () => {
  assert.equal(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 })
  assert.equal(parseListen('[::1]:0'), { host: '::1', port: 0 })
  assert.equal(parseListen('localhost:80'), { host: 'localhost', port: 80 })
  assert.is(parseListen('off'), undefined)
  assert.is(parseListen('OFF'), undefined)
  for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', ':9464', '::1:9464', '127.0.0.1:port']) {
    assert.throws(() => parseListen(bad), /metrics-listen/, bad)
  }
})

test('metrics follow probes, streams and the connection', async () => {
  const server = await startTestController()
  const api: RestClient = restClient(server)
  const stream = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000 })
  const notFound = await startNotFoundServer()
  const agent = await startAgent(server, 'metrics-1')
  try {
    const base = await waitForMetricsUrl(agent)
    const health = await fetch(`${base}/healthz`)
    assert.is(health.status, 200)
    assert.equal(await health.json(), { status: 'ok', controller_connected: true })

    const first = await scrape(base)
    for (const name of EXPECTED_METRICS) assert.ok(first.includes(`# TYPE ${name} `), `missing ${name}`)
    assert.is(sample(first, 'monit_agent_info', 'agent_id="metrics-1",version="0.1.0",protocol_version="1"'), 1)
    assert.is(sample(first, 'monit_agent_controller_connected'), 1)
    assert.is(sample(first, 'monit_agent_streams_running'), 0)

    const probe = { interval_s: 2, sample_s: 1, timeout_s: 5 }
    assert.is((await api('POST', '/api/state/streams/v1/live/create', { url: stream.url, probe })).status, 201)
    assert.is((await api('POST', '/api/state/streams/v1/gone/create', { url: notFound.playlistUrl, probe })).status, 201)

    const busy = await waitFor('ok and failed probes in /metrics', async () => {
      const text = await scrape(base)
      const ok = sample(text, 'monit_agent_probes_total', 'result="ok"') ?? 0
      const failed = sample(text, 'monit_agent_probes_total', 'result="failed"') ?? 0
      return ok >= 2 && failed >= 1 ? text : undefined
    }, 60_000, 500)
    assert.is(sample(busy, 'monit_agent_streams_running'), 2)
    const okAttempts = sample(busy, 'monit_agent_probe_duration_seconds_count', 'result="ok"') ?? 0
    assert.ok(okAttempts >= 2, `probe duration histogram counted ${okAttempts} ok attempts`)
    assert.ok((sample(busy, 'monit_agent_probe_duration_seconds_count', 'result="failed"') ?? 0) >= 1)
    assert.ok((sample(busy, 'monit_agent_probe_duration_seconds_sum', 'result="ok"') ?? 0) > 0)
    assert.is(sample(busy, 'monit_agent_spool_dropped_batches_total'), 0)
    assert.is(sample(busy, 'monit_agent_spool_dropped_rows_total'), 0)
    assert.is(sample(busy, 'monit_agent_spool_corrupt_files_total'), 0)
    assert.ok(sample(busy, 'monit_agent_spool_bytes') !== undefined)
    assert.ok(sample(busy, 'monit_agent_spool_pending_batches') !== undefined)
    assert.ok(sample(busy, 'monit_agent_child_processes') !== undefined)

    // Removing the streams keeps the probe totals: counters never go down.
    const okBefore = sample(busy, 'monit_agent_probes_total', 'result="ok"')!
    await api('DELETE', '/api/state/streams/v1/live/delete')
    await api('DELETE', '/api/state/streams/v1/gone/delete')
    const idle = await waitFor('streams_running 0 and no child process', async () => {
      const text = await scrape(base)
      const idleNow = sample(text, 'monit_agent_streams_running') === 0 && sample(text, 'monit_agent_child_processes') === 0
      return idleNow ? text : undefined
    }, 30_000, 250)
    assert.ok(sample(idle, 'monit_agent_probes_total', 'result="ok"')! >= okBefore, 'ok probes went down after the stream stopped')

    await server.controller.close()
    await waitFor('controller_connected 0', async () => {
      const text = await scrape(base)
      return sample(text, 'monit_agent_controller_connected') === 0 ? true : undefined
    }, 15_000, 250)
    const lost = await fetch(`${base}/healthz`)
    assert.is(lost.status, 200)
    assert.equal(await lost.json(), { status: 'ok', controller_connected: false })
  } catch (error) {
    console.error(agent.output())
    throw error
  } finally {
    await agent.stop()
    await server.stop().catch(() => {})
    await stopAllTestStreams()
  }
})

test('metrics-listen off serves nothing', async () => {
  const server = await startTestController()
  const agent = await startAgent(server, 'metrics-off', ['--metrics-listen', 'off'])
  try {
    assert.not.match(agent.output(), 'metrics server listening')
    assert.equal(listeningPorts(agent.child.pid!), [])
  } finally {
    await agent.stop()
    await server.stop()
  }
})

test('metrics port in use leaves agent running', async () => {
  const blocker = createServer()
  await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done))
  const { port } = blocker.address() as { port: number }
  const server = await startTestController()
  const agent = await startAgent(server, 'metrics-busy', ['--metrics-listen', `127.0.0.1:${port}`])
  try {
    await waitFor('the listen error in the log', () => (agent.output().includes('metrics server failed to listen') ? true : undefined), 10_000, 100)
    assert.is(agent.child.exitCode, null)
    assert.equal(listeningPorts(agent.child.pid!), [])
  } finally {
    await agent.stop()
    await server.stop()
    blocker.close()
  }
})

test.run()
