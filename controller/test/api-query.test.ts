// The /api/query routes against a fixed data set inserted straight into
// chDB. The range is one hour starting on a whole hour two days ago, split
// into 10-minute buckets, and every expected value below is counted by hand
// from the rows in fixtures(). Rows at the edges test the range bounds:
// `from` is included, `to` is excluded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'
import { toStorageError, type TableName } from '../src/storage/index.ts'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
/** Start of the range: a whole hour two days ago, inside the tables' TTL. */
const FROM_MS = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 48 * HOUR_MS
const TO_MS = FROM_MS + HOUR_MS
const at = (offsetMs: number) => FROM_MS + offsetMs
const iso = (offsetMs: number) => new Date(at(offsetMs)).toISOString()
const RANGE = `from=${FROM_MS / 1000}&to=${new Date(TO_MS).toISOString()}`

let server: TestController

type FixtureTable = Extract<TableName, 'heatmap' | 'metrics' | 'statuses' | 'events'>

type Viewer = { platform: string; os: string; browser: string; app: string; country: string; region: string }
const VIEWERS: Record<string, Viewer> = {
  u1: { platform: 'web', os: 'Linux', browser: 'Firefox', app: 'player-a', country: 'FR', region: 'IDF' },
  u2: { platform: 'web', os: 'Windows', browser: 'Chrome', app: 'player-a', country: 'FR', region: 'PACA' },
  u3: { platform: 'ios', os: 'iOS', browser: 'Safari', app: 'player-b', country: 'DE', region: 'BE' },
  u4: { platform: 'web', os: 'macOS', browser: 'Safari', app: 'player-a', country: 'US', region: 'CA' },
  u5: { platform: 'web', os: 'macOS', browser: 'Safari', app: 'player-a', country: 'US', region: 'NY' },
  u6: { platform: 'web', os: 'Linux', browser: 'Chrome', app: 'player-a', country: 'FR', region: 'IDF' },
  u7: { platform: 'android', os: 'Android', browser: 'Chrome', app: 'player-b', country: '', region: '' },
}

function beacon(streamId: string, uniqId: string, offsetMs: number, change: Partial<Viewer> = {}) {
  const viewer = { ...VIEWERS[uniqId]!, ...change }
  return { stream_id: streamId, uniq_id: uniqId, version: '1.0', host: 'cdn.example', user_agent: 'test', ...viewer, insert_ts: at(offsetMs) }
}

function metric(streamId: string, offsetMs: number, bitrate: number, fps: number, extra: Record<string, unknown> = {}) {
  return {
    stream_id: streamId,
    agent_id: 'edge-1',
    epoch: 1,
    bitrate,
    frames: fps * 5,
    width: 1280,
    height: 720,
    fps,
    bytes: bitrate * 5 / 8,
    seconds: 5,
    keyframe_interval: 50,
    codecs: 'h264/aac',
    probe_duration_ms: 5100,
    insert_ts: at(offsetMs),
    ...extra,
  }
}

/** TR 101 290 counts and programmes as an agent that read the MPEG-TS itself sends them. */
const TS_ANALYSIS = {
  ts_sync_loss: 0,
  ts_pat_error: 1,
  ts_pmt_error: 0,
  ts_cc_error: 3,
  ts_pid_error: 0,
  ts_pcr: 1,
  ts_programs: JSON.stringify([{ program_number: 1, pmt_pid: 4096, pcr_pid: 256, streams: [{ pid: 256, stream_type: 27, kind: 'video', codec: 'h264' }] }]),
}

function status(streamId: string, offsetMs: number, value: string, reason = '') {
  return { stream_id: streamId, agent_id: 'edge-1', epoch: 2, status: value, reason, insert_ts: at(offsetMs) }
}

function event(streamId: string, uniqId: string, offsetMs: number, type: string, code = '', value = 0) {
  return { ...beacon(streamId, uniqId, offsetMs), event: type, code, value }
}

