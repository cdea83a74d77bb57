// Per-stream check settings (av, screenshot, player page, bitrate floor):
// stored through the REST API, validated, sent in perform messages to a
// connected agent (a WebSocket client that speaks the protocol), changed on a
// running stream without a new epoch, and kept by the repository on SQLite
// and MariaDB (MONIT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knexFactory from 'knex'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage, type Perform } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { openRepository } from '../src/repository/index.ts'

const base = '/api/state/streams/v1'
const SETTINGS = {
  av_interval_s: 30,
  av_sample_s: 8,
  screenshot_interval_s: 15,
  page_url: 'http://127.0.0.1:9/player.html',
  page_interval_s: 45,
  min_bitrate: 500_000,
}

let server: TestController
let agent: WebSocket
const received: ControllerMessage[] = []

async function call(method: 'GET' | 'POST', url: string, payload?: unknown) {
  const response = await server.inject({ method, url, payload: payload as object })
  return { status: response.statusCode, body: response.json() }
}

function nextPerform(streamId: string): Promise<Perform> {
  return waitFor(`a perform of ${streamId}`, () => {
    const index = received.findIndex((message) => message.type === 'perform' && message.stream_id === streamId)
    return index < 0 ? undefined : (received.splice(index, 1)[0] as Perform)
  }, 10_000, 50)
}

test.before(async () => {
  server = await startTestController()
  agent = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, { headers: { authorization: `Bearer ${server.agentToken}` } })
  agent.on('message', (data) => received.push(JSON.parse(data.toString()) as ControllerMessage))
  await new Promise((done, fail) => {
    agent.once('open', done)
    agent.once('error', fail)
  })
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'edge-1', name: 'edge-1', version: 'test', labels: {}, capacity: 10, streams: [] }
  agent.send(JSON.stringify(hello))
  await waitFor('the welcome', () => received.find((message) => message.type === 'welcome'), 10_000, 50)
})

test.after(async () => {
  agent?.close()
  await server?.stop()
})

test('create stores the check settings', async () => {
  const { status, body } = await call('POST', `${base}/cam-1/create`, { url: 'http://127.0.0.1:9/live.m3u8', probe: SETTINGS })
  assert.is(status, 201, JSON.stringify(body))
  assert.equal(body.probe, { interval_s: 10, sample_s: 5, timeout_s: 10, ...SETTINGS })
  const shown = await call('GET', `${base}/cam-1`)
  assert.equal(shown.body.probe, body.probe)
})

test('perform carries the check settings', async () => {
  const perform = await nextPerform('cam-1')
  assert.equal(perform.probe, { interval_s: 10, sample_s: 5, timeout_s: 10, ...SETTINGS })
})

test('update resends perform with the same epoch', async () => {
  const before = (await call('GET', `${base}/cam-1`)).body.epoch as number
  const { status, body } = await call('POST', `${base}/cam-1/update`, { probe: { min_bitrate: 2_000_000, page_interval_s: 0 } })
  assert.is(status, 200, JSON.stringify(body))
  assert.is(body.probe.min_bitrate, 2_000_000)
  assert.is(body.probe.page_interval_s, 0)
  assert.is(body.probe.av_interval_s, SETTINGS.av_interval_s)
  const perform = await nextPerform('cam-1')
  assert.is(perform.epoch, before)
  assert.is(perform.probe.min_bitrate, 2_000_000)
  assert.is(perform.probe.page_interval_s, 0)
})

test('null clears a setting', async () => {
  const { status, body } = await call('POST', `${base}/cam-1/update`, { probe: { page_url: null, min_bitrate: null } })
  assert.is(status, 200, JSON.stringify(body))
  assert.not.ok('page_url' in body.probe)
  assert.not.ok('min_bitrate' in body.probe)
  const perform = await nextPerform('cam-1')
  assert.not.ok('page_url' in perform.probe)
  assert.not.ok('min_bitrate' in perform.probe)
  assert.is(perform.probe.screenshot_interval_s, SETTINGS.screenshot_interval_s)
})

