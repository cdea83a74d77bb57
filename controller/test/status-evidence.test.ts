// Status evidence and page check results that an agent (a WebSocket client
// that speaks the protocol) sends to a real test controller. Status rows keep
// their error output and name the stored screenshot closest to them. Page
// results land in page_checks. A statuses table made before the error_output
// column gets it at the next start, on chDB and on Debian's
// clickhouse-server 18.16 when it is installed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, screenshotFrames, type ControllerMessage, type Page, type Perform, type Status } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { findClickHouseServer, startClickHouseServer } from '../../testing/clickhouse-server.ts'
import { Role } from '../src/auth/roles.ts'
import { openStorage, type Storage } from '../src/storage/index.ts'
import { closestTime } from '../src/screenshots/evidence.ts'

let server: TestController
let agent: WebSocket
let perform: Perform
const received: ControllerMessage[] = []
const logger = pino({ level: 'silent' })

/** Builds the smallest JPEG header of the given size: SOI, SOF0 and EOI. */
function jpeg(width: number, height: number): Buffer {
  const sof = Buffer.alloc(19)
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08])
  sof.writeUInt16BE(height, 5)
  sof.writeUInt16BE(width, 7)
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])])
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

async function get(url: string) {
  return server.inject({ method: 'GET', url }, Role.viewer)
}

function status(fields: Partial<Status>): Status {
  return { type: 'status', stream_id: 'cam-1', epoch: perform.epoch, status: 'down', reason: 'connection refused', ts_ms: Date.now(), ...fields }
}

function pageMessage(fields: Partial<Page>): Page {
  return {
    type: 'page',
    stream_id: 'cam-1',
    epoch: perform.epoch,
    ts_ms: Date.now(),
    ok: false,
    playing: false,
    errors: [{ kind: 'no_video', text: 'no video playing within 20 s' }],
    load_ms: 250,
    time_to_play_ms: null,
    ...fields,
  }
}

interface StatusRow {
  ts: string
  status: string
  reason: string
  error_output: string
  screenshot: { ts: string; ts_ms: number; url: string } | null
}

async function statusRow(reason: string): Promise<StatusRow> {
  return waitFor(`the status row "${reason}"`, async () => {
    const rows = (await get('/api/query/statuses/v1?stream_id=cam-1')).json().rows as StatusRow[]
    return rows.find((row) => row.reason === reason)
  }, 15_000, 200)
}

test.before(async () => {
  server = await startTestController()
  agent = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, { headers: { authorization: `Bearer ${server.agentToken}` } })
  agent.on('message', (data) => received.push(JSON.parse(data.toString()) as ControllerMessage))
  await new Promise((done, fail) => {
    agent.once('open', done)
    agent.once('error', fail)
  })
  send({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'edge-1', name: 'edge-1', version: 'test', labels: {}, capacity: 10, streams: [] })
  await nextMessage('welcome')
  const created = await server.inject({ method: 'POST', url: '/api/state/streams/v1/cam-1/create', payload: { url: 'http://127.0.0.1:9/cam-1.m3u8' } })
  assert.is(created.statusCode, 201, created.body)
  perform = (await nextMessage('perform')) as Perform
})

test.after(async () => {
  agent?.close()
  await server?.stop()
})

test('closest time picks the nearest', () => {
  assert.is(closestTime([5000, 3000, 1000], 2900), 3000)
  assert.is(closestTime([5000, 3000, 1000], 4000), 3000, 'the earlier one on a tie')
  assert.is(closestTime([1000], 1000 + 5 * 60_000 + 1), undefined, 'none within 5 minutes')
  assert.is(closestTime([], 1000), undefined)
})

test('status keeps error output and screenshot', async () => {
  const grabbedAt = Date.now() - 4000
  for (const frame of screenshotFrames({ stream_id: 'cam-1', epoch: perform.epoch, ts_ms: grabbedAt }, jpeg(64, 36))) send(frame)
  for (const frame of screenshotFrames({ stream_id: 'cam-1', epoch: perform.epoch, ts_ms: grabbedAt - 60_000 }, jpeg(64, 36))) send(frame)
  await waitFor('both screenshots stored', async () => {
    const list = (await get('/api/state/streams/v1/cam-1/screenshots')).json().screenshots as unknown[]
    return list.length === 2 || undefined
  }, 15_000, 200)

  const output = '[tcp @ 0x5563] Connection to tcp://127.0.0.1:9 failed: Connection refused\nhttp://127.0.0.1:9/cam-1.m3u8: Connection refused'
  const changedAt = Date.now() - 1000
  send(status({ ts_ms: changedAt, error_output: output }))
  const row = await statusRow('connection refused')
  assert.is(row.status, 'down')
  assert.is(row.error_output, output)
  assert.equal(row.screenshot, {
    ts: new Date(grabbedAt).toISOString(),
    ts_ms: grabbedAt,
    url: `/api/state/streams/v1/cam-1/screenshots/${grabbedAt}`,
  })
  const image = await get(row.screenshot!.url)
  assert.is(image.statusCode, 200)

  const stream = (await get('/api/state/streams/v1/cam-1')).json()
  assert.is(stream.status, 'down')
  assert.equal(stream.status_screenshot, row.screenshot)
})

test('status far from screenshots has none', async () => {
  send(status({ status: 'up', reason: 'ok', ts_ms: Date.now() - 20 * 60_000 }))
  const row = await statusRow('ok')
  assert.is(row.error_output, '')
  assert.is(row.screenshot, null)
  const list = (await get('/api/state/streams/v1')).json().streams as Array<Record<string, unknown>>
  assert.not.ok('status_screenshot' in list[0]!, 'the list reads no screenshot folders')
})