/**
 * Builds the data set. Buckets are 10 minutes wide: b0 starts at FROM, b1
 * at FROM + 10 min, and so on up to b5.
 */
function fixtures(): Record<FixtureTable, Record<string, unknown>[]> {
  return {
    heatmap: [
      beacon('tv-1', 'u1', 0), // exactly at from: counted, b0
      beacon('tv-1', 'u1', 30_000, { browser: 'Chrome' }), // same viewer, b0, second browser
      beacon('tv-1', 'u2', 10 * MINUTE_MS - 1), // last ms of b0
      beacon('tv-1', 'u2', 10 * MINUTE_MS), // first ms of b1
      beacon('tv-1', 'u3', 10 * MINUTE_MS + 1), // b1
      beacon('tv-1', 'u4', -1), // before from: not counted
      beacon('tv-1', 'u5', HOUR_MS), // exactly at to: not counted
      beacon('tv-1', 'u6', HOUR_MS - 1), // last ms of the range, b5
      beacon('tv-2', 'u1', 20 * MINUTE_MS), // b2
      beacon('tv-2', 'u7', 20 * MINUTE_MS + 500), // b2
    ],
    metrics: [
      metric('tv-1', 0, 1_000_000, 25), // b0
      metric('tv-1', 5 * MINUTE_MS, 3_000_000, 25, TS_ANALYSIS), // b0
      metric('tv-1', 15 * MINUTE_MS, 2_500_000, 30), // b1
      metric('tv-1', -1000, 9_000_000, 50), // before from
      metric('tv-1', HOUR_MS, 9_000_000, 50), // at to
    ],
    statuses: [
      status('tv-1', -10 * MINUTE_MS, 'up'), // in force at from
      status('tv-1', 15 * MINUTE_MS, 'down', 'no data for 10 s'),
      status('tv-1', 25 * MINUTE_MS, 'up'),
      status('tv-1', 50 * MINUTE_MS, 'degraded', 'low fps'),
      status('tv-1', HOUR_MS + 6 * MINUTE_MS, 'down', 'after the range'),
      status('tv-2', 30 * MINUTE_MS, 'up'), // nothing before: the first half hour is unknown
      status('tv-3', -100_000, 'down'), // replaced by the row at from
      status('tv-3', 0, 'up'),
    ],
    events: [
      event('tv-1', 'u1', 1000, 'play'), // b0
      event('tv-1', 'u1', 2000, 'rebuffer_start'), // b0
      event('tv-1', 'u1', 3000, 'rebuffer_end'), // b0
      event('tv-1', 'u2', 11 * MINUTE_MS, 'play'), // b1
      event('tv-1', 'u2', 11 * MINUTE_MS + 500, 'error', 'E_NETWORK'), // b1
      event('tv-1', 'u3', 11 * MINUTE_MS + 600, 'play'), // b1
      event('tv-1', 'u4', -5, 'play'), // before from
    ],
  }
}

async function get(url: string, role: Role = Role.viewer) {
  const response = await server.inject({ method: 'GET', url }, role)
  return { status: response.statusCode, body: response.json() }
}

test.before(async () => {
  server = await startTestController()
  const { storage } = server.controller.context
  for (const [table, rows] of Object.entries(fixtures()) as Array<[FixtureTable, Record<string, unknown>[]]>) {
    await storage.insert(table, rows, `api-query-test-${table}`)
  }
})

test.after(async () => {
  await server.stop()
})

test('unique counts distinct viewers in range', async () => {
  const { status, body } = await get(`/api/query/unique/v1?stream_id=tv-1,tv-2,tv-9&${RANGE}&interval=600`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.from, iso(0))
  assert.is(body.to, iso(HOUR_MS))
  assert.is(body.interval, 600)
  assert.equal(body.stream_ids, ['tv-1', 'tv-2', 'tv-9'])
  assert.equal(body.streams, [
    { stream_id: 'tv-1', unique_viewers: 4 },
    { stream_id: 'tv-2', unique_viewers: 2 },
    { stream_id: 'tv-9', unique_viewers: 0 },
  ])
})

