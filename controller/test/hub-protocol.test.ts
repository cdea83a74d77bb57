// Malformed, oversized and unauthorized traffic at the agent hub: each gets
// an error frame or a close with a reason, and the controller stays up.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage } from '@monit/protocol'
import { startTestController, type TestController } from '../../testing/controller.ts'

let server: TestController

const hello = (agentId: string, protocol = PROTOCOL_VERSION) => ({
  type: 'hello',
  protocol,
  agent_id: agentId,
  name: agentId,
  version: 'test',
  labels: {},
  capacity: 10,
  streams: [],
})

interface Client {
  socket: WebSocket
  messages: ControllerMessage[]
  closed: Promise<{ code: number; reason: string }>
  next(type: string): Promise<ControllerMessage>
}

function connect(token: string | null = server.agentToken): Promise<Client> {
  const headers = token === null ? {} : { authorization: `Bearer ${token}` }
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, { headers })
  const messages: ControllerMessage[] = []
  const waiters: Array<() => void> = []
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()))
    for (const waiter of waiters.splice(0)) waiter()
  })
  const closed = new Promise<{ code: number; reason: string }>((done) =>
    socket.on('close', (code, reason) => done({ code, reason: reason.toString() })),
  )
  const next = (type: string) =>
    new Promise<ControllerMessage>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${type} message within 5 s`)), 5000)
      const look = () => {
        const found = messages.find((message) => message.type === type)
        if (found === undefined) return waiters.push(look)
        clearTimeout(timer)
        messages.splice(messages.indexOf(found), 1)
        done(found)
      }
      look()
    })
  return new Promise((done, fail) => {
    socket.once('open', () => done({ socket, messages, closed, next }))
    socket.once('unexpected-response', (_request, response) => fail(new Error(`HTTP ${response.statusCode}`)))
    socket.once('error', fail)
  })
}

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  await server.stop()
})

async function connectError(token: string | null): Promise<string> {
  try {
    const client = await connect(token)
    client.socket.close()
    return 'connected'
  } catch (error) {
    return (error as Error).message
  }
}

test('hub rejects a missing token with 401', async () => {
  assert.is(await connectError(null), 'HTTP 401')
})

test('hub rejects a wrong token with 401', async () => {
  assert.is(await connectError('not-a-valid-token'), 'HTTP 401')
})

test('hub welcomes a valid hello', async () => {
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-ok')))
  const welcome = await client.next('welcome')
  assert.is(welcome.type, 'welcome')
  client.socket.close()
})

test('hub closes on a protocol version mismatch', async () => {
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-old', PROTOCOL_VERSION + 1)))
  const error = await client.next('error')
  assert.is(error.type === 'error' && error.code, 'incompatible_version')
  assert.match(error.type === 'error' ? error.message : '', new RegExp(`protocol ${PROTOCOL_VERSION + 1}.*protocol ${PROTOCOL_VERSION}`))
  const { code } = await client.closed
  assert.is(code, 4000)
})

test('hub answers invalid frames with error frames', async () => {
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-fuzz')))
  await client.next('welcome')

  const frames = ['{"type":', '[]', '{"type":"launch"}', JSON.stringify({ type: 'status', stream_id: 's1' }), 'null', '"text"']
  for (const frame of frames) {
    client.socket.send(frame)
    const error = await client.next('error')
    assert.is(error.type, 'error')
  }
  client.socket.send(JSON.stringify({ type: 'heartbeat', ts_ms: Date.now() }))
  assert.is(client.socket.readyState, WebSocket.OPEN)
  client.socket.close()
})

test('hub names the invalid field', async () => {
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-field')))
  await client.next('welcome')
  client.socket.send(JSON.stringify({ type: 'metrics', batch_id: 'batch-0001', rows: [{ stream_id: 's1' }] }))
  const error = await client.next('error')
  assert.match(error.type === 'error' ? error.message : '', /metrics: \/rows\/0/)
  client.socket.close()
})

test('hub closes before hello on garbage', async () => {
  const client = await connect()
  client.socket.send('garbage')
  const error = await client.next('error')
  assert.is(error.type === 'error' && error.code, 'invalid_json')
  const { code } = await client.closed
  assert.is(code, 1002)
})

test('hub closes on an oversized frame', async () => {
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-big')))
  await client.next('welcome')
  client.socket.send(Buffer.alloc(2 * 1024 * 1024, 'a'))
  const { code } = await client.closed
  assert.is(code, 1009)
})

test('hub replaces an older connection of the same agent', async () => {
  const first = await connect()
  first.socket.send(JSON.stringify(hello('agent-twice')))
  await first.next('welcome')
  const second = await connect()
  second.socket.send(JSON.stringify(hello('agent-twice')))
  await second.next('welcome')
  const { code } = await first.closed
  assert.is(code, 4002)
  second.socket.close()
})

test('controller stays up after the fuzzing', async () => {
  const response = await fetch(`${server.url}/healthz`)
  assert.is(response.status, 200)
  const client = await connect()
  client.socket.send(JSON.stringify(hello('agent-after')))
  assert.is((await client.next('welcome')).type, 'welcome')
  client.socket.close()
})

test.run()
