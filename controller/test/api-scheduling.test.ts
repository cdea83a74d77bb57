// Fleet scheduling through the REST API, with fake agents on real WebSocket
// connections: required labels, weights and load, drain and undrain, pins,
// vantage points with per-agent statuses, and the 400 and 404 responses.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage, type Perform } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'

let server: TestController
const streams = '/api/state/streams/v1'
const agentsBase = '/api/agents/v1'
const url = 'udp://127.0.0.1:5000'
const fakes: FakeAgent[] = []

interface FakeAgent {
  id: string
  messages: ControllerMessage[]
  send(message: object): void
  close(): void
}

/** Connects an agent, sends its hello and records the messages the controller sends it. */
async function connectAgent(id: string, labels: Record<string, string>, capacity = 10): Promise<FakeAgent> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}${agentsBase}/ws`, {
    headers: { authorization: `Bearer ${server.agentToken}` },
  })
  const messages: ControllerMessage[] = []
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())))
  await new Promise((done, fail) => {
    socket.once('open', done)
    socket.once('error', fail)
  })
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, agent_id: id, name: id, version: 'test', labels, capacity, streams: [] }
  socket.send(JSON.stringify(hello))
  await waitFor(`welcome for ${id}`, () => (messages.some((message) => message.type === 'welcome') ? true : undefined), 5000, 50)
  const agent = { id, messages, send: (message: object) => socket.send(JSON.stringify(message)), close: () => socket.close() }
  fakes.push(agent)
  return agent
}

/** Waits for the perform (or revoke) of a stream that the agent received. */
function order<T extends 'perform' | 'revoke'>(agent: FakeAgent, type: T, streamId: string, epoch?: number) {
  const found = () =>
    agent.messages.find(
      (message) => message.type === type && message.stream_id === streamId && (epoch === undefined || message.epoch === epoch),
    ) as Extract<ControllerMessage, { type: T }> | undefined
  return waitFor(`${type} of ${streamId} on ${agent.id}`, found, 5000, 50)
}

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, payload?: object, role: Role = Role.admin) {
  const response = await server.inject({ method, url: path, ...(payload === undefined ? {} : { payload }) }, role)
  return { status: response.statusCode, body: response.json() }
}

const getStream = async (id: string) => (await call('GET', `${streams}/${id}`)).body

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  for (const agent of fakes) agent.close()
  await server.stop()
})

// Validation.

test('create stores the scheduling fields', async () => {
  const { status, body } = await call('POST', `${streams}/fields/create`, {
    url,
    desired_state: 'down',
    required_labels: { region: 'eu', network: 'isp-a' },
    weight: 3,
    pinned_agent_id: 'edge-9',
  })
  assert.is(status, 201)
  assert.equal(body.required_labels, { region: 'eu', network: 'isp-a' })
  assert.is(body.weight, 3)
  assert.is(body.pinned_agent_id, 'edge-9')
  assert.is(body.vantage, null)
  assert.equal(body.assignments, [])
})

test('update clears a pin and sets vantage points', async () => {
  const { status, body } = await call('POST', `${streams}/fields/update`, {
    pinned_agent_id: null,
    vantage: { count: 2, label: 'tier' },
  })
  assert.is(status, 200)
  assert.is(body.pinned_agent_id, null)
  assert.equal(body.vantage, { count: 2, label: 'tier' })
  assert.is(body.weight, 3)
})

const invalidCreates: Array<[string, object, RegExp]> = [
  ['weight 0', { weight: 0 }, /^body\/weight /],
  ['fractional weight', { weight: 1.5 }, /^body\/weight /],
  ['vantage count 0', { vantage: { count: 0, label: 'region' } }, /^body\/vantage\/count /],
  ['vantage without label', { vantage: { count: 2 } }, /^body\/vantage\/label: missing/],
  ['vantage count above 16', { vantage: { count: 17, label: 'region' } }, /^body\/vantage\/count /],
  ['vantage unknown field', { vantage: { count: 2, label: 'region', spread: true } }, /^body\/vantage\/spread: unknown field/],
  ['invalid pinned agent id', { pinned_agent_id: 'edge 1' }, /^body\/pinned_agent_id /],
  ['invalid required label key', { required_labels: { 'bad key': 'x' } }, /^body\/required_labels: invalid key "bad key"; keys must match/],
  ['too long required label key', { required_labels: { ['k'.repeat(65)]: 'x' } }, /^body\/required_labels: invalid key "k{65}"/],
  ['pin with vantage', { pinned_agent_id: 'edge-1', vantage: { count: 2, label: 'region' } }, /^body\/vantage: a stream pinned/],
  ['vantage label also required', { required_labels: { region: 'eu' }, vantage: { count: 2, label: 'region' } }, /^body\/vantage\/label: "region"/],
]

for (const [name, fields, message] of invalidCreates) {
  test(`create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${streams}/invalid/create`, { url, ...fields })
    assert.is(status, 400)
    assert.match(body.message, message)
  })
}

test('update rejects a pin on a stream with vantage points', async () => {
  const { status, body } = await call('POST', `${streams}/fields/update`, { pinned_agent_id: 'edge-1' })
  assert.is(status, 400)
  assert.match(body.message, /^body\/pinned_agent_id: a stream pinned/)
})

test('agent routes answer 404 for an unknown agent', async () => {
  for (const [method, path] of [
    ['GET', `${agentsBase}/ghost`],
    ['POST', `${agentsBase}/ghost/drain`],
    ['POST', `${agentsBase}/ghost/undrain`],
  ] as const) {
    const { status, body } = await call(method, path)
    assert.is(status, 404, path)
    assert.is(body.code, 'MONIT_ERR_AGENT_NOT_FOUND', path)
    assert.match(body.message, /ghost/)
  }
})

test('agent routes answer 400 for an invalid id', async () => {
  const { status, body } = await call('GET', `${agentsBase}/bad%20id`)
  assert.is(status, 400)
  assert.match(body.message, /params\/id/)
})

test('a viewer may read agents but not drain them', async () => {
  assert.is((await call('GET', `${agentsBase}/ghost`, undefined, Role.viewer)).status, 404)
  assert.is((await call('POST', `${agentsBase}/ghost/drain`, undefined, Role.viewer)).status, 403)
})

// Placement with agents.

test('a stream requiring a label lands on the matching agent', async () => {
  const eu = await connectAgent('eu-1', { region: 'eu' })
  await connectAgent('us-1', { region: 'us' })
  const { status, body } = await call('POST', `${streams}/needs-eu/create`, { url, required_labels: { region: 'eu' } })
  assert.is(status, 201)
  assert.is(body.agent_id, 'eu-1')
  assert.is(body.assignments.length, 1)
  assert.is(body.assignments[0].reason, 'placed on least-loaded agent')
  assert.is(body.assignments[0].slot, '')
  assert.is(body.unassigned_reason, null)
  const perform = await order(eu, 'perform', 'needs-eu')
  assert.is(perform.epoch, body.assignments[0].epoch)
})

test('agent detail shows assignments, load and capacity', async () => {
  await call('POST', `${streams}/heavy-eu/create`, { url, required_labels: { region: 'eu' }, weight: 4 })
  const { status, body } = await call('GET', `${agentsBase}/eu-1`)
  assert.is(status, 200)
  assert.is(body.connected, true)
  assert.is(body.draining, false)
  assert.is(body.capacity, 10)
  assert.is(body.load, 5)
  assert.equal(body.streams, ['heavy-eu', 'needs-eu'])
  assert.equal(
    body.assignments.map((entry: { stream_id: string; weight: number; reason: string }) => [entry.stream_id, entry.weight, entry.reason]),
    [
      ['heavy-eu', 4, 'placed on least-loaded agent'],
      ['needs-eu', 1, 'placed on least-loaded agent'],
    ],
  )

  const list = await call('GET', agentsBase)
  const listed = list.body.agents.find((agent: { id: string }) => agent.id === 'eu-1')
  assert.is(listed.load, 5)
  assert.is(listed.capacity, 10)
  assert.is(listed.draining, false)
})

test('drain revokes and undrain places again', async () => {
  const eu = fakes.find((agent) => agent.id === 'eu-1')!
  const before = await getStream('needs-eu')
  eu.send({ type: 'status', stream_id: 'needs-eu', epoch: before.assignments[0].epoch, status: 'up', reason: '', ts_ms: Date.now() })
  await waitFor('needs-eu up', async () => ((await getStream('needs-eu')).status === 'up' ? true : undefined), 5000, 100)

  const drained = await call('POST', `${agentsBase}/eu-1/drain`)
  assert.is(drained.status, 200)
  assert.is(drained.body.draining, true)
  assert.equal(drained.body.assignments, [])
  await order(eu, 'revoke', 'needs-eu', before.assignments[0].epoch)
  const waiting = await getStream('needs-eu')
  assert.is(waiting.agent_id, null)
  assert.is(waiting.unassigned_reason, 'the 1 matching agent is draining')
  // No agent observes the stream any more, so its last report is not shown as current.
  assert.is(waiting.status, null)
  assert.is(waiting.status_reason, null)

  const undrained = await call('POST', `${agentsBase}/eu-1/undrain`)
  assert.is(undrained.body.draining, false)
  const placed = await getStream('needs-eu')
  assert.is(placed.agent_id, 'eu-1')
  assert.ok(placed.epoch > before.epoch)
  await order(eu, 'perform', 'needs-eu', placed.assignments[0].epoch)
})

test('a stream waits for a matching agent, then runs there', async () => {
  const created = await call('POST', `${streams}/needs-ap/create`, { url, required_labels: { region: 'ap' } })
  assert.is(created.body.unassigned_reason, 'no connected agent has region=ap')
  const ap = await connectAgent('ap-1', { region: 'ap' })
  const placed = await waitFor('needs-ap to be placed', async () => {
    const stream = await getStream('needs-ap')
    return stream.agent_id === 'ap-1' ? stream : undefined
  }, 5000, 100)
  assert.is(placed.unassigned_reason, null)
  await order(ap, 'perform', 'needs-ap')
})

test('a stream pinned to a missing agent says so', async () => {
  const { body } = await call('POST', `${streams}/pinned/create`, { url, pinned_agent_id: 'gone-1' })
  assert.is(body.agent_id, null)
  assert.is(body.unassigned_reason, 'pinned agent gone-1 is not connected')
})

test('vantage points run on distinct regions and combine statuses', async () => {
  const { body } = await call('POST', `${streams}/worldwide/create`, { url, vantage: { count: 2, label: 'region' } })
  // Load shares: ap-1 1/10, eu-1 5/10, us-1 0/10, so us and ap are the least loaded.
  const slots = body.assignments.map((entry: { slot: string; agent_id: string }) => [entry.slot, entry.agent_id])
  assert.equal(slots, [['ap', 'ap-1'], ['us', 'us-1']])
  assert.is(body.agent_id, 'ap-1')
  assert.is(body.assignments[1].reason, 'placed on least-loaded agent with region=us')

  const [ap, us] = ['ap-1', 'us-1'].map((id) => fakes.find((agent) => agent.id === id)!) as [FakeAgent, FakeAgent]
  const apPerform: Perform = await order(ap, 'perform', 'worldwide')
  const usPerform: Perform = await order(us, 'perform', 'worldwide')
  const status = (epoch: number, value: string, reason = '') => ({
    type: 'status',
    stream_id: 'worldwide',
    epoch,
    status: value,
    reason,
    ts_ms: Date.now(),
  })
  us.send(status(usPerform.epoch, 'up'))
  ap.send(status(apPerform.epoch, 'down', 'timed out'))
  const degraded = await waitFor('a degraded status', async () => {
    const stream = await getStream('worldwide')
    return stream.status === 'degraded' ? stream : undefined
  }, 5000, 100)
  assert.is(degraded.status_reason, 'down from region=ap only')
  assert.equal(degraded.assignments.map((entry: { status: string }) => entry.status), ['down', 'up'])
  assert.is(degraded.assignments[0].status_reason, 'timed out')

  // A status under an epoch the agent does not hold changes nothing.
  us.send(status(usPerform.epoch + 100, 'down', 'stale'))
  ap.send(status(apPerform.epoch, 'up'))
  const up = await waitFor('an up status', async () => {
    const stream = await getStream('worldwide')
    return stream.status === 'up' ? stream : undefined
  }, 5000, 100)
  assert.equal(up.assignments.map((entry: { status: string }) => entry.status), ['up', 'up'])
})

test('a deleted vantage stream is revoked on every agent', async () => {
  const stream = await getStream('worldwide')
  assert.is((await call('DELETE', `${streams}/worldwide/delete`)).status, 200)
  for (const entry of stream.assignments as Array<{ agent_id: string; epoch: number }>) {
    await order(fakes.find((agent) => agent.id === entry.agent_id)!, 'revoke', 'worldwide', entry.epoch)
  }
  const detail = await call('GET', `${agentsBase}/us-1`)
  assert.is(detail.body.assignments.some((entry: { stream_id: string }) => entry.stream_id === 'worldwide'), false)
})

test.run()