test('unique buckets include edge rows', async () => {
  const { body } = await get(`/api/query/unique/v1?stream_id=tv-1&stream_id=tv-2&${RANGE}&interval=600`)
  assert.equal(body.buckets, [
    { stream_id: 'tv-1', ts: iso(0), viewers: 2 },
    { stream_id: 'tv-1', ts: iso(10 * MINUTE_MS), viewers: 2 },
    { stream_id: 'tv-1', ts: iso(50 * MINUTE_MS), viewers: 1 },
    { stream_id: 'tv-2', ts: iso(20 * MINUTE_MS), viewers: 2 },
  ])
})

test('unique buckets align to the epoch', async () => {
  const stepMs = 1_500_000
  const { body } = await get(`/api/query/unique/v1?stream_id=tv-1&${RANGE}&interval=1500`)
  const starts: number[] = body.buckets.map((bucket: { ts: string }) => Date.parse(bucket.ts))
  for (const start of starts) assert.is(start % stepMs, 0, `bucket start ${new Date(start).toISOString()}`)
  // The first bucket starts before `from` unless `from` is a multiple of 25 minutes.
  assert.is(starts[0], FROM_MS - (FROM_MS % stepMs))
})

test('concurrent returns buckets and peaks', async () => {
  const { status, body } = await get(`/api/query/concurrent/v1?stream_id=tv-1,tv-2,tv-9&${RANGE}&interval=600`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.buckets.length, 4)
  assert.equal(body.streams, [
    { stream_id: 'tv-1', peak_viewers: 2, peak_ts: iso(0) },
    { stream_id: 'tv-2', peak_viewers: 2, peak_ts: iso(20 * MINUTE_MS) },
    { stream_id: 'tv-9', peak_viewers: 0, peak_ts: null },
  ])
})

test('platform counts viewers per value', async () => {
  const { status, body } = await get(`/api/query/platform/v1?stream_id=tv-1&${RANGE}`)
  assert.is(status, 200, JSON.stringify(body))
  const [tv1] = body.streams
  assert.is(tv1.stream_id, 'tv-1')
  assert.equal(tv1.platform, [{ value: 'web', viewers: 3 }, { value: 'ios', viewers: 1 }])
  assert.equal(tv1.os, [{ value: 'Linux', viewers: 2 }, { value: 'Windows', viewers: 1 }, { value: 'iOS', viewers: 1 }])
  assert.equal(tv1.browser, [
    { value: 'Chrome', viewers: 3 },
    { value: 'Firefox', viewers: 1 },
    { value: 'Safari', viewers: 1 },
  ])
  assert.equal(tv1.app, [{ value: 'player-a', viewers: 3 }, { value: 'player-b', viewers: 1 }])
})

test('platform limits values per column', async () => {
  const { body } = await get(`/api/query/platform/v1?stream_id=tv-1&${RANGE}&limit=1`)
  const [tv1] = body.streams
  assert.equal(tv1.browser, [{ value: 'Chrome', viewers: 3 }])
  assert.equal(tv1.os, [{ value: 'Linux', viewers: 2 }])
})

test('geo counts countries and regions', async () => {
  const { status, body } = await get(`/api/query/geo/v1?stream_id=tv-1,tv-2&${RANGE}`)
  assert.is(status, 200, JSON.stringify(body))
  assert.equal(body.streams[0], {
    stream_id: 'tv-1',
    countries: [
      { country: 'FR', viewers: 3, regions: [{ region: 'IDF', viewers: 2 }, { region: 'PACA', viewers: 1 }] },
      { country: 'DE', viewers: 1, regions: [{ region: 'BE', viewers: 1 }] },
    ],
  })
  assert.equal(body.streams[1], {
    stream_id: 'tv-2',
    countries: [
      { country: '', viewers: 1, regions: [{ region: '', viewers: 1 }] },
      { country: 'FR', viewers: 1, regions: [{ region: 'IDF', viewers: 1 }] },
    ],
  })
})

