// av results and screenshot frames sent by an agent over the hub: stored in
// av_checks and as files, served by the query and screenshot routes, and
// dropped for assignments that are no longer current.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, screenshotFrames, type Av, type ControllerMessage, type Perform } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'
import { jpegSize } from '../src/screenshots/jpeg.ts'

let server: TestController
let agent: WebSocket
let perform: Perform
const received: ControllerMessage[] = []

/** A JPEG header of the given size, padded with a comment segment to `bytes`. */
function jpeg(width: number, height: number, bytes = 200): Buffer {
  const sof = Buffer.alloc(19)
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08])
  sof.writeUInt16BE(height, 5)
  sof.writeUInt16BE(width, 7)
  const padding = Math.max(0, bytes - 2 - 19 - 2)
  const chunks = [Buffer.from([0xff, 0xd8]), sof]
  for (let left = padding; left > 0; ) {
    const size = Math.min(left, 65000)
    const com = Buffer.alloc(size)
    com.set([0xff, 0xfe])
    com.writeUInt16BE(size - 2, 2)
    chunks.push(com)
    left -= size
  }
  chunks.push(Buffer.from([0xff, 0xd9]))
  return Buffer.concat(chunks)
}

function send(message: unknown): void {
  agent.send(JSON.stringify(message))
}

function nextMessage(type: string, timeoutMs = 10_000): Promise<ControllerMessage> {
  return waitFor(`a ${type} message`, () => {
    const index = received.findIndex((message) => message.type === type)
    return index < 0 ? undefined : received.splice(index, 1)[0]
  }, timeoutMs, 50)
}

function avMessage(epoch: number, tsMs: number): Av {
  return {
    type: 'av',
    stream_id: 'news-1',
    epoch,
    ts_ms: tsMs,
    sample_s: 10,
    decoded_s: 10.04,
    video: true,
    audio: true,
    black: [{ start_s: 1, end_s: 6.04, duration_s: 5.04, open: false }],
    freeze: [
      { start_s: 1, end_s: 6.04, duration_s: 5.04, open: false },
      { start_s: 8, end_s: 10.04, duration_s: 2.04, open: true },
    ],
    silence: [],
    loudness: { integrated_lufs: -23.1, true_peak_dbtp: -19.2, lra_lu: null },
  }
}

async function get(url: string, role: Role = Role.viewer) {
  return server.inject({ method: 'GET', url }, role)
}

test.before(async () => {
  server = await startTestController(['--screenshot-keep', '2'])
  agent = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, { headers: { authorization: `Bearer ${server.agentToken}` } })
  agent.on('message', (data) => received.push(JSON.parse(data.toString())))
  await new Promise((done, fail) => {
    agent.once('open', done)
    agent.once('error', fail)
  })
  send({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'edge-1', name: 'edge-1', version: 'test', labels: {}, capacity: 10, streams: [] })
  await nextMessage('welcome')
  for (const id of ['news-1', 'quiet-1']) {
    const created = await server.inject({ method: 'POST', url: `/api/state/streams/v1/${id}/create`, payload: { url: `http://127.0.0.1:9/${id}.m3u8` } })
    assert.is(created.statusCode, 201, created.body)
  }
  const performs = [await nextMessage('perform'), await nextMessage('perform')] as Perform[]
  perform = performs.find((message) => message.stream_id === 'news-1')!
})

test.after(async () => {
  agent.close()
  await server.stop()
})

test('av result stored and queried', async () => {
  const tsMs = Date.now() - 1000
  send(avMessage(perform.epoch, tsMs))
  const rows = await waitFor('an av row', async () => {
    const found = (await get('/api/query/av/v1?stream_id=news-1')).json().rows as Array<Record<string, any>>
    return found.length > 0 ? found : undefined
  }, 15_000, 200)
  const row = rows[0]!
  assert.is(row.stream_id, 'news-1')
  assert.is(row.ts, new Date(tsMs).toISOString())
  assert.is(row.agent_id, 'edge-1')
  assert.ok(Math.abs(row.black_s - 5.04) < 0.001, `black_s ${row.black_s}`)
  assert.ok(Math.abs(row.freeze_s - 7.08) < 0.001, `freeze_s ${row.freeze_s}`)
  assert.is(row.silence_s, 0)
  assert.equal(row.periods.black, [[1, 6.04]])
  assert.is(row.periods.freeze.length, 2)
  assert.ok(Math.abs(row.integrated_lufs - -23.1) < 0.01)
  assert.is(row.lra, null)
  assert.is(row.video, true)
  assert.is(row.error, '')
})

test('a failed check is stored with its reason', async () => {
  const failed: Av = { ...avMessage(perform.epoch, Date.now()), black: [], freeze: [], decoded_s: 0, loudness: null, error: 'connection refused' }
  send(failed)
  const row = await waitFor('the failed av row', async () => {
    const rows = (await get('/api/query/av/v1?stream_id=news-1')).json().rows as Array<{ error: string }>
    return rows.find((entry) => entry.error === 'connection refused')
  }, 15_000, 200)
  assert.ok(row)
})

