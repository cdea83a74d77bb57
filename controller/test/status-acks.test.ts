// Statuses that carry a status_id are acknowledged once stored, like metrics
// batches, so that an agent keeps each one until the controller has it. A
// real controller (SQLite, chDB) and an agent speaking the protocol over a
// real WebSocket.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Status } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { connectFakeAgent, type FakeAgent } from '../../testing/fake-agent.ts'

const AGENT_ID = 'edge-status-acks'
const STREAM_ID = 'cam-status-acks'
let server: TestController
let agent: FakeAgent
let epoch = 0

test.before(async () => {
  try {
    server = await startTestController()
    const created = await server.inject({ method: 'POST', url: `/api/state/streams/v1/${STREAM_ID}/create`, payload: { url: 'udp://127.0.0.1:5000' } })
    assert.is(created.statusCode, 201, created.body)
    agent = await connectFakeAgent(server.url, server.agentToken)
    agent.hello(AGENT_ID)
    const welcome = await agent.next((message) => message.type === 'welcome')
    assert.is(welcome.type === 'welcome' && welcome.status_acks, true)
    const perform = await agent.next((message) => message.type === 'perform')
    if (perform.type === 'perform') epoch = perform.epoch
  } catch (error) {
    // uvu drops errors thrown here without a word.
    console.error('status-acks setup failed:', error)
    throw error
  }
})

test.after(async () => {
  agent?.close()
  await server?.stop()
})

function status(value: Status['status'], tsMs: number, extra: Partial<Status> = {}): Status {
  return { type: 'status', stream_id: STREAM_ID, epoch, status: value, reason: value === 'up' ? '' : 'timed out', ts_ms: tsMs, ...extra }
}

async function storedStatuses(): Promise<number> {
  const { storage, writers } = server.controller.context
  await writers.statuses.flush()
  const [row] = await storage.query<{ stored: string }>(`SELECT count() AS stored FROM ${storage.table('statuses')} WHERE stream_id = {stream:String}`, {
    stream: STREAM_ID,
  })
  return Number(row?.stored)
}

test('status with an id is acknowledged', async () => {
  agent.send(status('down', Date.now() - 3000, { status_id: 'status-0001' }))
  const reply = await agent.next((message) => message.type === 'ack' || message.type === 'error')
  assert.equal(reply, { type: 'ack', batch_id: 'status-0001' })
  assert.is(await storedStatuses(), 1)
})

test('resent status is stored once', async () => {
  agent.messages.length = 0
  agent.send(status('down', Date.now() - 3000, { status_id: 'status-0001', resent: true }))
  const reply = await agent.next((message) => message.type === 'ack' || message.type === 'error')
  assert.equal(reply, { type: 'ack', batch_id: 'status-0001' })
  assert.is(await storedStatuses(), 1)
})

test('status without an id gets no ack', async () => {
  agent.messages.length = 0
  agent.send(status('up', Date.now() - 1000))
  await waitFor('the status stored', async () => ((await storedStatuses()) === 2 ? true : undefined), 5000, 100)
  assert.is(agent.messages.filter((message) => message.type === 'ack').length, 0)
})

test.run()
