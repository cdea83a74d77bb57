// Screenshots and picture and sound checks end to end: a real controller, a
// real agent process and live HLS test streams on 127.0.0.1. The agent
// runs the checks every few seconds instead of every minute.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startHlsStream, startNotFoundServer, stopAllTestStreams } from '../../testing/streams.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { restClient, type RestClient } from '../../testing/e2e.ts'
import { childrenNamed } from '../../testing/processes.ts'
import { jpegSize } from '../../controller/src/screenshots/jpeg.ts'

const SCREENSHOT_INTERVAL_S = 2
const SCREENSHOT_WIDTH = 160
const KEEP = 3
const AV_INTERVAL_S = 8
const AV_SAMPLE_S = 4
/**
 * startHlsStream's tone: lavfi sine at amplitude 1/8 (-18.06 dBFS peak) in
 * mono AAC, so -21.07 LUFS (a full-scale sine measures -3.01 LUFS).
 */
const TONE_LUFS = -21.07

let server: TestController
let agent: AgentProcess
let api: RestClient

interface AvRow {
  video: boolean
  audio: boolean
  decoded_s: number
  black_s: number
  freeze_s: number
  silence_s: number
  integrated_lufs: number | null
  error: string
}

test.before(async () => {
  server = await startTestController(['--screenshot-keep', String(KEEP)])
  api = restClient(server)
  agent = startAgentProcess({
    controllerUrl: server.url,
    token: server.agentToken,
    id: 'edge-1',
    args: [
      '--screenshot-interval', String(SCREENSHOT_INTERVAL_S),
      '--screenshot-width', String(SCREENSHOT_WIDTH),
      '--av-interval', String(AV_INTERVAL_S),
      '--av-sample', String(AV_SAMPLE_S),
    ],
  })
  await waitFor('the agent to connect', async () => {
    const { body } = await api('GET', '/api/agents/v1')
    return body.agents.some((entry: { id: string; connected: boolean }) => entry.connected) || undefined
  }, 30_000)
})

test.after(async () => {
  await agent?.stop()
  await server?.stop()
  await stopAllTestStreams()
})

async function createStream(id: string, url: string): Promise<void> {
  const created = await api('POST', `/api/state/streams/v1/${id}/create`, { url, probe: { interval_s: 5, sample_s: 2, timeout_s: 4 } })
  assert.is(created.status, 201, JSON.stringify(created.body))
}

async function screenshot(id: string, path = 'screenshot'): Promise<Response> {
  return fetch(`${server.url}/api/state/streams/v1/${id}/${path}`, { headers: await server.authHeaders() })
}

interface ScreenshotList {
  screenshots: Array<{ ts_ms: number; size: number; url: string }>
}

async function listScreenshots(id: string): Promise<ScreenshotList> {
  return (await (await screenshot(id, 'screenshots')).json()) as ScreenshotList
}

function avRows(id: string): Promise<AvRow[]> {
  return api('GET', `/api/query/av/v1?stream_id=${id}`).then(({ body }) => body.rows as AvRow[])
}

/** The reason of the agent's last "check failed" log line for a stream and check, if any. */
function failureLogged(streamId: string, check: string): string | undefined {
  let reason: string | undefined
  for (const line of agent.output().split('\n')) {
    if (!line.includes('"check failed"')) continue
    // The last line may still be incomplete.
    const entry = JSON.parse(line.endsWith('}') ? line : '{}') as { stream_id?: string; check?: string; reason?: string }
    if (entry.stream_id === streamId && entry.check === check) reason = entry.reason
  }
  return reason
}

test('latest screenshot: JPEG of configured width', async () => {
  const hls = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000 })
  await createStream('cam', hls.url)
  const image = await waitFor('the first screenshot', async () => {
    const response = await screenshot('cam')
    return response.status === 200 ? response : undefined
  }, 45_000, 500)
  assert.is(image.headers.get('content-type'), 'image/jpeg')
  const bytes = Buffer.from(await image.arrayBuffer())
  assert.is(bytes[0], 0xff)
  assert.is(bytes[1], 0xd8)
  assert.equal(jpegSize(bytes), { width: SCREENSHOT_WIDTH, height: 90 })
})

