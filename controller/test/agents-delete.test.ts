// Deleting an agent that is gone for good: refused while it is connected or
// still has assignments, then removed from the agent list. A real
// controller (SQLite, chDB) and an agent on a real WebSocket.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { connectFakeAgent, type FakeAgent } from '../../testing/fake-agent.ts'

const AGENT_ID = 'edge-gone'
let server: TestController
let agent: FakeAgent

test.before(async () => {
  try {
    server = await startTestController(['--reassign-grace', '3'])
    agent = await connectFakeAgent(server.url, server.agentToken)
    agent.hello(AGENT_ID)
    await agent.next((message) => message.type === 'welcome')
    const created = await server.inject({ method: 'POST', url: '/api/state/streams/v1/cam-gone/create', payload: { url: 'udp://127.0.0.1:5000' } })
    assert.is(created.statusCode, 201, created.body)
    await agent.next((message) => message.type === 'perform')
  } catch (error) {
    // uvu drops errors thrown here without a word.
    console.error('agents-delete setup failed:', error)
    throw error
  }
})

test.after(async () => {
  agent?.close()
  await server?.stop()
})

const remove = () => server.inject({ method: 'DELETE', url: `/api/agents/v1/${AGENT_ID}/delete` })

test('connected agent is kept', async () => {
  const response = await remove()
  assert.is(response.statusCode, 409)
  assert.is(response.json().code, 'MONIT_ERR_AGENT_IN_USE')
  assert.match(response.json().message, 'is connected; stop it first')
})

test('agent with assignments is kept', async () => {
  agent.close()
  await waitFor('the agent to disconnect', async () => {
    const response = await server.inject({ method: 'GET', url: `/api/agents/v1/${AGENT_ID}` })
    return response.json().connected === false ? true : undefined
  }, 10_000, 50)
  const response = await remove()
  // Within --reassign-grace the stream still waits for the agent to come back.
  assert.is(response.statusCode, 409)
  assert.match(response.json().message, 'still has assignments')
})

test('gone agent is deleted', async () => {
  await waitFor('the stream to leave the agent', async () => {
    const response = await server.inject({ method: 'GET', url: `/api/agents/v1/${AGENT_ID}` })
    return response.json().assignments.length === 0 ? true : undefined
  }, 15_000, 200)
  const response = await remove()
  assert.is(response.statusCode, 200)
  assert.equal(response.json(), { id: AGENT_ID, deleted: true })
  assert.is((await server.inject({ method: 'GET', url: `/api/agents/v1/${AGENT_ID}` })).statusCode, 404)
  const list = await server.inject({ method: 'GET', url: '/api/agents/v1' })
  assert.not.ok(list.json().agents.some((entry: { id: string }) => entry.id === AGENT_ID))
  assert.is((await remove()).statusCode, 404)
})

test.run()
