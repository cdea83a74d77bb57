// Playlist summaries sent by an agent over the hub: stored in
// playlist_checks, and dropped for assignments that are no longer current.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage, type Perform, type Playlist } from '@monit/protocol'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'

let server: TestController
let agent: WebSocket
let perform: Perform
const received: ControllerMessage[] = []

function send(message: unknown): void {
  agent.send(JSON.stringify(message))
}

function nextMessage(type: string, timeoutMs = 10_000): Promise<ControllerMessage> {
  return waitFor(`a ${type} message`, () => {
    const index = received.findIndex((message) => message.type === type)
    return index < 0 ? undefined : received.splice(index, 1)[0]
  }, timeoutMs, 50)
}

function playlistMessage(epoch: number, fields: Partial<Playlist> = {}): Playlist {
  return {
    type: 'playlist',
    stream_id: 'news-1',
    epoch,
    ts_ms: Date.now() - 1000,
    ok: true,
    variants_total: 2,
    variants_ok: 1,
    stale: true,
    media_sequence: 41,
    requests: 4,
    errors: 1,
    error_share: 0.25,
    max_download_ratio: 0.5,
    discontinuities: 1,
    resets: 0,
    ...fields,
  }
}

async function storedRows(): Promise<Array<Record<string, unknown>>> {
  const storage = server.controller.context.storage
  const sql = `SELECT * FROM ${storage.table('playlist_checks')} WHERE stream_id = 'news-1' ORDER BY insert_ts`
  return storage.query(sql)
}

test.before(async () => {
  server = await startTestController()
  const url = `${server.url.replace('http', 'ws')}/api/agents/v1/ws`
  agent = new WebSocket(url, { headers: { authorization: `Bearer ${server.agentToken}` } })
  agent.on('message', (data) => received.push(JSON.parse(data.toString())))
  await new Promise((done, fail) => {
    agent.once('open', done)
    agent.once('error', fail)
  })
  send({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'edge-1', name: 'edge-1', version: 'test', labels: {}, capacity: 10, streams: [] })
  await nextMessage('welcome')
  const created = await server.inject({
    method: 'POST',
    url: '/api/state/streams/v1/news-1/create',
    payload: { url: 'http://127.0.0.1:9/news-1.m3u8' },
  })
  assert.is(created.statusCode, 201, created.body)
  perform = (await nextMessage('perform')) as Perform
})

test.after(async () => {
  agent.close()
  await server.stop()
})

test('playlist summary stored', async () => {
  send(playlistMessage(perform.epoch))
  const rows = await waitFor('a playlist row', async () => {
    const found = await storedRows()
    return found.length > 0 ? found : undefined
  }, 15_000, 200)
  const row = rows[0]!
  assert.is(row.agent_id, 'edge-1')
  assert.is(Number(row.epoch), perform.epoch)
  assert.is(Number(row.ok), 1)
  assert.is(Number(row.stale), 1)
  assert.is(Number(row.variants_ok), 1)
  assert.is(Number(row.variants_total), 2)
  assert.is(Number(row.media_sequence), 41)
  assert.is(Number(row.errors), 1)
  assert.is(Number(row.requests), 4)
  assert.ok(Math.abs(Number(row.error_share) - 0.25) < 0.001)
  assert.is(Number(row.discontinuities), 1)
  assert.is(row.error, '')
})

test('summary of an old epoch is dropped', async () => {
  send(playlistMessage(perform.epoch + 100, { error: 'old epoch' }))
  send(playlistMessage(perform.epoch, { ok: false, media_sequence: null, error: 'manifest: HTTP 404' }))
  const rows = await waitFor('the failed pass row', async () => {
    const found = await storedRows()
    return found.some((row) => row.error === 'manifest: HTTP 404') ? found : undefined
  }, 15_000, 200)
  assert.not.ok(rows.some((row) => row.error === 'old epoch'))
  const failed = rows.find((row) => row.error === 'manifest: HTTP 404')!
  assert.is(failed.media_sequence, null)
})

test.run()
