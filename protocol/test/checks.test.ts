// The av and screenshot messages, the optional check settings of perform,
// and splitting a screenshot into frames.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeAgentMessage,
  decodeControllerMessage,
  encodeMessage,
  MAX_FRAME_BYTES,
  MAX_SCREENSHOT_BYTES,
  SCREENSHOT_CHUNK_CHARS,
  screenshotFrames,
  type Av,
} from '../src/index.ts'

const meta = { stream_id: 'news-1', epoch: 4, ts_ms: 1_700_000_000_000 }

const av: Av = {
  type: 'av',
  ...meta,
  sample_s: 10,
  decoded_s: 10.04,
  video: true,
  audio: true,
  black: [{ start_s: 5.021, end_s: 10.061, duration_s: 5.04, open: false }],
  freeze: [],
  silence: [{ start_s: 8, end_s: 10.04, duration_s: 2.04, open: true }],
  loudness: { integrated_lufs: -23.1, true_peak_dbtp: null, lra_lu: 3.1 },
}

const perform = {
  type: 'perform',
  stream_id: 'news-1',
  url: 'http://127.0.0.1:8090/live/index.m3u8',
  epoch: 4,
  probe: { interval_s: 10, sample_s: 5, timeout_s: 10 },
}

function randomBytes(length: number): Buffer {
  const data = Buffer.alloc(length)
  for (let i = 0; i < length; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff
  return data
}

test('perform without the check settings is valid', () => {
  assert.ok(decodeControllerMessage(JSON.stringify(perform)).ok)
})

test('perform with the check settings is valid', () => {
  const probe = { ...perform.probe, av_interval_s: 60, av_sample_s: 10, screenshot_interval_s: 0 }
  assert.ok(decodeControllerMessage(JSON.stringify({ ...perform, probe })).ok)
})

test('perform rejects a negative screenshot interval', () => {
  const probe = { ...perform.probe, screenshot_interval_s: -1 }
  const result = decodeControllerMessage(JSON.stringify({ ...perform, probe }))
  assert.not.ok(result.ok)
  if (!result.ok) assert.match(result.message, /screenshot_interval_s/)
})

test('av message valid with and without error', () => {
  assert.ok(decodeAgentMessage(encodeMessage(av)).ok)
  const failed: Av = { ...av, decoded_s: 0, black: [], silence: [], loudness: null, error: 'not found (HTTP 404)' }
  assert.ok(decodeAgentMessage(encodeMessage(failed)).ok)
})

test('av message rejects a negative period start', () => {
  const bad = { ...av, black: [{ start_s: -1, end_s: 1, duration_s: 2, open: false }] }
  const result = decodeAgentMessage(JSON.stringify(bad))
  assert.not.ok(result.ok)
  if (!result.ok) assert.match(result.message, /black/)
})

test('screenshotFrames: one frame for a small image', () => {
  const jpeg = randomBytes(50_000)
  const frames = screenshotFrames(meta, jpeg)
  assert.is(frames.length, 1)
  assert.is(frames[0]!.count, 1)
  assert.is(frames[0]!.content_type, 'image/jpeg')
  assert.ok(Buffer.from(frames[0]!.data, 'base64').equals(jpeg))
})

test('screenshotFrames: parts join to the image', () => {
  const jpeg = randomBytes(700_001)
  const frames = screenshotFrames(meta, jpeg)
  assert.is(frames.length, Math.ceil(700_001 / ((SCREENSHOT_CHUNK_CHARS / 4) * 3)))
  assert.ok(frames.every((frame) => frame.data.length <= SCREENSHOT_CHUNK_CHARS))
  assert.ok(frames.every((frame) => frame.id === frames[0]!.id && frame.count === frames.length))
  assert.equal(frames.map((frame) => frame.index), [...frames.keys()])
  const joined = Buffer.concat(frames.map((frame) => Buffer.from(frame.data, 'base64')))
  assert.ok(joined.equals(jpeg))
})

test('screenshotFrames: largest image passes the decoder', () => {
  const frames = screenshotFrames(meta, randomBytes(MAX_SCREENSHOT_BYTES))
  for (const frame of frames) {
    const text = encodeMessage(frame)
    assert.ok(Buffer.byteLength(text) < MAX_FRAME_BYTES)
    const decoded = decodeAgentMessage(text)
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.message)
  }
})

test('screenshotFrames: smaller chunks on request', () => {
  const frames = screenshotFrames(meta, randomBytes(100), 40)
  assert.is(frames.length, 4)
  assert.ok(frames.every((frame) => frame.data.length <= 40))
})

test('screenshotFrames: rejects empty and oversized images', () => {
  assert.throws(() => screenshotFrames(meta, Buffer.alloc(0)), /empty/)
  assert.throws(() => screenshotFrames(meta, Buffer.alloc(MAX_SCREENSHOT_BYTES + 1)), /exceeds/)
})

test('screenshot frame rejects a count over 32', () => {
  const [frame] = screenshotFrames(meta, randomBytes(10))
  const result = decodeAgentMessage(JSON.stringify({ ...frame, count: 33 }))
  assert.not.ok(result.ok)
})

test.run()