test('av result of an old epoch is dropped', async () => {
  send({ ...avMessage(perform.epoch + 100, Date.now()), error: 'stale' })
  send({ ...avMessage(perform.epoch, Date.now()), error: 'marker' })
  const rows = await waitFor('the marker row', async () => {
    const found = (await get('/api/query/av/v1?stream_id=news-1')).json().rows as Array<{ error: string }>
    return found.some((entry) => entry.error === 'marker') ? found : undefined
  }, 15_000, 200)
  assert.not.ok(rows.some((entry) => entry.error === 'stale'))
})

test('multi-frame screenshot joined and served', async () => {
  const image = jpeg(640, 360, 700_000)
  const tsMs = Date.now()
  const frames = screenshotFrames({ stream_id: 'news-1', epoch: perform.epoch, ts_ms: tsMs }, image)
  assert.ok(frames.length >= 3)
  for (const frame of frames.reverse()) send(frame)
  const response = await waitFor('the latest screenshot', async () => {
    const reply = await get('/api/state/streams/v1/news-1/screenshot')
    return reply.statusCode === 200 ? reply : undefined
  }, 15_000, 200)
  assert.is(response.headers['content-type'], 'image/jpeg')
  assert.ok(response.rawPayload.equals(image))
  assert.equal(jpegSize(response.rawPayload), { width: 640, height: 360 })

  const list = (await get('/api/state/streams/v1/news-1/screenshots')).json()
  assert.is(list.screenshots.length, 1)
  assert.is(list.screenshots[0].ts_ms, tsMs)
  assert.is(list.screenshots[0].size, image.length)
  const one = await get(list.screenshots[0].url)
  assert.is(one.statusCode, 200)
  assert.ok(one.rawPayload.equals(image))
})

test('retention keeps the newest two', async () => {
  const base = Date.now() + 10_000
  for (let i = 1; i <= 3; i++) {
    for (const frame of screenshotFrames({ stream_id: 'news-1', epoch: perform.epoch, ts_ms: base + i }, jpeg(16 * i, 9 * i))) send(frame)
  }
  const list = await waitFor('three more screenshots', async () => {
    const body = (await get('/api/state/streams/v1/news-1/screenshots')).json()
    return body.screenshots[0]?.ts_ms === base + 3 ? body : undefined
  }, 15_000, 200)
  assert.equal(list.screenshots.map((entry: { ts_ms: number }) => entry.ts_ms), [base + 3, base + 2])
  const latest = await get('/api/state/streams/v1/news-1/screenshot')
  assert.equal(jpegSize(latest.rawPayload), { width: 48, height: 27 })
})

test('screenshot of an old epoch is dropped', async () => {
  const before = (await get('/api/state/streams/v1/news-1/screenshots')).json().screenshots
  for (const frame of screenshotFrames({ stream_id: 'news-1', epoch: perform.epoch + 100, ts_ms: Date.now() + 60_000 }, jpeg(8, 8))) send(frame)
  // A current av row after it shows the hub has handled the frame.
  send({ ...avMessage(perform.epoch, Date.now()), error: 'after stale screenshot' })
  await waitFor('the av row sent after it', async () => {
    const rows = (await get('/api/query/av/v1?stream_id=news-1')).json().rows as Array<{ error: string }>
    return rows.some((entry) => entry.error === 'after stale screenshot') || undefined
  }, 15_000, 200)
  const after = (await get('/api/state/streams/v1/news-1/screenshots')).json().screenshots
  assert.equal(after, before)
})

test('404 for unknown or empty stream', async () => {
  const unknown = await get('/api/state/streams/v1/nobody/screenshot')
  assert.is(unknown.statusCode, 404)
  assert.is(unknown.json().code, 'MONIT_ERR_STREAM_NOT_FOUND')
  assert.is((await get('/api/state/streams/v1/nobody/screenshots')).statusCode, 404)
  const empty = await get('/api/state/streams/v1/quiet-1/screenshot')
  assert.is(empty.statusCode, 404)
  assert.is(empty.json().code, 'MONIT_ERR_SCREENSHOT_NOT_FOUND')
  assert.equal((await get('/api/state/streams/v1/quiet-1/screenshots')).json().screenshots, [])
  assert.is((await get('/api/state/streams/v1/news-1/screenshots/123')).statusCode, 404)
})

test('av query takes several streams and a limit', async () => {
  const body = (await get('/api/query/av/v1?stream_id=news-1,quiet-1&limit=1')).json()
  assert.equal(body.stream_ids, ['news-1', 'quiet-1'])
  assert.is(body.rows.length, 1)
  assert.is(body.truncated, true)
  assert.is((await get('/api/query/av/v1')).statusCode, 400)
})

test('the routes need a signed-in user', async () => {
  const response = await server.controller.app.inject({ method: 'GET', url: '/api/state/streams/v1/news-1/screenshot' })
  assert.is(response.statusCode, 401)
  const query = await server.controller.app.inject({ method: 'GET', url: '/api/query/av/v1?stream_id=news-1' })
  assert.is(query.statusCode, 401)
})

test('an invalid ts is rejected with 400', async () => {
  assert.is((await get('/api/state/streams/v1/news-1/screenshots/abc')).statusCode, 400)
})

test.run()
