// The agent against a fake controller on 127.0.0.1 that sends garbage,
// oversized frames and a protocol mismatch: the agent stays up, or stops
// cleanly where reconnecting cannot help.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocketServer, type WebSocket } from 'ws'
import type { AddressInfo } from 'node:net'
import { PROTOCOL_VERSION } from '@monit/protocol'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { waitFor } from '../../testing/controller.ts'

interface FakeController {
  url: string
  connections: WebSocket[]
  received: Array<Record<string, unknown>>
  headers: Array<string | undefined>
  close(): Promise<void>
}

async function startFakeController(onHello: (socket: WebSocket) => void): Promise<FakeController> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((done) => server.once('listening', done))
  const fake: FakeController = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/agents/v1/ws`,
    connections: [],
    received: [],
    headers: [],
    close: () =>
      new Promise((done) => {
        for (const socket of fake.connections) socket.terminate()
        server.close(() => done())
      }),
  }
  server.on('connection', (socket, request) => {
    fake.connections.push(socket)
    fake.headers.push(request.headers.authorization)
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>
      fake.received.push(message)
      if (message.type === 'hello') onHello(socket)
    })
  })
  return fake
}

const welcome = JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, controller_version: 'fake', heartbeat_interval_s: 1 })

let agent: AgentProcess | undefined

test.after.each(async () => {
  await agent?.stop()
  agent = undefined
})

test('agent sends its token and hello', async () => {
  const fake = await startFakeController((socket) => socket.send(welcome))
  agent = startAgentProcess({ controllerUrl: fake.url, token: 'secret-token-1', id: 'edge-9', args: ['--labels', 'region=eu-west', '--capacity', '7'] })

  const hello = await waitFor('hello', () => fake.received.find((message) => message.type === 'hello'), 20_000, 100)
  assert.is(fake.headers[0], 'Bearer secret-token-1')
  assert.is(hello.agent_id, 'edge-9')
  assert.is(hello.protocol, PROTOCOL_VERSION)
  assert.equal(hello.labels, { region: 'eu-west' })
  assert.is(hello.capacity, 7)
  assert.not.match(agent.output(), /secret-token-1/)
  await waitFor('heartbeat', () => fake.received.find((message) => message.type === 'heartbeat'), 10_000, 100)
  await fake.close()
})

test('agent survives garbage from the controller', async () => {
  const fake = await startFakeController((socket) => {
    socket.send(welcome)
    for (const frame of ['{"type":', '[]', '{"type":"reboot"}', '{"type":"perform","stream_id":"x"}', 'null']) socket.send(frame)
    socket.send(JSON.stringify({ type: 'perform', stream_id: 's1', url: 'file:///etc/passwd', epoch: 1, probe: { interval_s: 10, sample_s: 5, timeout_s: 5 } }))
  })
  agent = startAgentProcess({ controllerUrl: fake.url, token: 't', id: 'edge-garbage' })

  const errors = await waitFor('error frames', () => {
    const found = fake.received.filter((message) => message.type === 'error')
    return found.length >= 5 ? found : undefined
  }, 20_000, 100)
  assert.ok(errors.some((message) => message.code === 'invalid_json'))
  assert.ok(errors.some((message) => message.code === 'unknown_type'))
  await waitFor('heartbeat after garbage', () => fake.received.find((message) => message.type === 'heartbeat'), 10_000, 100)
  assert.is(agent.child.exitCode, null)
  await fake.close()
})

test('agent reconnects after an oversized frame', async () => {
  let hellos = 0
  const fake = await startFakeController((socket) => {
    hellos += 1
    socket.send(welcome)
    if (hellos === 1) socket.send(Buffer.alloc(2 * 1024 * 1024, 'a'))
  })
  agent = startAgentProcess({ controllerUrl: fake.url, token: 't', id: 'edge-big' })

  await waitFor('a second hello', () => (hellos >= 2 ? true : undefined), 20_000, 100)
  assert.is(agent.child.exitCode, null)
  await fake.close()
})

test('agent exits on a protocol mismatch', async () => {
  const fake = await startFakeController((socket) => {
    socket.send(JSON.stringify({ type: 'error', code: 'incompatible_version', message: 'agent speaks protocol 1, controller speaks protocol 2' }))
    socket.close(4000, 'incompatible version')
  })
  agent = startAgentProcess({ controllerUrl: fake.url, token: 't', id: 'edge-old' })

  const code = await agent.exited
  assert.is(code, 3)
  assert.match(agent.output(), /controller rejected this agent/)
  await fake.close()
})

test('agent rejects a bad setting with its name', async () => {
  agent = startAgentProcess({ controllerUrl: 'ftp://127.0.0.1', token: 't', id: 'edge-bad' })
  const code = await agent.exited
  assert.is(code, 2)
  assert.match(agent.output(), /invalid setting --controller: scheme "ftp:" is not supported/)
})

test.run()
