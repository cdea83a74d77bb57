// What a status change carries besides its reason: the bounded, redacted
// error output of a failed probe or of a failing player page, and the
// player page reasons that degrade a stream. The monitor test runs the real
// ffprobe against a closed port on 127.0.0.1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { pino } from 'pino'
import type { PageError } from '@monit/protocol'
import { errorOutputTail, redactCredentials } from '../src/monitor/error-output.ts'
import { StreamMonitor, type StatusUpdate } from '../src/monitor/stream-monitor.ts'
import type { PageResult } from '../src/monitor/stream-checks.ts'
import { applySample, INITIAL_HYSTERESIS, pageReasons, sampleVerdict } from '../src/monitor/verdict.ts'

function page(fields: Partial<PageResult> = {}, errors: PageError[] = []): PageResult {
  return { stream_id: 'cam', epoch: 1, ts_ms: 0, ok: true, playing: true, errors, load_ms: 300, time_to_play_ms: 900, ...fields }
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test('redaction hides URL credentials', () => {
  const text = 'http://viewer:hunter2@127.0.0.1:8080/live.m3u8: Connection refused'
  assert.is(redactCredentials(text), 'http://***@127.0.0.1:8080/live.m3u8: Connection refused')
  assert.is(redactCredentials('rtmp://key@host/app'), 'rtmp://***@host/app')
})

test('redaction hides secret query values', () => {
  const text = 'GET https://cdn.example/seg.ts?token=abc123&part=2&sig=ff00 failed'
  assert.is(redactCredentials(text), 'GET https://cdn.example/seg.ts?token=***&part=2&sig=*** failed')
})

test('redaction keeps plain text', () => {
  const text = '[tcp @ 0x55] Connection to tcp://127.0.0.1:9 failed: Connection refused'
  assert.is(redactCredentials(text), text)
})

test('tail is bounded at a line start', () => {
  const lines = Array.from({ length: 200 }, (_, index) => `line ${index} of ffprobe output`)
  const tail = errorOutputTail(lines.join('\n'), 100)!
  assert.ok(tail.length <= 100, `${tail.length} characters`)
  assert.ok(tail.startsWith('line '), tail)
  assert.ok(tail.endsWith('line 199 of ffprobe output'), tail)
})

test('tail of one long line is cut', () => {
  const tail = errorOutputTail('x'.repeat(5000))!
  assert.is(tail.length, 2048)
})

test('tail of empty output is undefined', () => {
  assert.is(errorOutputTail(''), undefined)
  assert.is(errorOutputTail(' \n'), undefined)
  assert.is(errorOutputTail(undefined), undefined)
})

test('page reasons: load failure', () => {
  assert.equal(pageReasons(page({ ok: false, playing: false, load_ms: null, time_to_play_ms: null })), ['page: load failed'])
})

test('page reasons: no video', () => {
  const still = page({ ok: false, playing: false, time_to_play_ms: null }, [{ kind: 'no_video', text: 'no video playing within 8 s' }])
  assert.equal(pageReasons(still), ['page: no video'])
})

test('page reasons: script errors', () => {
  const errors: PageError[] = [
    { kind: 'console', text: 'player setup failed' },
    { kind: 'exception', text: 'player exploded' },
  ]
  assert.equal(pageReasons(page({}, errors)), ['page: script error'])
})

test('page reasons: failed request alone', () => {
  assert.equal(pageReasons(page({}, [{ kind: 'request', text: 'HTTP 404 http://127.0.0.1/missing.png' }])), [])
})

test('page verdict carries the errors', () => {
  const still = page({ ok: false, playing: false }, [{ kind: 'no_video', text: 'no video playing within 8 s' }])
  const verdict = sampleVerdict({ probe: { ok: true, bitrate: 1_000_000 }, page: still })
  assert.equal(verdict, { status: 'degraded', reason: 'page: no video', evidence: 'no_video: no video playing within 8 s' })
})

test('page and bitrate reasons combine', () => {
  const verdict = sampleVerdict({ probe: { ok: true, bitrate: 100 }, page: page({ playing: false }) }, { minBitrate: 1000 })
  assert.is(verdict.reason, 'low bitrate, page: no video')
})

test('down verdict carries the stderr', () => {
  const verdict = sampleVerdict({ probe: { ok: false, reason: 'connection refused', errorOutput: 'Connection refused' } })
  assert.equal(verdict, { status: 'down', reason: 'connection refused', evidence: 'Connection refused' })
})

test('hysteresis keeps the evidence', () => {
  const up = applySample(INITIAL_HYSTERESIS, { status: 'up', reason: 'ok' })
  const down = { status: 'down' as const, reason: 'connection refused', evidence: 'Connection refused' }
  const once = applySample(up, down)
  assert.is(once.current?.status, 'up')
  const twice = applySample(once, down)
  assert.equal(twice.current, down)
})

test('monitor sends redacted ffprobe output', async () => {
  const port = await closedPort()
  const statuses: StatusUpdate[] = []
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'cam', url: `http://viewer:hunter2@127.0.0.1:${port}/live.m3u8`, epoch: 3, probe: { interval_s: 5, sample_s: 1, timeout_s: 2 } },
    logger: pino({ level: 'silent' }),
    onMetrics: () => {},
    onStatus: (status) => statuses.push(status),
    retryDelayMs: 10,
    random: () => 0,
  })
  monitor.start()
  const deadline = Date.now() + 30_000
  while (statuses.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  await monitor.stop()
  const [status] = statuses
  assert.ok(status !== undefined, 'a status was sent')
  assert.is(status.status, 'down')
  assert.is(status.reason, 'connection refused')
  assert.match(status.error_output ?? '', `http://***@127.0.0.1:${port}/live.m3u8: Connection refused`)
  assert.not.match(status.error_output ?? '', 'hunter2')
})

test.run()
