import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { BEACON_BODY_LIMIT } from '../src/api/beacons.ts'

// The GeoLite2 test database contains 81.2.69.142 (GB, ENG) and
// 89.160.20.112 (SE, E). 127.0.0.2 is the one trusted proxy.
const geoipDb = new URL('./fixtures/geoip/GeoLite2-City-Test.mmdb', import.meta.url).pathname
const trustedProxy = '127.0.0.2'

const heatmapUrl = '/api/data/heatmap/v1'
const eventsUrl = '/api/data/events/v1'
const chromeWindows =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const iphoneSafari =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1'

let server: TestController

interface PostOptions {
  userAgent?: string | null
  remoteAddress?: string
  headers?: Record<string, string>
  contentType?: string
}

async function post(url: string, payload: unknown, options: PostOptions = {}) {
  const headers: Record<string, string | undefined> = {
    'content-type': options.contentType ?? 'application/json',
    // null sends no User-Agent: inject() leaves the header out only when it is undefined.
    'user-agent': options.userAgent === null ? undefined : (options.userAgent ?? chromeWindows),
    ...options.headers,
  }
  const response = await server.controller.app.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers,
    remoteAddress: options.remoteAddress ?? '127.0.0.1',
  })
  return { status: response.statusCode, body: response.json(), headers: response.headers }
}

function beacon(streamId: string, overrides: Record<string, unknown> = {}) {
  return { stream_id: streamId, unique_id: 'viewer-1', app: 'web-player', version: '2.3.0', host: 'cdn.example.com', ...overrides }
}

async function storedRows(table: 'heatmap' | 'events', streamId: string): Promise<Record<string, unknown>[]> {
  const { storage, writers } = server.controller.context
  await writers[table].flush()
  return storage.query(
    `SELECT * EXCEPT (insert_date), toUnixTimestamp64Milli(insert_ts) AS ts_ms
     FROM ${storage.table(table)}
     WHERE stream_id = {stream_id:String}
     ORDER BY insert_ts, uniq_id`,
    { stream_id: streamId },
  )
}

test.before(async () => {
  server = await startTestController(['--geoip-db', geoipDb, '--trusted-proxies', trustedProxy])
})

test.after(async () => {
  await server.stop()
})

test('heatmap stores a beacon with client fields', async () => {
  const { status, body } = await post(heatmapUrl, [beacon('hm-1')], { remoteAddress: '81.2.69.142' })
  assert.is(status, 202)
  assert.equal(body, { accepted: 1 })

  const rows = await storedRows('heatmap', 'hm-1')
  assert.is(rows.length, 1)
  const row = rows[0]!
  assert.is(row.uniq_id, 'viewer-1')
  assert.is(row.app, 'web-player')
  assert.is(row.version, '2.3.0')
  assert.is(row.host, 'cdn.example.com')
  assert.is(row.browser, 'Chrome 124')
  assert.is(row.os, 'Windows 10')
  assert.is(row.platform, 'desktop')
  assert.is(row.country, 'GB')
  assert.is(row.region, 'ENG')
  assert.is(row.user_agent, chromeWindows)
})

test('heatmap stores a batch whole', async () => {
  const beacons = [1, 2, 3].map((n) => beacon('hm-batch', { unique_id: `viewer-${n}` }))
  const { status, body } = await post(heatmapUrl, beacons, { userAgent: iphoneSafari })
  assert.is(status, 202)
  assert.equal(body, { accepted: 3 })
  const rows = await storedRows('heatmap', 'hm-batch')
  assert.equal(rows.map((row) => row.uniq_id), ['viewer-1', 'viewer-2', 'viewer-3'])
  assert.ok(rows.every((row) => row.platform === 'mobile' && row.browser === 'Mobile Safari 17'))
})

test('beacon platform overrides the User-Agent', async () => {
  await post(heatmapUrl, [beacon('hm-platform', { platform: 'android-tv' })])
  const rows = await storedRows('heatmap', 'hm-platform')
  assert.is(rows[0]?.platform, 'android-tv')
  assert.is(rows[0]?.browser, 'Chrome 124')
})

