// An agent process killed with SIGKILL while it cannot reach the controller
// keeps its unsent metrics in its spool folder. The next agent process with
// the same id and folder sends them, and the controller stores every row
// the first process produced exactly once. The agent reaches the controller
// through a TCP proxy on 127.0.0.1 that the test closes to cut it off.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHlsStream, stopAllTestStreams } from '../../testing/streams.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { restClient, waitForRows, type RestClient } from '../../testing/e2e.ts'

const AGENT_ID = 'spool-edge'
const STREAM_ID = 'spooled'

interface Proxy {
  url: string
  /** Closes the listener and every connection, so the agent gets connection refused. */
  cut(): void
}

/** Forwards TCP connections from a free port on 127.0.0.1 to the controller. */
async function startProxy(target: URL): Promise<Proxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      server.close()
      for (const socket of sockets) socket.destroy()
    },
  }
}

let server: TestController
let api: RestClient
let dataDir: string
const agents: AgentProcess[] = []

function startAgent(controllerUrl: string): AgentProcess {
  const agent = startAgentProcess({
    controllerUrl,
    token: server.agentToken,
    id: AGENT_ID,
    args: ['--data-dir', dataDir, '--log-level', 'debug'],
  })
  agents.push(agent)
  return agent
}

/** Returns the ts_ms of every row the agent put in its spool, from its debug log. */
function spooledRows(agent: AgentProcess): number[] {
  return agent
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"metrics row spooled"'))
    .map((line) => (JSON.parse(line) as { ts_ms: number }).ts_ms)
}

/** Stored rows of the test stream: ts_ms and how often it is stored. */
async function storedRows(): Promise<Map<number, number>> {
  const { storage } = server.controller.context
  const rows = await storage.query<{ ts: string; copies: string }>(
    `SELECT toUnixTimestamp64Milli(insert_ts) AS ts, count() AS copies FROM ${storage.table('metrics')}
     WHERE stream_id = {stream:String} AND agent_id = {agent:String} GROUP BY ts`,
    { stream: STREAM_ID, agent: AGENT_ID },
  )
  return new Map(rows.map((row) => [Number(row.ts), Number(row.copies)]))
}

async function connected(): Promise<true | undefined> {
  const { body } = await api('GET', '/api/agents/v1')
  return body.agents.some((agent: { id: string; connected: boolean }) => agent.id === AGENT_ID && agent.connected) ? true : undefined
}

test.before(async () => {
  // A long grace keeps the stream on this agent id across the restart, so its rows stay current.
  server = await startTestController(['--reassign-grace', '120'])
  api = restClient(server)
  dataDir = await mkdtemp(join(tmpdir(), 'monit-agent-spool-'))
})

test.after(async () => {
  for (const agent of agents) await agent.stop()
  await server.stop()
  await stopAllTestStreams()
  await rm(dataDir, { recursive: true, force: true })
})

test('rows spooled before SIGKILL are stored once after restart', async () => {
  const stream = await startHlsStream({ width: 640, height: 360, videoBitrate: 500_000, audio: false })
  const proxy = await startProxy(new URL(server.url))
  const first = startAgent(proxy.url)
  await waitFor('the agent to connect', connected, 30_000)

  const created = await api('POST', `/api/state/streams/v1/${STREAM_ID}/create`, {
    url: stream.url,
    probe: { interval_s: 3, sample_s: 2, timeout_s: 5 },
  })
  assert.is(created.status, 201)
  await waitForRows({ api }, STREAM_ID, 2)

  proxy.cut()
  const spoolDir = join(dataDir, 'spool', AGENT_ID)
  const batchFiles = async () => (await readdir(spoolDir)).filter((name) => /^\d+-\d+-.+\.json$/.test(name))
  await waitFor('two batches in the spool', async () => ((await batchFiles()).length >= 2 ? true : undefined), 60_000, 200)

  // Killed right after a row, so that no row is between journal and log.
  const rowsSoFar = spooledRows(first).length
  await waitFor('one more row', () => (spooledRows(first).length > rowsSoFar ? true : undefined), 30_000, 20)
  first.child.kill('SIGKILL')
  await first.exited
  const produced = spooledRows(first)
  const spooled = await batchFiles()
  assert.ok(spooled.length >= 2, `batches left in the spool: ${spooled.join(', ')}`)

  const second = startAgent(server.url)
  await waitFor('every row of the killed agent to be stored', async () => {
    const stored = await storedRows()
    return produced.every((ts) => stored.has(ts)) ? true : undefined
  }, 60_000, 500)
  assert.match(second.output(), /"msg":"spool loaded; unsent data goes out after connecting"/)

  const stored = await storedRows()
  const lastProduced = Math.max(...produced)
  const firstRun = [...stored.keys()].filter((ts) => ts <= lastProduced).sort()
  assert.equal(firstRun, [...produced].sort(), 'the rows stored up to the kill are the rows the agent produced')
  for (const [ts, copies] of stored) assert.is(copies, 1, `row at ${ts} stored ${copies} times`)
  for (const name of spooled) {
    await waitFor(`${name} to be deleted`, async () => ((await batchFiles()).includes(name) ? undefined : true), 30_000, 200)
  }
})

test.run()