test('metrics returns raw rows in range', async () => {
  const { status, body } = await get(`/api/query/metrics/v1?stream_id=tv-1&${RANGE}`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.interval, null)
  assert.is(body.truncated, false)
  assert.equal(body.rows.map((row: { ts: string }) => row.ts), [iso(0), iso(5 * MINUTE_MS), iso(15 * MINUTE_MS)])
  assert.equal(body.rows.map((row: { bitrate: number }) => row.bitrate), [1_000_000, 3_000_000, 2_500_000])
  assert.is(body.rows[0].stream_id, 'tv-1')
  assert.is(body.rows[0].bytes, 625_000)
  assert.is(body.buckets, undefined)
})

test('metrics rows carry the MPEG-TS analysis', async () => {
  const { body } = await get(`/api/query/metrics/v1?stream_id=tv-1&${RANGE}`)
  const [plain, analysed] = body.rows
  assert.equal(
    [plain.ts_sync_loss, plain.ts_cc_error, plain.ts_pcr, plain.ts_programs],
    [null, null, null, null],
    'a row without TS analysis',
  )
  assert.equal(
    [analysed.ts_sync_loss, analysed.ts_pat_error, analysed.ts_pmt_error, analysed.ts_cc_error, analysed.ts_pid_error, analysed.ts_pcr],
    [0, 1, 0, 3, 0, 1],
  )
  assert.equal(analysed.ts_programs, JSON.parse(TS_ANALYSIS.ts_programs))
})

test('metrics limit marks truncation', async () => {
  const { body } = await get(`/api/query/metrics/v1?stream_id=tv-1&${RANGE}&limit=2`)
  assert.is(body.rows.length, 2)
  assert.is(body.truncated, true)
})

test('metrics interval averages per bucket', async () => {
  const { status, body } = await get(`/api/query/metrics/v1?stream_id=tv-1&${RANGE}&interval=600`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.interval, 600)
  assert.is(body.rows, undefined)
  assert.is(body.buckets.length, 2)
  const [first, second] = body.buckets
  assert.is(first.ts, iso(0))
  assert.is(first.samples, 2)
  assert.is(first.bitrate, 2_000_000)
  assert.is(first.bitrate_min, 1_000_000)
  assert.is(first.bitrate_max, 3_000_000)
  assert.is(first.fps, 25)
  assert.is(second.ts, iso(10 * MINUTE_MS))
  assert.is(second.samples, 1)
  assert.is(second.fps, 30)
})

test('summary combines viewers, bitrate and uptime', async () => {
  const { status, body } = await get(`/api/query/summary/v1?stream_id=tv-1,tv-2,tv-3,tv-9&${RANGE}&interval=600`)
  assert.is(status, 200, JSON.stringify(body))
  const [tv1, tv2, tv3, tv9] = body.streams
  assert.is(tv1.stream_id, 'tv-1')
  assert.is(tv1.unique_viewers, 4)
  assert.is(tv1.peak_concurrent, 2)
  assert.is(tv1.peak_ts, iso(0))
  assert.ok(Math.abs(tv1.avg_bitrate - 6_500_000 / 3) < 1e-6, `avg_bitrate ${tv1.avg_bitrate}`)
  assert.is(tv1.probes, 3)
  // up from FROM to +15 min and from +25 to +50 min: 2400 s of 3600 s.
  assert.is(tv1.up_seconds, 2400)
  assert.is(tv1.known_seconds, 3600)
  assert.ok(Math.abs(tv1.uptime_share - 2 / 3) < 1e-9, `uptime_share ${tv1.uptime_share}`)
  assert.equal(tv1.last_status, { status: 'degraded', reason: 'low fps', ts: iso(50 * MINUTE_MS) })
})