// Lone surrogates are valid JSON but make ClickHouse reject the whole insert.
test('heatmap stores unusual strings', async () => {
  const sent = [
    'zuschauer-ä-视频-🎬',
    'quote"back\\slash',
    'control-\u0000-\u001f-\u2028',
    'lone-\ud800-high',
    'lone-\udc00-low',
    'reversed-\udc00\ud800-pair',
  ]
  const expected = [
    sent[0],
    sent[1],
    sent[2],
    'lone-\ufffd-high',
    'lone-\ufffd-low',
    'reversed-\ufffd\ufffd-pair',
  ]
  const beacons = sent.map((id) => beacon('hm-strings', { unique_id: id, app: id }))
  const { status } = await post(heatmapUrl, beacons)
  assert.is(status, 202)

  const rows = await storedRows('heatmap', 'hm-strings')
  const stored = new Set(rows.map((row) => row.uniq_id))
  for (const id of expected) assert.ok(stored.has(id), `stored ${JSON.stringify(id)}`)
  assert.is(rows.length, expected.length)
})

test('unknown address leaves country empty', async () => {
  const { status } = await post(heatmapUrl, [beacon('hm-unknown-ip')], { remoteAddress: '127.0.0.1' })
  assert.is(status, 202)
  const rows = await storedRows('heatmap', 'hm-unknown-ip')
  assert.is(rows[0]?.country, '')
  assert.is(rows[0]?.region, '')
})

test('heatmap rejects a batch with one bad item', async () => {
  const beacons = [beacon('hm-reject'), beacon('hm-reject'), beacon('hm-reject'), beacon('hm-reject', { stream_id: 7 })]
  delete (beacons[3] as Record<string, unknown>).stream_id
  const { status, body } = await post(heatmapUrl, beacons)
  assert.is(status, 400)
  assert.is(body.statusCode, 400)
  assert.is(body.error, 'Bad Request')
  assert.match(body.message, /^body\/3\/stream_id: missing/)
  assert.is((await storedRows('heatmap', 'hm-reject')).length, 0)
})

const invalidHeatmapBodies: Array<[string, unknown, RegExp]> = [
  ['empty array', [], /^body must NOT have fewer than 1 items/],
  ['too many items', Array.from({ length: 1001 }, () => beacon('hm-bad')), /^body must NOT have more than 1000 items/],
  ['object body', beacon('hm-bad'), /^body must be array/],
  ['unknown field', [beacon('hm-bad', { colour: 'red' })], /^body\/0\/colour: unknown field/],
  ['bad stream id', [beacon('hm-bad'), beacon('bad id')], /^body\/1\/stream_id/],
  ['empty host', [beacon('hm-bad', { host: '' })], /^body\/0\/host/],
  ['long unique id', [beacon('hm-bad', { unique_id: 'u'.repeat(129) })], /^body\/0\/unique_id/],
]

for (const [name, payload, pattern] of invalidHeatmapBodies) {
  test(`heatmap rejects ${name} with 400`, async () => {
    const { status, body } = await post(heatmapUrl, payload)
    assert.is(status, 400)
    assert.match(body.message, pattern)
  })
}

test('heatmap rejects malformed JSON with 400', async () => {
  const { status, body } = await post(heatmapUrl, '[{"stream_id": ')
  assert.is(status, 400)
  assert.is(body.statusCode, 400)
})

test('missing User-Agent is rejected with 400', async () => {
  for (const userAgent of [null, '', '   ']) {
    const { status, body } = await post(heatmapUrl, [beacon('hm-no-ua')], { userAgent })
    assert.is(status, 400, `status for ${JSON.stringify(userAgent)}`)
    assert.is(body.code, 'MONIT_ERR_INVALID_FIELD')
    assert.match(body.message, /^headers\/user-agent: missing/)
  }
  const events = await post(eventsUrl, [{ ...beacon('ev-no-ua'), type: 'play' }], { userAgent: null })
  assert.is(events.status, 400)
  assert.match(events.body.message, /^headers\/user-agent/)
})