test('live feed status carries the evidence', async () => {
  const token = await server.tokenFor(Role.viewer)
  const live = new WebSocket(`${server.url.replace('http', 'ws')}/api/live/v1/ws`, { headers: { authorization: `Bearer ${token}` } })
  const messages: Array<Record<string, unknown>> = []
  live.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>))
  try {
    await waitFor('the live hello', () => messages.find((message) => message.type === 'hello'), 10_000, 50)
    const screenshots = (await get('/api/state/streams/v1/cam-1/screenshots')).json().screenshots as Array<{ ts_ms: number; url: string }>
    const newest = screenshots[0]!
    send(status({ status: 'degraded', reason: 'page: no video', ts_ms: newest.ts_ms + 500, error_output: 'no_video: no video playing within 20 s' }))
    const message = await waitFor('the live status', () => messages.find((entry) => entry.type === 'status' && entry.reason === 'page: no video'), 10_000, 50)
    assert.is(message.error_output, 'no_video: no video playing within 20 s')
    assert.is(message.screenshot_url, newest.url)
  } finally {
    live.close()
  }
})

test('oversized error output is rejected', async () => {
  send(status({ reason: 'too much output', error_output: 'x'.repeat(2049) }))
  const error = (await nextMessage('error')) as Extract<ControllerMessage, { type: 'error' }>
  assert.is(error.code, 'invalid_message')
  assert.match(error.message, /error_output/)
})

test('page results stored and queried', async () => {
  const checkedAt = Date.now() - 2000
  send(pageMessage({ ts_ms: checkedAt }))
  send(pageMessage({ ts_ms: checkedAt + 1, ok: true, playing: true, errors: [{ kind: 'console', text: 'player setup failed' }], time_to_play_ms: 1200 }))
  const rows = await waitFor('two page_checks rows', async () => {
    const found = (await get('/api/query/page-checks/v1?stream_id=cam-1')).json().rows as Array<Record<string, any>>
    return found.length >= 2 ? found : undefined
  }, 15_000, 200)
  assert.equal(rows[0], {
    stream_id: 'cam-1',
    ts: new Date(checkedAt).toISOString(),
    agent_id: 'edge-1',
    epoch: perform.epoch,
    ok: false,
    playing: false,
    load_ms: 250,
    time_to_play_ms: null,
    errors: [{ kind: 'no_video', text: 'no video playing within 20 s' }],
  })
  assert.is(rows[1]!.ok, true)
  assert.is(rows[1]!.time_to_play_ms, 1200)
  assert.equal(rows[1]!.errors, [{ kind: 'console', text: 'player setup failed' }])
})

test('page result of an old epoch is dropped', async () => {
  send(pageMessage({ epoch: perform.epoch + 100, load_ms: 7 }))
  send(pageMessage({ load_ms: 8 }))
  const rows = await waitFor('the current row', async () => {
    const found = (await get('/api/query/page-checks/v1?stream_id=cam-1')).json().rows as Array<{ load_ms: number | null }>
    return found.some((row) => row.load_ms === 8) ? found : undefined
  }, 15_000, 200)
  assert.not.ok(rows.some((row) => row.load_ms === 7))
})

test('page-checks query takes a limit', async () => {
  const body = (await get('/api/query/page-checks/v1?stream_id=cam-1&limit=1')).json()
  assert.is(body.rows.length, 1)
  assert.is(body.truncated, true)
})

/** Makes the statuses table as builds before error_output did, then opens the storage over it. */
async function upgradeOldTable(open: () => Promise<Storage>): Promise<void> {
  const first = await open()
  try {
    await first.command('CREATE DATABASE IF NOT EXISTS monit_old')
    await first.command(
      `CREATE TABLE monit_old.statuses (stream_id String, agent_id String, epoch UInt64, status String, reason String,
       insert_date Date DEFAULT toDate(insert_ts), insert_ts DateTime DEFAULT now())
       ENGINE = MergeTree PARTITION BY toYYYYMM(insert_date) ORDER BY (stream_id, insert_ts)`,
    )
  } finally {
    await first.close()
  }
  const storage = await open()
  try {
    await storage.init()
    const columns = await storage.query<{ name: string }>("SELECT name FROM system.columns WHERE database = 'monit_old' AND table = 'statuses'")
    assert.ok(columns.some((column) => column.name === 'error_output'), JSON.stringify(columns))
    const row = { stream_id: 'cam-1', agent_id: 'edge-1', epoch: 1, status: 'down', reason: 'refused', error_output: 'Connection refused', insert_ts: Date.now() }
    await storage.insert('statuses', [row], 'upgrade-test-1')
    const stored = await storage.query<{ error_output: string }>("SELECT error_output FROM monit_old.statuses WHERE stream_id = 'cam-1'")
    assert.equal(stored, [{ error_output: 'Connection refused' }])
  } finally {
    await storage.close()
  }
}

test('old statuses table gains error_output on chDB', async () => {
  // chDB opens one data folder per process, so this uses the test controller's.
  await upgradeOldTable(() => openStorage({ dataDir: server.dataDir, database: 'monit_old', logger }))
})

const clickhouseServer = findClickHouseServer()
if (clickhouseServer === undefined) {
  console.log('SKIP status-evidence: clickhouse-server is not installed; the upgrade test on it did not run')
} else {
  test('old statuses table gains error_output on clickhouse-server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'monit-evidence-server-'))
    const clickhouse = await startClickHouseServer({ bin: clickhouseServer })
    try {
      await upgradeOldTable(() => openStorage({ url: clickhouse.url, dataDir, database: 'monit_old', logger }))
    } finally {
      await clickhouse.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
}

test.run()
