// The live feed on a real controller: token checks before the upgrade, and
// the status, agent and viewers messages that a fake agent and posted
// beacons cause, with and without a subscription filter.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { Compile } from 'typebox/compile'
import { PROTOCOL_VERSION } from '@monit/protocol'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'
import { liveServerMessageSchemas, type LiveServerMessage } from '../src/live/messages.ts'

const validators = Object.fromEntries(
  Object.entries(liveServerMessageSchemas).map(([type, schema]) => [type, Compile(schema)]),
)
const userAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

let server: TestController

interface LiveClient {
  socket: WebSocket
  messages: LiveServerMessage[]
  /** Waits for the first message not taken yet that matches, and takes it. */
  next(what: string, match: (message: LiveServerMessage) => boolean, timeoutMs?: number): Promise<LiveServerMessage>
  closed: Promise<number>
}

interface ConnectOptions {
  token?: string
  via?: 'header' | 'query' | 'protocol'
  protocols?: string[]
}

function openLive(options: ConnectOptions = {}): Promise<LiveClient> {
  const base = `${server.url.replace('http', 'ws')}/api/live/v1/ws`
  const { token, via = 'header' } = options
  const url = token !== undefined && via === 'query' ? `${base}?token=${encodeURIComponent(token)}` : base
  const headers = token !== undefined && via === 'header' ? { authorization: `Bearer ${token}` } : {}
  const protocols = options.protocols ?? (token !== undefined && via === 'protocol' ? [`bearer.${token}`] : [])
  const socket = new WebSocket(url, protocols, { headers })
  const messages: LiveServerMessage[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as LiveServerMessage
    messages.push(message)
    for (const waiter of [...waiters]) waiter()
  })
  const closed = new Promise<number>((done) => socket.on('close', (code) => done(code)))

  const next: LiveClient['next'] = (what, match, timeoutMs = 10_000) =>
    new Promise((done, fail) => {
      const look = () => {
        const index = messages.findIndex(match)
        if (index === -1) return
        waiters.delete(look)
        clearTimeout(timer)
        done(messages.splice(index, 1)[0]!)
      }
      const timer = setTimeout(() => {
        waiters.delete(look)
        fail(new Error(`no ${what} within ${timeoutMs} ms; received ${JSON.stringify(messages)}`))
      }, timeoutMs)
      waiters.add(look)
      look()
    })

  return new Promise((done, fail) => {
    socket.once('open', () => done({ socket, messages, next, closed }))
    socket.once('unexpected-response', (_request, response) => fail(new Error(`HTTP ${response.statusCode}`)))
    socket.once('error', fail)
  })
}

async function openError(options: ConnectOptions): Promise<string> {
  try {
    const client = await openLive(options)
    client.socket.close()
    return 'connected'
  } catch (error) {
    return (error as Error).message
  }
}

/** Connects a fake agent to the hub, which sends hello and collects the controller's orders. */
async function connectAgent(agentId: string) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, {
    headers: { authorization: `Bearer ${server.agentToken}` },
  })
  const performs: Array<{ stream_id: string; epoch: number }> = []
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString())
    if (message.type === 'perform') performs.push(message)
  })
  await new Promise<void>((done, fail) => {
    socket.once('open', () => done())
    socket.once('error', fail)
  })
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, agent_id: agentId, name: agentId, version: 'test' }
  socket.send(JSON.stringify({ ...hello, labels: {}, capacity: 10, streams: [] }))

  const epochOf = async (streamId: string): Promise<number> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const found = performs.find((perform) => perform.stream_id === streamId)
      if (found !== undefined) return found.epoch
      await new Promise((done) => setTimeout(done, 100))
    }
    throw new Error(`agent ${agentId} got no perform for ${streamId} within 10 s`)
  }
  const sendStatus = (streamId: string, epoch: number, status: string, reason: string, tsMs: number) => {
    socket.send(JSON.stringify({ type: 'status', stream_id: streamId, epoch, status, reason, ts_ms: tsMs }))
  }
  const close = () =>
    new Promise<void>((done) => {
      socket.once('close', () => done())
      socket.close()
    })
  return { socket, epochOf, sendStatus, close }
}