test('body over the limit is rejected with 413', async () => {
  const filler = beacon('hm-large', { host: 'h'.repeat(250) })
  const beacons = Array.from({ length: Math.ceil(BEACON_BODY_LIMIT / JSON.stringify(filler).length) + 1 }, () => filler)
  const payload = JSON.stringify(beacons)
  assert.ok(payload.length > BEACON_BODY_LIMIT)
  const { status, body } = await post(heatmapUrl, payload)
  assert.is(status, 413)
  assert.is(body.code, 'MONIT_ERR_PAYLOAD_TOO_LARGE')
  assert.match(body.message, new RegExp(`larger than ${BEACON_BODY_LIMIT} bytes`))
  assert.is((await storedRows('heatmap', 'hm-large')).length, 0)
})

test('text/plain body from sendBeacon is parsed as JSON', async () => {
  const { status } = await post(heatmapUrl, JSON.stringify([beacon('hm-text')]), { contentType: 'text/plain;charset=UTF-8' })
  assert.is(status, 202)
  assert.is((await storedRows('heatmap', 'hm-text')).length, 1)
})

test('X-Forwarded-For is honoured from the trusted proxy', async () => {
  const headers = { 'x-forwarded-for': '89.160.20.112' }
  const { status } = await post(heatmapUrl, [beacon('hm-proxied')], { remoteAddress: trustedProxy, headers })
  assert.is(status, 202)
  const rows = await storedRows('heatmap', 'hm-proxied')
  assert.is(rows[0]?.country, 'SE')
  assert.is(rows[0]?.region, 'E')
})

test('X-Forwarded-For is ignored from other peers', async () => {
  const headers = { 'x-forwarded-for': '89.160.20.112' }
  await post(heatmapUrl, [beacon('hm-spoofed')], { remoteAddress: '81.2.69.142', headers })
  await post(heatmapUrl, [beacon('hm-spoofed', { unique_id: 'viewer-2' })], { remoteAddress: '127.0.0.3', headers })
  const rows = await storedRows('heatmap', 'hm-spoofed')
  assert.is(rows.length, 2)
  assert.is(rows[0]?.country, 'GB', 'the socket address of an untrusted peer is used')
  assert.is(rows[1]?.country, '', 'a loopback peer that is not the trusted proxy')
})

