// The page message of player page checks, the page settings of perform and
// page screenshots.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeAgentMessage, decodeControllerMessage, encodeMessage, screenshotFrames, type Page } from '../src/index.ts'

const meta = { stream_id: 'news-1', epoch: 4, ts_ms: 1_700_000_000_000 }

const page: Page = {
  type: 'page',
  ...meta,
  ok: false,
  playing: false,
  errors: [
    { kind: 'request', text: 'HTTP 404 http://127.0.0.1:8000/player.js' },
    { kind: 'no_video', text: 'no video playing within 20 s' },
  ],
  load_ms: 412,
  time_to_play_ms: null,
}

test('page message round trip', () => {
  const decoded = decodeAgentMessage(encodeMessage(page))
  assert.ok(decoded.ok)
  assert.equal(decoded.message, page)
})

test('page error kind is checked', () => {
  const bad = { ...page, errors: [{ kind: 'warning', text: 'x' }] }
  const decoded = decodeAgentMessage(JSON.stringify(bad))
  assert.not.ok(decoded.ok)
})

test('perform page settings are optional', () => {
  const probe = { interval_s: 10, sample_s: 5, timeout_s: 5 }
  const base = { type: 'perform', stream_id: 'news-1', url: 'http://127.0.0.1/live.m3u8', epoch: 1 }
  const plain = decodeControllerMessage(JSON.stringify({ ...base, probe }))
  assert.ok(plain.ok)
  const page = { page_url: 'http://127.0.0.1:8000/player.html', page_interval_s: 30 }
  const withPage = decodeControllerMessage(JSON.stringify({ ...base, probe: { ...probe, ...page } }))
  assert.ok(withPage.ok)
  const ftp = decodeControllerMessage(JSON.stringify({ ...base, probe: { ...probe, page_url: 'ftp://x/' } }))
  assert.not.ok(ftp.ok)
})

test('page screenshot frames carry source', () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9])
  const [frame] = screenshotFrames({ ...meta, source: 'page' }, jpeg)
  assert.is(frame?.source, 'page')
  const decoded = decodeAgentMessage(encodeMessage(frame!))
  assert.ok(decoded.ok)
  const [streamFrame] = screenshotFrames(meta, jpeg)
  assert.ok(streamFrame !== undefined)
  assert.not.ok('source' in streamFrame, 'a stream frame leaves source out')
})

test.run()