test('summary uptime without a prior status', async () => {
  const { body } = await get(`/api/query/summary/v1?stream_id=tv-2,tv-3,tv-9&${RANGE}`)
  const [tv2, tv3, tv9] = body.streams
  // tv-2's first row is at +30 min, so only the second half hour is known.
  assert.is(tv2.known_seconds, 1800)
  assert.is(tv2.up_seconds, 1800)
  assert.is(tv2.uptime_share, 1)
  assert.is(tv2.avg_bitrate, null)
  assert.is(tv2.unique_viewers, 2)
  // tv-3's row exactly at from replaces the one before it.
  assert.is(tv3.known_seconds, 3600)
  assert.is(tv3.uptime_share, 1)
  assert.equal(tv3.last_status, { status: 'up', reason: '', ts: iso(0) })
  assert.equal(tv9, {
    stream_id: 'tv-9',
    unique_viewers: 0,
    peak_concurrent: 0,
    peak_ts: null,
    avg_bitrate: null,
    probes: 0,
    uptime_share: null,
    up_seconds: 0,
    known_seconds: 0,
    last_status: null,
  })
})

test('summary default interval fits the range', async () => {
  const { body } = await get(`/api/query/summary/v1?stream_id=tv-1&${RANGE}`)
  // One hour in at most 1000 buckets: 3.6 s rounds up to 5 s.
  assert.is(body.interval, 5)
})

test('events counts types per bucket', async () => {
  const { status, body } = await get(`/api/query/events/v1?stream_id=tv-1&${RANGE}&interval=600`)
  assert.is(status, 200, JSON.stringify(body))
  assert.equal(body.buckets, [
    { stream_id: 'tv-1', ts: iso(0), type: 'play', events: 1, viewers: 1 },
    { stream_id: 'tv-1', ts: iso(0), type: 'rebuffer_end', events: 1, viewers: 1 },
    { stream_id: 'tv-1', ts: iso(0), type: 'rebuffer_start', events: 1, viewers: 1 },
    { stream_id: 'tv-1', ts: iso(10 * MINUTE_MS), type: 'error', events: 1, viewers: 1 },
    { stream_id: 'tv-1', ts: iso(10 * MINUTE_MS), type: 'play', events: 2, viewers: 2 },
  ])
})

test('events filters by type', async () => {
  const { body } = await get(`/api/query/events/v1?stream_id=tv-1&${RANGE}&interval=600&type=play,error`)
  assert.equal(body.buckets.map((bucket: { type: string; events: number }) => [bucket.type, bucket.events]), [
    ['play', 1],
    ['error', 1],
    ['play', 2],
  ])
})

test('events raw returns limited rows', async () => {
  const { status, body } = await get(`/api/query/events/v1?stream_id=tv-1&${RANGE}&raw=true&limit=4`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.interval, null)
  assert.is(body.truncated, true)
  assert.equal(body.rows.map((row: { type: string }) => row.type), ['play', 'rebuffer_start', 'rebuffer_end', 'play'])
  const error = (await get(`/api/query/events/v1?stream_id=tv-1&${RANGE}&raw=true&type=error`)).body.rows
  assert.is(error.length, 1)
  assert.is(error[0].code, 'E_NETWORK')
  assert.is(error[0].unique_id, 'u2')
  assert.is(error[0].ts, iso(11 * MINUTE_MS + 500))
  assert.is(error[0].country, 'FR')
})

test('statuses lists changes in range', async () => {
  const { status, body } = await get(`/api/query/statuses/v1?stream_id=tv-1,tv-3&${RANGE}`)
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.truncated, false)
  assert.equal(
    body.rows.map((row: { stream_id: string; ts: string; status: string }) => [row.stream_id, row.ts, row.status]),
    [
      ['tv-3', iso(0), 'up'],
      ['tv-1', iso(15 * MINUTE_MS), 'down'],
      ['tv-1', iso(25 * MINUTE_MS), 'up'],
      ['tv-1', iso(50 * MINUTE_MS), 'degraded'],
    ],
  )
  assert.is(body.rows[1].reason, 'no data for 10 s')
  assert.is(body.rows[1].epoch, 2)
  assert.is(body.rows[1].agent_id, 'edge-1')
})

