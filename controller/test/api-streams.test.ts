import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'

let server: TestController
const base = '/api/state/streams/v1'

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const response = await server.inject({ method, url, payload: payload as object })
  return { status: response.statusCode, body: response.json() }
}

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  await server.stop()
})

test('create returns the stored stream', async () => {
  const { status, body } = await call('POST', `${base}/news-1/create`, {
    url: 'http://127.0.0.1:9/live/index.m3u8',
    labels: { region: 'eu-west' },
    probe: { interval_s: 20 },
  })
  assert.is(status, 201)
  assert.is(body.id, 'news-1')
  assert.is(body.desired_state, 'up')
  assert.equal(body.probe, { interval_s: 20, sample_s: 5, timeout_s: 10 })
  assert.equal(body.labels, { region: 'eu-west' })
  assert.is(body.agent_id, null)
  assert.is(body.unassigned_reason, 'no agent connected')
})

test('short interval gets a sample window that fits', async () => {
  const created = await call('POST', `${base}/fast-1/create`, { url: 'udp://127.0.0.1:5000', probe: { interval_s: 2 } })
  assert.is(created.status, 201)
  assert.equal(created.body.probe, { interval_s: 2, sample_s: 1, timeout_s: 10 })
  const updated = await call('POST', `${base}/fast-1/update`, { probe: { timeout_s: 5 } })
  assert.is(updated.status, 200)
  assert.equal(updated.body.probe, { interval_s: 2, sample_s: 1, timeout_s: 5 })
  assert.is((await call('DELETE', `${base}/fast-1/delete`)).status, 200)
})

test('create rejects a duplicate id with 409', async () => {
  const { status, body } = await call('POST', `${base}/news-1/create`, { url: 'http://127.0.0.1:9/a.m3u8' })
  assert.is(status, 409)
  assert.is(body.code, 'MONIT_ERR_STREAM_EXISTS')
  assert.match(body.message, /news-1/)
})

const invalidBodies: Array<[string, unknown, RegExp]> = [
  ['missing url', {}, /url/],
  ['file scheme', { url: 'file:///etc/passwd' }, /body\/url: scheme "file" is not allowed/],
  ['concat scheme', { url: 'concat:a.ts|b.ts' }, /body\/url/],
  ['unknown field', { url: 'udp://127.0.0.1:5000', color: 'red' }, /color/],
  ['wrong state', { url: 'udp://127.0.0.1:5000', desired_state: 'sideways' }, /body\/desired_state must be one of up, down/],
  ['url as a list', { url: ['udp://127.0.0.1:5000'] }, /body\/url must be string/],
  ['interval as text', { url: 'udp://127.0.0.1:5000', probe: { interval_s: '10' } }, /body\/probe\/interval_s must be integer/],
  ['url with a space', { url: ' udp://127.0.0.1:5000' }, /body\/url: .* contains spaces/],
  ['probe range', { url: 'udp://127.0.0.1:5000', probe: { interval_s: 0 } }, /interval_s/],
  ['sample too long', { url: 'udp://127.0.0.1:5000', probe: { interval_s: 5, sample_s: 5 } }, /body\/probe\/sample_s/],
  ['invalid label key', { url: 'udp://127.0.0.1:5000', labels: { 'a=b': 'c' } }, /^body\/labels: invalid key "a=b"; keys must match/],
  ['unknown desired state', { url: 'udp://127.0.0.1:5000', desired_state: 'paused' }, /^body\/desired_state must be one of up, down$/],
]

test('unreadable bodies get the fix in the message', async () => {
  const send = (payload: string, contentType: string) =>
    server.inject({ method: 'POST', url: `${base}/raw-1/create`, payload, headers: { 'content-type': contentType } })
  const xml = await send('<stream/>', 'application/xml')
  assert.is(xml.statusCode, 415)
  assert.match(xml.json().message, 'content-type: application/json')
  const cut = await send('{"url":', 'application/json')
  assert.is(cut.statusCode, 400)
  assert.is(cut.json().error, 'Bad Request')
  assert.match(cut.json().message, 'not valid JSON')
  const large = await send(JSON.stringify({ url: 'x'.repeat(2_000_000) }), 'application/json')
  assert.is(large.statusCode, 413)
  assert.match(large.json().message, 'larger than 1048576 bytes')
})