test('CORS preflight allows any origin', async () => {
  const response = await server.controller.app.inject({
    method: 'OPTIONS',
    url: heatmapUrl,
    headers: {
      origin: 'https://player.example.org',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })
  assert.is(response.statusCode, 204)
  assert.is(response.headers['access-control-allow-origin'], '*')
  assert.match(String(response.headers['access-control-allow-methods']), /POST/)
  assert.match(String(response.headers['access-control-allow-headers']), /content-type/)
  assert.is(response.headers['access-control-allow-credentials'], undefined)
  assert.is(response.headers['access-control-max-age'], '7200')
})

test('CORS headers on beacon responses and errors', async () => {
  const headers = { origin: 'https://player.example.org' }
  const accepted = await post(eventsUrl, [{ ...beacon('ev-cors'), type: 'play' }], { headers })
  assert.is(accepted.status, 202)
  assert.is(accepted.headers['access-control-allow-origin'], '*')
  const rejected = await post(eventsUrl, [], { headers })
  assert.is(rejected.status, 400)
  assert.is(rejected.headers['access-control-allow-origin'], '*')
})

test('CORS is not offered on other routes', async () => {
  const response = await server.controller.app.inject({
    method: 'OPTIONS',
    url: '/api/state/streams/v1',
    headers: { origin: 'https://player.example.org', 'access-control-request-method': 'POST' },
  })
  assert.is(response.statusCode, 404)
  assert.is(response.headers['access-control-allow-origin'], undefined)
})

test('beacon routes report the rate limit', async () => {
  const { headers } = await post(heatmapUrl, [beacon('hm-limit')])
  assert.is(headers['x-ratelimit-limit'], '600')
  assert.ok(Number(headers['x-ratelimit-remaining']) < 600)
})

test('events stores every event type', async () => {
  const base = beacon('ev-all')
  const start = Date.now() - 60_000
  const events = [
    { ...base, type: 'play', ts: start },
    { ...base, type: 'pause', ts: start + 1000 },
    { ...base, type: 'seek', ts: start + 2000, value: 120.5 },
    { ...base, type: 'rebuffer_start', ts: start + 3000 },
    { ...base, type: 'rebuffer_end', ts: start + 4000, value: 850 },
    { ...base, type: 'error', ts: start + 5000, code: 'MEDIA_ERR_NETWORK' },
    { ...base, type: 'bitrate_switch', ts: start + 6000, value: 2_500_000 },
    { ...base, type: 'heartbeat', ts: start + 7000 },
  ]
  const { status, body } = await post(eventsUrl, events, { remoteAddress: '89.160.20.112', userAgent: iphoneSafari })
  assert.is(status, 202)
  assert.equal(body, { accepted: 8 })

  const rows = await storedRows('events', 'ev-all')
  assert.equal(rows.map((row) => row.event), events.map((event) => event.type))
  assert.equal(rows.map((row) => Number(row.ts_ms)), events.map((event) => event.ts))
  assert.is(rows[5]?.code, 'MEDIA_ERR_NETWORK')
  assert.is(rows[6]?.value, 2_500_000)
  assert.is(rows[2]?.value, 120.5)
  assert.is(rows[0]?.code, '')
  assert.is(rows[0]?.value, 0)
  assert.is(rows[0]?.country, 'SE')
  assert.is(rows[0]?.platform, 'mobile')
  assert.is(rows[0]?.os, 'iOS 17.4.1')
})

test('event without ts gets the receive time', async () => {
  const before = Date.now()
  await post(eventsUrl, [{ ...beacon('ev-now'), type: 'heartbeat' }])
  const rows = await storedRows('events', 'ev-now')
  assert.is(rows.length, 1)
  assert.ok(Number(rows[0]!.ts_ms) >= before)
})

const invalidEvents: Array<[string, unknown[], RegExp]> = [
  ['unknown type', [{ ...beacon('ev-bad'), type: 'stall' }], /^body\/0\/type/],
  ['missing type', [beacon('ev-bad')], /^body\/0\/type: missing/],
  ['error without code', [{ ...beacon('ev-bad'), type: 'play' }, { ...beacon('ev-bad'), type: 'error' }], /^body\/1\/code: missing/],
  ['bitrate_switch without value', [{ ...beacon('ev-bad'), type: 'bitrate_switch' }], /^body\/0\/value: missing/],
  ['negative value', [{ ...beacon('ev-bad'), type: 'bitrate_switch', value: -1 }], /^body\/0\/value/],
  ['ts in seconds', [{ ...beacon('ev-bad'), type: 'play', ts: 1_767_225_600 }], /^body\/0\/ts/],
  ['fractional ts', [{ ...beacon('ev-bad'), type: 'play', ts: Date.now() + 0.5 }], /^body\/0\/ts/],
  [
    'ts older than a day',
    [{ ...beacon('ev-bad'), type: 'play' }, { ...beacon('ev-bad'), type: 'play', ts: Date.now() - 25 * 3_600_000 }],
    /^body\/1\/ts: .* is more than 24 hours before/,
  ],
  [
    'ts in the future',
    [{ ...beacon('ev-bad'), type: 'play', ts: Date.now() + 3_600_000 }],
    /^body\/0\/ts: .* is more than 10 minutes after/,
  ],
]

test('events rejects an infinite value', async () => {
  const event = JSON.stringify({ ...beacon('ev-bad'), type: 'bitrate_switch' })
  const payload = `[${event.slice(0, -1)},"value":1e400}]`
  const { status, body } = await post(eventsUrl, payload)
  assert.is(status, 400)
  assert.match(body.message, /^body\/0\/value/)
})

for (const [name, payload, pattern] of invalidEvents) {
  test(`events rejects ${name} with 400`, async () => {
    const { status, body } = await post(eventsUrl, payload)
    assert.is(status, 400)
    assert.match(body.message, pattern)
    assert.is((await storedRows('events', 'ev-bad')).length, 0)
  })
}

test.run()
