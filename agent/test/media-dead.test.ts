// Dead sources end at their timeout with a clear reason and leave no process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { activeChildren } from '../src/media/runner.ts'
import { probeDeadlineMs } from '../src/media/ffprobe.ts'
import { probeStream } from '../src/monitor/probe.ts'
import { freePort, processesMatching, startNotFoundServer, startSilentTcpServer, stopAllTestStreams } from '../../testing/streams.ts'

const settings = { interval_s: 10, sample_s: 2, timeout_s: 3 }

test.after(async () => {
  await stopAllTestStreams()
})

async function expectDown(url: string, reason: RegExp, minMs: number, maxMs: number, probeSettings = settings): Promise<void> {
  const started = Date.now()
  const result = await probeStream(url, probeSettings)
  const elapsed = Date.now() - started
  assert.is(result.ok, false, `${url} should be down`)
  if (result.ok) return
  console.log(`${url}: "${result.reason}" after ${elapsed} ms`)
  assert.match(result.reason, reason)
  assert.ok(elapsed >= minMs && elapsed <= maxMs, `${url}: ended after ${elapsed} ms, expected ${minMs}..${maxMs}`)
  assert.is(activeChildren(), 0)
  assert.equal(processesMatching('ffprobe', url), [], 'no ffprobe left')
}

test('HTTP source that accepts TCP and never answers: timeout', async () => {
  const silent = await startSilentTcpServer()
  await expectDown(silent.url('http'), /^timeout: no data within 3 s$/, 2800, 5000)
  assert.ok(silent.accepted >= 1)
  await silent.stop()
})

test('RTMP source that accepts TCP and never answers: timeout', async () => {
  const silent = await startSilentTcpServer()
  await expectDown(silent.url('rtmp'), /^timeout: no data within 3 s$/, 2800, 5000)
  await silent.stop()
})

test('404 playlist: not found', async () => {
  const server = await startNotFoundServer()
  await expectDown(server.playlistUrl, /^not found \(HTTP 404\)$/, 0, 3000)
  assert.ok(server.requests.includes('/live/index.m3u8'))
  await server.stop()
})

test('closed port: connection refused', async () => {
  const port = await freePort()
  await expectDown(`http://127.0.0.1:${port}/live/index.m3u8`, /^connection refused$/, 0, 3000)
  await expectDown(`rtmp://127.0.0.1:${port}/live/stream`, /^connection refused$/, 0, 3000)
})

test('UDP with no sender: timeout', async () => {
  const port = await freePort('udp')
  await expectDown(`udp://127.0.0.1:${port}`, /^timeout: no data within 3 s$/, 2800, 6000)
})

test('SRT with no listener: connection failed at the timeout', async () => {
  const port = await freePort('udp')
  await expectDown(`srt://127.0.0.1:${port}`, /^connection failed: no SRT listener answered within 3 s$/, 2800, 6000)
})

test('RTP with no sender (timeouts ignored by the demuxer): killed at the deadline', async () => {
  const port = await freePort('udp')
  const quick = { interval_s: 10, sample_s: 1, timeout_s: 1 }
  const deadline = probeDeadlineMs(quick)
  await expectDown(`rtp://127.0.0.1:${port}`, /^timeout: no complete sample, probe killed after \d+ s$/, deadline - 100, deadline + 2000, quick)
})

test.run()