test('unknown route is 404 with a code', async () => {
  const response = await server.inject({ method: 'GET', url: '/api/nope?x=1' })
  assert.is(response.statusCode, 404)
  assert.is(response.json().code, 'MONIT_ERR_ROUTE_NOT_FOUND')
  assert.match(response.json().message, 'no route GET /api/nope')
})

for (const [name, payload, pattern] of invalidBodies) {
  test(`create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${base}/bad-1/create`, payload)
    assert.is(status, 400)
    assert.match(body.message, pattern)
    assert.is(body.statusCode, 400)
  })
}

test('create rejects an invalid id with 400', async () => {
  const { status, body } = await call('POST', `${base}/bad%20id/create`, { url: 'udp://127.0.0.1:5000' })
  assert.is(status, 400)
  assert.match(body.message, /params\/id/)
})

test('get returns 404 for an unknown stream', async () => {
  const { status, body } = await call('GET', `${base}/missing`)
  assert.is(status, 404)
  assert.is(body.code, 'MONIT_ERR_STREAM_NOT_FOUND')
})

test('update changes only given fields', async () => {
  const { status, body } = await call('POST', `${base}/news-1/update`, { url: 'srt://127.0.0.1:9000' })
  assert.is(status, 200)
  assert.is(body.url, 'srt://127.0.0.1:9000')
  assert.equal(body.labels, { region: 'eu-west' })
})

test('update rejects a bad url with 400', async () => {
  const { status, body } = await call('POST', `${base}/news-1/update`, { url: 'pipe:0' })
  assert.is(status, 400)
  assert.match(body.message, /body\/url/)
})

test('update of an unknown stream is 404', async () => {
  const { status } = await call('POST', `${base}/missing/update`, { url: 'udp://127.0.0.1:5000' })
  assert.is(status, 404)
})

test('down and up change the desired state', async () => {
  const down = await call('POST', `${base}/news-1/down`)
  assert.is(down.status, 200)
  assert.is(down.body.desired_state, 'down')
  assert.is(down.body.unassigned_reason, null)
  const up = await call('POST', `${base}/news-1/up`)
  assert.is(up.body.desired_state, 'up')
  const missing = await call('POST', `${base}/missing/up`)
  assert.is(missing.status, 404)
})

test('list returns every stream', async () => {
  await call('POST', `${base}/news-2/create`, { url: 'rtmp://127.0.0.1/live/x', desired_state: 'down' })
  const { status, body } = await call('GET', base)
  assert.is(status, 200)
  assert.equal(body.streams.map((stream: { id: string }) => stream.id), ['news-1', 'news-2'])
})

test('delete removes the stream', async () => {
  const deleted = await call('DELETE', `${base}/news-2/delete`)
  assert.is(deleted.status, 200)
  assert.equal(deleted.body, { id: 'news-2', deleted: true })
  assert.is((await call('GET', `${base}/news-2`)).status, 404)
  assert.is((await call('DELETE', `${base}/news-2/delete`)).status, 404)
})

test('metrics query validates its range', async () => {
  const bad = await call('GET', '/api/query/metrics/v1?stream_id=news-1&from=yesterday')
  assert.is(bad.status, 400)
  assert.match(bad.body.message, /querystring\/from/)
  const reversed = await call('GET', '/api/query/metrics/v1?stream_id=news-1&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')
  assert.is(reversed.status, 400)
  const missing = await call('GET', '/api/query/metrics/v1')
  assert.is(missing.status, 400)
  assert.match(missing.body.message, /stream_id/)
})

test('metrics query returns an empty series', async () => {
  const { status, body } = await call('GET', '/api/query/metrics/v1?stream_id=news-1&from=1700000000&to=1700003600')
  assert.is(status, 200)
  assert.is(body.from, '2023-11-14T22:13:20.000Z')
  assert.equal(body.rows, [])
})

test('agents list is empty without agents', async () => {
  const { status, body } = await call('GET', '/api/agents/v1')
  assert.is(status, 200)
  assert.equal(body.agents, [])
})

test.run()