/** Creates a stream pinned to one agent, so that an agent of an earlier test, still in its grace period, cannot take it. */
async function createStream(id: string, agentId: string): Promise<void> {
  const response = await server.inject({
    method: 'POST',
    url: `/api/state/streams/v1/${id}/create`,
    payload: { url: `http://127.0.0.1:9/${id}/index.m3u8`, pinned_agent_id: agentId },
  })
  assert.is(response.statusCode, 201, response.body)
}

async function postBeacons(beacons: Array<{ stream_id: string; unique_id: string }>): Promise<void> {
  const items = beacons.map((beacon) => ({ ...beacon, app: 'test-player', version: '1.0.0', host: 'cdn.test' }))
  const response = await fetch(`${server.url}/api/data/heatmap/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify(items),
  })
  assert.is(response.status, 202, await response.text())
}

function assertValid(message: LiveServerMessage): void {
  const validator = validators[message.type]
  assert.ok(validator, `unknown message type ${message.type}`)
  assert.ok(validator.Check(message), `${message.type} does not match its schema: ${JSON.stringify(message)}`)
}

const isType = <T extends LiveServerMessage['type']>(type: T) => (message: LiveServerMessage) => message.type === type

test.before(async () => {
  server = await startTestController(['--live-viewers-interval', '1', '--live-viewer-window', '120'])
})

test.after(async () => {
  await server.stop()
})

test('live feed rejects a missing token with 401', async () => {
  assert.is(await openError({}), 'HTTP 401')
})

test('live feed rejects an invalid token with 401', async () => {
  assert.is(await openError({ token: 'not-a-jwt', via: 'query' }), 'HTTP 401')
  assert.is(await openError({ token: 'not-a-jwt', via: 'protocol' }), 'HTTP 401')
  assert.is(await openError({ token: 'not-a-jwt', via: 'header' }), 'HTTP 401')
})

test('live feed ignores a query token on plain HTTP', async () => {
  const token = await server.tokenFor(Role.viewer)
  const response = await fetch(`${server.url}/api/agents/v1?token=${token}`)
  assert.is(response.status, 401)
})

test('live feed accepts a viewer token three ways', async () => {
  const token = await server.tokenFor(Role.viewer)
  for (const via of ['header', 'query', 'protocol'] as const) {
    const client = await openLive({ token, via })
    const hello = await client.next('hello', isType('hello'))
    assertValid(hello)
    assert.is(hello.type === 'hello' && hello.user_id, 'test-viewer', via)
    assert.is(hello.type === 'hello' && hello.viewers_interval_s, 1)
    client.socket.close()
  }
})

test('live feed selects its subprotocol', async () => {
  const token = await server.tokenFor(Role.viewer)
  const both = await openLive({ protocols: ['monit.live.v1', `bearer.${token}`] })
  assert.is(both.socket.protocol, 'monit.live.v1')
  both.socket.close()
  const bearerOnly = await openLive({ token, via: 'protocol' })
  assert.is(bearerOnly.socket.protocol, `bearer.${token}`)
  bearerOnly.socket.close()
})

test('live feed sends agent connects and disconnects', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer) })
  await client.next('hello', isType('hello'))
  const agent = await connectAgent('live-agent-1')

  const connected = await client.next('agent connect', (m) => m.type === 'agent' && m.agent_id === 'live-agent-1')
  assertValid(connected)
  assert.is(connected.type === 'agent' && connected.connected, true)

  await agent.close()
  const disconnected = await client.next('agent disconnect', (m) => m.type === 'agent' && m.agent_id === 'live-agent-1')
  assertValid(disconnected)
  assert.is(disconnected.type === 'agent' && disconnected.connected, false)
  client.socket.close()
})

test('live feed sends stream statuses', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer) })
  await client.next('hello', isType('hello'))
  const agent = await connectAgent('live-agent-2')
  await createStream('live-status-1', 'live-agent-2')
  const epoch = await agent.epochOf('live-status-1')

  const tsMs = Date.now()
  agent.sendStatus('live-status-1', epoch, 'down', 'connection refused', tsMs)
  const status = await client.next('status', (m) => m.type === 'status' && m.stream_id === 'live-status-1')
  assertValid(status)
  assert.equal(status, {
    type: 'status',
    stream_id: 'live-status-1',
    agent_id: 'live-agent-2',
    status: 'down',
    reason: 'connection refused',
    at: new Date(tsMs).toISOString(),
  })
  await agent.close()
  client.socket.close()
})

test('live feed drops statuses of a stale epoch', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer) })
  await client.next('hello', isType('hello'))
  const agent = await connectAgent('live-agent-3')
  await createStream('live-stale-1', 'live-agent-3')
  const epoch = await agent.epochOf('live-stale-1')

  agent.sendStatus('live-stale-1', epoch + 5, 'up', 'stale', Date.now())
  agent.sendStatus('live-stale-1', epoch, 'up', 'current', Date.now())
  const status = await client.next('status', (m) => m.type === 'status' && m.stream_id === 'live-stale-1')
  assert.is(status.type === 'status' && status.reason, 'current')
  await agent.close()
  client.socket.close()
})

test('live feed counts viewers from beacons', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer) })
  await client.next('hello', isType('hello'))
  await postBeacons([
    { stream_id: 'live-viewers-a', unique_id: 'viewer-1' },
    { stream_id: 'live-viewers-a', unique_id: 'viewer-2' },
    { stream_id: 'live-viewers-a', unique_id: 'viewer-1' },
    { stream_id: 'live-viewers-b', unique_id: 'viewer-1' },
  ])
  await postBeacons([{ stream_id: 'live-viewers-a', unique_id: 'viewer-3' }])

  const countOf = (message: LiveServerMessage, streamId: string) =>
    message.type === 'viewers' ? message.streams.find((entry) => entry.stream_id === streamId)?.viewers : undefined
  const viewers = await client.next('viewers of a and b', (m) => countOf(m, 'live-viewers-a') === 3 && countOf(m, 'live-viewers-b') === 1)
  assertValid(viewers)
  assert.is(viewers.type === 'viewers' && viewers.window_s, 120)
  client.socket.close()
})

test('live feed filters by subscription', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer), via: 'query' })
  await client.next('hello', isType('hello'))
  client.socket.send(JSON.stringify({ type: 'subscribe', stream_ids: ['live-filter-b'] }))
  const subscribed = await client.next('subscribed', isType('subscribed'))
  assertValid(subscribed)
  assert.equal(subscribed.type === 'subscribed' && subscribed.stream_ids, ['live-filter-b'])

  const agent = await connectAgent('live-agent-4')
  await createStream('live-filter-a', 'live-agent-4')
  await createStream('live-filter-b', 'live-agent-4')
  const epochA = await agent.epochOf('live-filter-a')
  const epochB = await agent.epochOf('live-filter-b')
  // The hub handles one agent's messages in order, so a's status would arrive before b's.
  agent.sendStatus('live-filter-a', epochA, 'down', 'filtered out', Date.now())
  agent.sendStatus('live-filter-b', epochB, 'up', 'subscribed', Date.now())
  const status = await client.next('status of b', (m) => m.type === 'status' && m.stream_id === 'live-filter-b')
  assert.is(status.type === 'status' && status.reason, 'subscribed')
  assert.not.ok(client.messages.some((m) => m.type === 'status' && m.stream_id === 'live-filter-a'))

  await postBeacons([
    { stream_id: 'live-filter-a', unique_id: 'viewer-1' },
    { stream_id: 'live-filter-b', unique_id: 'viewer-1' },
  ])
  const viewers = await client.next('viewers of b', (m) => m.type === 'viewers')
  assert.equal(viewers.type === 'viewers' && viewers.streams, [{ stream_id: 'live-filter-b', viewers: 1 }])
  // Agent messages are not filtered.
  await agent.close()
  await client.next('agent disconnect', (m) => m.type === 'agent' && m.agent_id === 'live-agent-4')
  client.socket.close()
})

test('live feed answers an invalid message with an error', async () => {
  const client = await openLive({ token: await server.tokenFor(Role.viewer) })
  await client.next('hello', isType('hello'))
  client.socket.send(JSON.stringify({ type: 'subscribe', stream_ids: ['bad id with spaces'] }))
  const error = await client.next('error', isType('error'))
  assertValid(error)
  assert.match(error.type === 'error' ? error.message : '', /stream_ids\/0/)
  client.socket.send('not json')
  const second = await client.next('error', isType('error'))
  assert.match(second.type === 'error' ? second.message : '', /not a JSON text message/)
  assert.is(client.socket.readyState, WebSocket.OPEN)
  client.socket.close()
})

test.run()