test('retention keeps at most KEEP screenshots', async () => {
  const seen = new Set<number>()
  const list = await waitFor(`${KEEP + 2} screenshots taken`, async () => {
    const body = await listScreenshots('cam')
    for (const entry of body.screenshots) seen.add(entry.ts_ms)
    return seen.size >= KEEP + 2 ? body : undefined
  }, 60_000, 500)
  assert.ok(list.screenshots.length <= KEEP, `${list.screenshots.length} screenshots kept`)
  const newest = list.screenshots[0]!
  const one = await fetch(`${server.url}${newest.url}`, { headers: await server.authHeaders() })
  // The newest one may be pruned only after KEEP more arrive; it is still there.
  assert.is(one.status, 200)
  assert.is(Buffer.from(await one.arrayBuffer()).length, newest.size)
})

test('live stream av check: tone loudness', async () => {
  const rows = await waitFor('an av row for cam', async () => {
    const found = (await avRows('cam')).filter((row) => row.error === '')
    return found.length > 0 ? found : undefined
  }, 60_000, 1000)
  const row = rows[0]!
  assert.ok(row.video)
  assert.ok(row.audio)
  assert.ok(Math.abs(row.decoded_s - AV_SAMPLE_S) <= 1, `decoded_s ${row.decoded_s}`)
  assert.is(row.black_s, 0)
  assert.is(row.freeze_s, 0)
  assert.is(row.silence_s, 0)
  assert.ok(row.integrated_lufs !== null && Math.abs(row.integrated_lufs - TONE_LUFS) <= 1, `integrated ${row.integrated_lufs} LUFS`)
})

test('404 for an unknown stream', async () => {
  const response = await screenshot('nobody')
  assert.is(response.status, 404)
})

test('dead source fails only its checks', async () => {
  const missing = await startNotFoundServer()
  await createStream('dead', missing.playlistUrl)
  const failed = await waitFor('a failed av row for dead', async () => {
    const found = (await avRows('dead')).find((row) => row.error !== '')
    return found
  }, 60_000, 1000)
  assert.match(failed.error, /not found \(HTTP 404\)/)
  const grabFailure = await waitFor('the failed grab in the agent log', () => failureLogged('dead', 'screenshot'), 30_000, 500)
  assert.is(grabFailure, 'not found (HTTP 404)')
  assert.is((await screenshot('dead')).status, 404)

  const before = (await listScreenshots('cam')).screenshots[0]!.ts_ms
  await waitFor('a newer screenshot of cam', async () => {
    const newest = (await listScreenshots('cam')).screenshots[0]
    return (newest !== undefined && newest.ts_ms > before) || undefined
  }, 30_000, 500)
  const { body } = await api('GET', '/api/state/streams/v1/cam')
  assert.is(body.status, 'up')
})

test('audio only: grab fails, rest works', async () => {
  const radio = await startHlsStream({ video: false })
  await createStream('radio', radio.url)
  const grabFailure = await waitFor('the failed grab of radio in the agent log', () => failureLogged('radio', 'screenshot'), 45_000, 500)
  assert.is(grabFailure, 'no video stream')
  const row = await waitFor('an av row for radio', async () => (await avRows('radio')).find((entry) => entry.error === ''), 60_000, 1000)
  assert.not.ok(row.video)
  assert.ok(row.audio)
  assert.ok(row.integrated_lufs !== null && Math.abs(row.integrated_lufs - TONE_LUFS) <= 1, `integrated ${row.integrated_lufs} LUFS`)
  // The probe runs on its own schedule, so its first status may come after the av row.
  const state = await waitFor('radio to be up', async () => {
    const { body } = await api('GET', '/api/state/streams/v1/radio')
    return body.status === 'up' ? body : undefined
  }, 30_000, 500)
  assert.is(state.status_reason, 'ok')
  assert.is((await screenshot('radio')).status, 404)
})

test('deleting streams leaves no ffmpeg', async () => {
  for (const id of ['cam', 'dead', 'radio']) await api('DELETE', `/api/state/streams/v1/${id}/delete`)
  await waitFor('no ffmpeg or ffprobe child of the agent', () => (childrenNamed(agent.child.pid!, ['ffmpeg', 'ffprobe']).length === 0 ? true : undefined), 30_000, 250)
})

test.run()
