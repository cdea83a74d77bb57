// An agent whose socket goes silent without a close frame (as behind a
// proxy that drops idle connections) is dropped after two missed pongs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'

let server: TestController

test.before(async () => {
  server = await startTestController(['--heartbeat-interval', '1'])
})

test.after(async () => {
  await server.stop()
})

test('hub drops an agent that stops answering pings', async () => {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, {
    headers: { authorization: `Bearer ${server.agentToken}` },
  })
  await new Promise((done) => socket.once('open', done))
  const welcomed = new Promise((done) => socket.once('message', done))
  socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'silent-1', name: 'silent', version: 'test', labels: {}, capacity: 1, streams: [] }))
  await welcomed
  const { hub } = server.controller.context
  assert.ok(hub.session('silent-1'))

  // Reading nothing more means no pong goes back, like a dead link.
  const started = Date.now()
  ;(socket as unknown as { _socket: { pause(): void } })._socket.pause()
  await waitFor('the hub to drop the agent', () => (hub.session('silent-1') === undefined ? true : undefined), 10_000, 100)
  const elapsedS = (Date.now() - started) / 1000
  assert.ok(elapsedS >= 1, `dropped after ${elapsedS} s, before one ping interval`)
  socket.terminate()
})

test.run()
