// Fleet scheduling with two real agent processes in different regions. A
// stream that requires a region runs there, and draining an agent moves its
// stream. A stream with two vantage points runs on both agents, and each
// agent reports its own metrics rows and status.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { restClient, type RestClient } from '../../testing/e2e.ts'

let server: TestController
let source: HlsStream
let api: RestClient
const agents: AgentProcess[] = []
const probe = { interval_s: 4, sample_s: 2, timeout_s: 5 }

interface Assignment {
  agent_id: string
  slot: string
  epoch: number
  reason: string
  status: string | null
}

/** Agent ids of the stream's metrics rows. */
async function rowAgents(streamId: string): Promise<Set<string>> {
  const { body } = await api('GET', `/api/query/metrics/v1?stream_id=${streamId}`)
  return new Set((body.rows as Array<{ agent_id: string }>).map((row) => row.agent_id))
}

function waitForRowsFrom(streamId: string, agentId: string) {
  return waitFor(`metrics rows of ${streamId} from ${agentId}`, async () => ((await rowAgents(streamId)).has(agentId) ? true : undefined), 60_000, 1000)
}

async function getStream(id: string) {
  return (await api('GET', `/api/state/streams/v1/${id}`)).body
}

test.before(async () => {
  server = await startTestController(['--reassign-grace', '2'])
  api = restClient(server)
  source = await startHlsStream()
  for (const region of ['a', 'b']) {
    const args = ['--labels', `region=${region}`, '--capacity', '10']
    agents.push(startAgentProcess({ controllerUrl: server.url, token: server.agentToken, id: `edge-${region}`, args }))
  }
  await waitFor('both agents to connect', async () => {
    const { body } = await api('GET', '/api/agents/v1')
    const connected = body.agents.filter((agent: { connected: boolean }) => agent.connected)
    return connected.length === 2 ? true : undefined
  }, 30_000)
})

test.after(async () => {
  for (const agent of agents) await agent.stop()
  await server.stop()
  await stopAllTestStreams()
})

test('a stream requiring region=b runs on agent b', async () => {
  const created = await api('POST', '/api/state/streams/v1/needs-b/create', {
    url: source.url,
    probe,
    required_labels: { region: 'b' },
  })
  assert.is(created.status, 201)
  assert.is(created.body.agent_id, 'edge-b')
  await waitForRowsFrom('needs-b', 'edge-b')
  assert.equal([...(await rowAgents('needs-b'))], ['edge-b'])

  const detail = await api('GET', '/api/agents/v1/edge-b')
  assert.equal(detail.body.streams, ['needs-b'])
  assert.is(detail.body.load, 1)
})

test('draining an agent moves its stream', async () => {
  const created = await api('POST', '/api/state/streams/v1/movable/create', { url: source.url, probe })
  assert.is(created.status, 201)
  // edge-b already runs needs-b, so the least-loaded agent is edge-a.
  assert.is(created.body.agent_id, 'edge-a')
  await waitForRowsFrom('movable', 'edge-a')

  const drained = await api('POST', '/api/agents/v1/edge-a/drain')
  assert.is(drained.status, 200)
  assert.is(drained.body.draining, true)
  const moved = await getStream('movable')
  assert.is(moved.agent_id, 'edge-b')
  assert.is(moved.assignments[0].reason, 'moved: agent drained')
  assert.ok(moved.epoch > created.body.epoch)
  await waitForRowsFrom('movable', 'edge-b')

  const undrained = await api('POST', '/api/agents/v1/edge-a/undrain')
  assert.is(undrained.body.draining, false)
  // Shares 0.2 and 0 are within the default rebalance bound of 0.25, so the stream stays.
  assert.is((await getStream('movable')).agent_id, 'edge-b')
})

test('a stream with two vantage points runs on both agents', async () => {
  const created = await api('POST', '/api/state/streams/v1/both/create', {
    url: source.url,
    probe,
    vantage: { count: 2, label: 'region' },
  })
  assert.is(created.status, 201)
  const placed = (created.body.assignments as Assignment[]).map((entry) => [entry.slot, entry.agent_id])
  assert.equal(placed, [
    ['a', 'edge-a'],
    ['b', 'edge-b'],
  ])
  assert.is(created.body.unassigned_reason, null)

  await waitForRowsFrom('both', 'edge-a')
  await waitForRowsFrom('both', 'edge-b')
  const up = await waitFor('both vantage points to report up', async () => {
    const stream = await getStream('both')
    const statuses = (stream.assignments as Assignment[]).map((entry) => entry.status)
    return statuses.every((status) => status === 'up') ? stream : undefined
  }, 60_000, 1000)
  assert.is(up.status, 'up')
  assert.is(up.assignments.length, 2)
})

test.run()
