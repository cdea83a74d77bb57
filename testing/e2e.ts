// Shared steps of the end-to-end tests: a real controller in this process,
// a real agent process, and REST calls over HTTP.
import * as assert from 'uvu/assert'
import { startTestController, waitFor, type TestController } from './controller.ts'
import { startAgentProcess, type AgentProcess } from './agent.ts'
import { childrenNamed } from './processes.ts'

export interface E2E {
  server: TestController
  agent: AgentProcess
  api(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: any }>
  stop(): Promise<void>
}

export type RestClient = E2E['api']

/** Calls the REST API over HTTP with an admin token. */
export function restClient(server: TestController): RestClient {
  return async (method, path, body) => {
    const headers: Record<string, string> = await server.authHeaders()
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: response.status, body: await response.json() }
  }
}

export async function startE2E(agentId = 'edge-1'): Promise<E2E> {
  const server = await startTestController()
  const agent = startAgentProcess({ controllerUrl: server.url, token: server.agentToken, id: agentId })
  const api = restClient(server)
  try {
    await waitFor('agent to connect', async () => {
      const { body } = await api('GET', '/api/agents/v1')
      return body.agents.find((agent: { id: string; connected: boolean }) => agent.id === agentId && agent.connected)
    }, 30_000)
  } catch (error) {
    console.error(agent.output())
    await agent.stop()
    await server.stop()
    throw error
  }

  return {
    server,
    agent,
    api,
    stop: async () => {
      await agent.stop()
      await server.stop()
    },
  }
}

export interface MetricsPoint {
  ts: string
  bitrate: number
  fps: number
  width: number
  height: number
  keyframe_interval: number
  frames: number
}

/** Waits until the query API returns at least count rows for a stream. */
export function waitForRows(e2e: Pick<E2E, 'api'>, streamId: string, count: number, timeoutMs = 60_000): Promise<MetricsPoint[]> {
  return waitFor(`${count} metrics rows of ${streamId}`, async () => {
    const { body } = await e2e.api('GET', `/api/query/metrics/v1?stream_id=${streamId}`)
    return body.rows.length >= count ? (body.rows as MetricsPoint[]) : undefined
  }, timeoutMs, 1000)
}

/** Checks a row against the test stream: 2 Mbit/s (±15%), 25 fps (±1), 720p, 2 s GOP. */
export function assertTestStreamRow(row: MetricsPoint, expectedBitrate = 2_000_000): void {
  const context = JSON.stringify(row)
  assert.ok(Math.abs(row.bitrate - expectedBitrate) <= expectedBitrate * 0.15, `bitrate off by more than 15%: ${context}`)
  assert.ok(Math.abs(row.fps - 25) <= 1, `fps not 25 ± 1: ${context}`)
  assert.is(row.height, 720, `height: ${context}`)
  assert.is(row.width, 1280, `width: ${context}`)
  assert.is(row.keyframe_interval, 50, `keyframe interval: ${context}`)
}

/** Waits until the agent process has no ffprobe or ffmpeg child left. */
export function waitForNoProbes(e2e: E2E, timeoutMs = 30_000): Promise<true> {
  const pid = e2e.agent.child.pid!
  return waitFor('the agent to have no ffprobe child', () => (childrenNamed(pid, ['ffprobe', 'ffmpeg']).length === 0 ? true : undefined), timeoutMs, 250)
}