test('stream without settings leaves them out', async () => {
  const { body } = await call('POST', `${base}/cam-2/create`, { url: 'http://127.0.0.1:9/other.m3u8' })
  assert.equal(body.probe, { interval_s: 10, sample_s: 5, timeout_s: 10 })
  const perform = await nextPerform('cam-2')
  assert.equal(perform.probe, { interval_s: 10, sample_s: 5, timeout_s: 10 })
})

const invalidSettings: Array<[string, unknown, RegExp]> = [
  ['page_url with ftp', { page_url: 'ftp://127.0.0.1/player.html' }, /body\/probe\/page_url: scheme "ftp" is not allowed/],
  ['page_url not a URL', { page_url: 'player.html' }, /body\/probe\/page_url: .*not a valid URL/],
  ['page_url as a number', { page_url: 5 }, /body\/probe\/page_url/],
  ['page_url in upper case', { page_url: 'HTTP://127.0.0.1/player.html' }, /body\/probe\/page_url: the URL must start with http:\/\//],
  ['negative av interval', { av_interval_s: -1 }, /body\/probe\/av_interval_s/],
  ['av interval over a day', { av_interval_s: 86_401 }, /body\/probe\/av_interval_s/],
  ['av sample of 0', { av_sample_s: 0 }, /body\/probe\/av_sample_s/],
  ['av sample too long', { av_interval_s: 10, av_sample_s: 10 }, /body\/probe\/av_sample_s: .*shorter than their interval/],
  ['fractional screenshot interval', { screenshot_interval_s: 1.5 }, /body\/probe\/screenshot_interval_s must be integer/],
  ['page interval as text', { page_interval_s: '60' }, /body\/probe\/page_interval_s/],
  ['min_bitrate of 0', { min_bitrate: 0 }, /body\/probe\/min_bitrate/],
  ['unknown probe field', { max_bitrate: 5 }, /max_bitrate/],
]

for (const [name, probe, pattern] of invalidSettings) {
  test(`create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${base}/bad-1/create`, { url: 'http://127.0.0.1:9/x.m3u8', probe })
    assert.is(status, 400)
    assert.match(body.message, pattern)
  })
}

test('update checks av sample against the stored interval', async () => {
  const { status, body } = await call('POST', `${base}/cam-1/update`, { probe: { av_sample_s: 30 } })
  assert.is(status, 400)
  assert.match(body.message, /body\/probe\/av_sample_s/)
  const { status: stored } = await call('POST', `${base}/cam-1/update`, { probe: { av_interval_s: 0, av_sample_s: 30 } })
  assert.is(stored, 200)
})

/** Creates, changes and clears the settings through a repository at url. */
async function roundTrip(url: string): Promise<void> {
  const repository = await openRepository(url, pino({ level: 'silent' }))
  try {
    const created = await repository.createStream({ id: 's1', url: 'udp://127.0.0.1:5000', probe: SETTINGS })
    assert.equal(created.probe, { interval_s: 10, sample_s: 5, timeout_s: 10, ...SETTINGS })
    const big = await repository.updateStream('s1', { probe: { min_bitrate: 40_000_000_000, av_interval_s: 0 } })
    assert.is(big.probe.min_bitrate, 40_000_000_000)
    assert.is(big.probe.av_interval_s, 0)
    const cleared = await repository.updateStream('s1', { probe: { page_url: null, av_sample_s: null } })
    assert.not.ok('page_url' in cleared.probe)
    assert.not.ok('av_sample_s' in cleared.probe)
    assert.is((await repository.listStreams())[0]!.probe.screenshot_interval_s, SETTINGS.screenshot_interval_s)
  } finally {
    await repository.close()
  }
}

test('repository keeps settings on SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'monit-settings-'))
  try {
    await roundTrip(`sqlite:${join(dir, 'settings.db')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('repository keeps settings on MariaDB', async () => {
  const server = new URL(process.env.MONIT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const database = `monit_test_${randomBytes(6).toString('hex')}`
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) },
    pool: { min: 0, max: 1 },
  })
  try {
    const url = new URL(server.href)
    url.pathname = `/${database}`
    await roundTrip(url.href)
  } finally {
    await admin.raw('drop database if exists ??', [database]).catch(() => undefined)
    await admin.destroy()
  }
})

test.run()
