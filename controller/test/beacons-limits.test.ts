import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { BatchWriter } from '../src/storage/index.ts'

// A controller whose beacon routes allow 3 requests per address per minute.
let server: TestController

const userAgent = 'okhttp/4.12.0'

async function post(url: string, payload: unknown, remoteAddress: string) {
  const response = await server.controller.app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: { 'user-agent': userAgent },
    remoteAddress,
  })
  return { status: response.statusCode, body: response.json(), headers: response.headers }
}

function beacons(streamId: string, count: number) {
  return Array.from({ length: count }, (_, index) => ({
    stream_id: streamId,
    unique_id: `viewer-${index}`,
    app: 'android-player',
    version: '5.1.0',
    host: 'edge.example.com',
  }))
}

test.before(async () => {
  server = await startTestController(['--beacon-rate-limit', '3'])
})

test.after(async () => {
  await server.stop()
})

test('events beyond the rate limit get 429', async () => {
  const event = [{ ...beacons('ev-limited', 1)[0], type: 'heartbeat' }]
  for (let i = 1; i <= 3; i++) {
    const { status } = await post('/api/data/events/v1', event, '127.0.0.21')
    assert.is(status, 202, `request ${i}`)
  }
  const limited = await post('/api/data/events/v1', event, '127.0.0.21')
  assert.is(limited.status, 429)
  assert.is(limited.body.code, 'MONIT_ERR_RATE_LIMITED')
  assert.is(limited.body.statusCode, 429)
  assert.match(limited.body.message, /too many requests; retry in/)
  assert.ok(Number(limited.headers['retry-after']) > 0)

  const otherAddress = await post('/api/data/events/v1', event, '127.0.0.22')
  assert.is(otherAddress.status, 202)
})

// The controller's heatmap writer is swapped for a real BatchWriter on the
// same storage with maxBufferedRows 3 and a flush only on request, so the
// buffer is full after 3 beacons.
test('full writer buffer gets 503 and keeps no rows of the batch', async () => {
  const { context } = server.controller
  const original = context.writers.heatmap
  const tiny = new BatchWriter(context.storage, 'heatmap', {
    logger: context.logger,
    maxBufferedRows: 3,
    flushMs: 600_000,
  })
  context.writers.heatmap = tiny
  try {
    const first = await post('/api/data/heatmap/v1', beacons('hm-full', 2), '127.0.0.31')
    assert.is(first.status, 202)

    const full = await post('/api/data/heatmap/v1', beacons('hm-full', 2), '127.0.0.32')
    assert.is(full.status, 503)
    assert.is(full.body.code, 'MONIT_ERR_BUFFER_FULL')
    assert.match(full.body.message, /heatmap buffer is full.*retry later/)
    assert.is(full.headers['retry-after'], '5')
    assert.is(tiny.bufferedRows, 2)

    const fits = await post('/api/data/heatmap/v1', beacons('hm-full', 1), '127.0.0.33')
    assert.is(fits.status, 202)
    await tiny.flush()
  } finally {
    context.writers.heatmap = original
    await tiny.close()
  }

  const rows = await context.storage.query<{ rows: string }>(
    `SELECT count() AS rows FROM ${context.storage.table('heatmap')} WHERE stream_id = {stream_id:String}`,
    { stream_id: 'hm-full' },
  )
  assert.is(Number(rows[0]?.rows), 3)
})

test.run()