const invalidQueries: Array<[string, string, RegExp]> = [
  ['missing stream_id', `/api/query/unique/v1?${RANGE}`, /querystring\/stream_id: missing/],
  ['bad id in a list', `/api/query/unique/v1?stream_id=tv-1,bad%20id&${RANGE}`, /querystring\/stream_id\/1/],
  ['empty id in a list', `/api/query/unique/v1?stream_id=tv-1,,tv-2&${RANGE}`, /querystring\/stream_id\/1/],
  ['interval of zero', `/api/query/concurrent/v1?stream_id=tv-1&${RANGE}&interval=0`, /querystring\/interval/],
  ['interval of text', `/api/query/concurrent/v1?stream_id=tv-1&${RANGE}&interval=ten`, /querystring\/interval/],
  ['too many buckets', `/api/query/unique/v1?stream_id=tv-1&from=0&to=86400&interval=1`, /querystring\/interval: .*86400 buckets/],
  ['bad from', '/api/query/summary/v1?stream_id=tv-1&from=yesterday', /querystring\/from/],
  ['unknown event type', `/api/query/events/v1?stream_id=tv-1&${RANGE}&type=play,jump`, /querystring\/type\/1/],
  ['interval on geo', `/api/query/geo/v1?stream_id=tv-1&${RANGE}&interval=60`, /querystring\/interval: unknown field/],
  ['limit too high', `/api/query/statuses/v1?stream_id=tv-1&${RANGE}&limit=100001`, /querystring\/limit/],
]

for (const [name, url, pattern] of invalidQueries) {
  test(`query rejects ${name} with 400`, async () => {
    const { status, body } = await get(url)
    assert.is(status, 400, JSON.stringify(body))
    assert.is(body.code === 'MONIT_ERR_INVALID_FIELD' || body.code === 'FST_ERR_VALIDATION', true, body.code)
    assert.match(body.message, pattern)
  })
}

test('query rejects over 100 streams', async () => {
  const ids = Array.from({ length: 101 }, (_, index) => `s-${index}`).join(',')
  const { status, body } = await get(`/api/query/unique/v1?stream_id=${ids}&${RANGE}`)
  assert.is(status, 400)
  assert.match(body.message, /querystring\/stream_id/)
})

test('query repeats collapse to one id', async () => {
  const { body } = await get(`/api/query/unique/v1?stream_id=tv-1&stream_id=tv-1,tv-1&${RANGE}`)
  assert.equal(body.stream_ids, ['tv-1'])
  assert.equal(body.streams, [{ stream_id: 'tv-1', unique_viewers: 4 }])
})

test('query routes need a token', async () => {
  const paths = ['metrics', 'unique', 'concurrent', 'platform', 'geo', 'summary', 'events', 'statuses']
  for (const path of paths) {
    const url = `/api/query/${path}/v1?stream_id=tv-1`
    const anonymous = await server.controller.app.inject({ method: 'GET', url })
    assert.is(anonymous.statusCode, 401, url)
    const viewer = await get(url, Role.viewer)
    assert.is(viewer.status, 200, `${url}: ${JSON.stringify(viewer.body)}`)
  }
})

test('query returns 503 without ClickHouse', async () => {
  const { storage } = server.controller.context
  const query = storage.query
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })
  storage.query = () => Promise.reject(toStorageError(refused, 'server', 'query'))
  try {
    const { status, body } = await get(`/api/query/summary/v1?stream_id=tv-1&${RANGE}`)
    assert.is(status, 503)
    assert.is(body.code, 'MONIT_ERR_STORAGE_UNAVAILABLE')
    assert.match(body.message, /ECONNREFUSED/)
  } finally {
    storage.query = query
  }
})

test('query keeps 400 with its error handler', async () => {
  const { status, body } = await get(`/api/query/summary/v1?stream_id=tv-1&from=yesterday`)
  assert.is(status, 400)
  assert.is(body.code, 'MONIT_ERR_INVALID_FIELD')
})

test.run()
