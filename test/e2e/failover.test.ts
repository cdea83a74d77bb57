// Two agents on one controller: a stream moves off an agent killed with
// SIGKILL after the grace period, and agent tokens made with the CLI work
// until they are revoked.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { restClient, waitForRows, type RestClient } from '../../testing/e2e.ts'

let server: TestController
let stream: HlsStream
const agents: AgentProcess[] = []

let api: RestClient

function controllerCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'controller/src/main.ts', ...args, '--data-dir', server.dataDir], { encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

async function connectedAgents(): Promise<string[]> {
  const { body } = await api('GET', '/api/agents/v1')
  return body.agents.filter((agent: { connected: boolean }) => agent.connected).map((agent: { id: string }) => agent.id)
}

test.before(async () => {
  server = await startTestController(['--reassign-grace', '2', '--token-recheck', '1'])
  api = restClient(server)
  stream = await startHlsStream()
})

test.after(async () => {
  for (const agent of agents) await agent.stop()
  await server.stop()
  await stopAllTestStreams()
})

test('tokens created with the CLI let agents in', async () => {
  const created = controllerCli('tokens', 'create', '--name', 'edge hosts')
  assert.is(created.status, 0, created.stderr)
  const token = /^(mnt_\S+)$/m.exec(created.stdout)?.[1]
  assert.ok(token, created.stdout)
  assert.is(created.stdout.trim(), token, 'only the token on stdout, so that > FILE keeps it alone')

  agents.push(startAgentProcess({ controllerUrl: server.url, token: token!, id: 'edge-a' }))
  agents.push(startAgentProcess({ controllerUrl: server.url, token: token!, id: 'edge-b' }))
  await waitFor('both agents to connect', async () => ((await connectedAgents()).length === 2 ? true : undefined), 30_000)

  const listed = controllerCli('tokens', 'list')
  assert.match(listed.stdout, /edge hosts/)
  assert.not.match(listed.stdout, new RegExp(token!.slice(-20)))
})

test('a stream moves off a killed agent after the grace period', async () => {
  const created = await api('POST', '/api/state/streams/v1/failover/create', {
    url: stream.url,
    probe: { interval_s: 4, sample_s: 2, timeout_s: 5 },
  })
  assert.is(created.status, 201)
  const first = created.body.agent_id as string
  await waitForRows({ api }, 'failover', 1)

  const victim = agents.find((agent) => agent.child.spawnargs.includes(first))!
  victim.child.kill('SIGKILL')
  await victim.exited

  const moved = await waitFor('the stream to move', async () => {
    const { body } = await api('GET', '/api/state/streams/v1/failover')
    return body.agent_id !== first && body.agent_id !== null ? body : undefined
  }, 30_000)
  assert.ok(moved.epoch > created.body.epoch)

  const rowsBefore = (await api('GET', '/api/query/metrics/v1?stream_id=failover')).body.rows.length
  const rows = await waitForRows({ api }, 'failover', rowsBefore + 2)
  assert.is((rows.at(-1) as unknown as { agent_id: string }).agent_id, moved.agent_id)
})

test('a revoked token is refused', async () => {
  const created = controllerCli('tokens', 'create', '--name', 'short-lived')
  const id = /agent token (\S+) /.exec(created.stderr)?.[1]
  const token = /^(mnt_\S+)$/m.exec(created.stdout)?.[1]
  const revoked = controllerCli('tokens', 'revoke', id!)
  assert.is(revoked.status, 0, revoked.stderr)

  const agent = startAgentProcess({ controllerUrl: server.url, token: token!, id: 'edge-revoked' })
  agents.push(agent)
  await waitFor('the refusal', () => (/controller rejected the agent token/.test(agent.output()) ? true : undefined), 20_000)
  assert.not.ok((await connectedAgents()).includes('edge-revoked'))
})

test('revoking a token disconnects its agent', async () => {
  const created = controllerCli('tokens', 'create', '--name', 'revoked-later')
  const id = /agent token (\S+) /.exec(created.stderr)?.[1]
  const token = /^(mnt_\S+)$/m.exec(created.stdout)?.[1]
  const agent = startAgentProcess({ controllerUrl: server.url, token: token!, id: 'edge-later' })
  agents.push(agent)
  await waitFor('the agent to connect', async () => ((await connectedAgents()).includes('edge-later') ? true : undefined), 30_000)

  const revoked = controllerCli('tokens', 'revoke', id!)
  assert.is(revoked.status, 0, revoked.stderr)
  await waitFor('the agent to be disconnected', async () => ((await connectedAgents()).includes('edge-later') ? undefined : true), 30_000)
})

test.run()
