// The picture and sound check and the screenshot grab with real ffmpeg on
// test media served over HTTP on 127.0.0.1 (see testing/av-sources.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { AvPeriod } from '@monit/protocol'
import { avCheckArgs, runAvCheck } from '../src/media/av-check.ts'
import { grabScreenshot } from '../src/media/screenshot.ts'
import { activeChildren } from '../src/media/runner.ts'
import { jpegSize } from '../../controller/src/screenshots/jpeg.ts'
import { FAULTS, startAvSources, TONE, type AvSources } from '../../testing/av-sources.ts'
import { processesMatching, startNotFoundServer, startSilentTcpServer, stopAllTestStreams } from '../../testing/streams.ts'

const TOLERANCE_S = 0.5

let sources: AvSources

test.before(async () => {
  sources = await startAvSources()
})

test.after(async () => {
  await sources.stop()
  await stopAllTestStreams()
})

function near(actual: number | undefined | null, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== undefined && actual !== null, `${what} missing`)
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} ± ${tolerance}`)
}

function findPeriod(periods: AvPeriod[], start: number): AvPeriod | undefined {
  return periods.find((period) => Math.abs(period.start_s - start) <= TOLERANCE_S)
}

test('args: sample, whitelist, timeouts', () => {
  const args = avCheckArgs('http://127.0.0.1:9/live.m3u8', { sample_s: 7, timeout_s: 3 })
  const input = args.indexOf('-i')
  assert.ok(args.indexOf('-t') < input)
  assert.is(args[args.indexOf('-t') + 1], '7')
  assert.is(args[args.indexOf('-protocol_whitelist') + 1], 'http,https,tcp,tls,crypto')
  assert.is(args[args.indexOf('-rw_timeout') + 1], '3000000')
  assert.equal(args.slice(-3), ['-f', 'null', '-'])
})

test('faults file: periods and durations', async () => {
  const result = await runAvCheck(sources.faultsUrl, { sample_s: FAULTS.durationS })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (!result.ok) return
  const { report } = result
  assert.ok(report.video)
  assert.ok(report.audio)
  near(report.decoded_s, FAULTS.durationS, TOLERANCE_S, 'decoded_s')

  assert.is(report.black.length, 1, JSON.stringify(report.black))
  near(report.black[0]?.start_s, FAULTS.black.start, TOLERANCE_S, 'black start')
  near(report.black[0]?.duration_s, FAULTS.black.end - FAULTS.black.start, TOLERANCE_S, 'black duration')

  // The black picture is also a still picture, so freezedetect reports it too.
  const freeze = findPeriod(report.freeze, FAULTS.freeze.start)
  near(freeze?.duration_s, FAULTS.freeze.end - FAULTS.freeze.start, TOLERANCE_S, 'freeze duration')
  assert.is(freeze?.open, false)

  assert.is(report.silence.length, 1, JSON.stringify(report.silence))
  near(report.silence[0]?.start_s, FAULTS.silence.start, TOLERANCE_S, 'silence start')
  near(report.silence[0]?.duration_s, FAULTS.silence.end - FAULTS.silence.start, TOLERANCE_S, 'silence duration')
})

test('tone file: integrated loudness within 1 LU', async () => {
  const result = await runAvCheck(sources.toneUrl, { sample_s: TONE.durationS })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (!result.ok) return
  const { loudness } = result.report
  near(loudness?.integrated_lufs, TONE.lufs, 1, 'integrated loudness')
  // A sine at -23 LUFS peaks at -20 dBFS; AAC adds a little.
  near(loudness?.true_peak_dbtp, -20, 1.5, 'true peak')
  near(loudness?.lra_lu, 0, 1, 'loudness range')
  assert.equal(result.report.black, [])
  assert.equal(result.report.freeze, [])
  assert.equal(result.report.silence, [])
})

test('short sample: black period open', async () => {
  const result = await runAvCheck(sources.faultsUrl, { sample_s: 8 })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (!result.ok) return
  near(result.report.decoded_s, 8, TOLERANCE_S, 'decoded_s')
  assert.is(result.report.black[0]?.open, true, JSON.stringify(result.report.black))
})

test('av check: missing source is 404', async () => {
  const missing = await startNotFoundServer()
  const result = await runAvCheck(missing.playlistUrl, { sample_s: 5, timeout_s: 3 })
  assert.not.ok(result.ok)
  if (!result.ok) assert.is(result.reason, 'not found (HTTP 404)')
})

test('av check: silent server times out', async () => {
  const silent = await startSilentTcpServer()
  const result = await runAvCheck(silent.url(), { sample_s: 2, timeout_s: 2 })
  assert.not.ok(result.ok)
  if (!result.ok) assert.match(result.reason, /^timeout/)
})

test('av check: unsupported URL rejected', async () => {
  const result = await runAvCheck('file:///etc/passwd', { sample_s: 2 })
  assert.not.ok(result.ok)
  if (!result.ok) assert.match(result.reason, /unsupported URL scheme "file"/)
})

test('screenshot: JPEG scaled to width', async () => {
  const result = await grabScreenshot(sources.faultsUrl, { width: 160 })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (!result.ok) return
  assert.is(result.jpeg[0], 0xff)
  assert.is(result.jpeg[1], 0xd8)
  assert.equal(jpegSize(result.jpeg), { width: 160, height: 90 })
})

test('screenshot: never scaled up', async () => {
  const result = await grabScreenshot(sources.toneUrl, { width: 640 })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (result.ok) assert.equal(jpegSize(result.jpeg), { width: 320, height: 180 })
})

test('screenshot: audio-only source fails', async () => {
  const result = await grabScreenshot(sources.audioOnlyUrl)
  assert.not.ok(result.ok)
  if (!result.ok) assert.is(result.reason, 'no video stream')
})

test('av check: audio-only source', async () => {
  const result = await runAvCheck(sources.audioOnlyUrl, { sample_s: 4 })
  assert.ok(result.ok, result.ok ? '' : result.reason)
  if (!result.ok) return
  assert.not.ok(result.report.video)
  assert.ok(result.report.audio)
  assert.ok(result.report.loudness !== null)
})

test('screenshot: missing source is 404', async () => {
  const missing = await startNotFoundServer()
  const result = await grabScreenshot(missing.playlistUrl, { timeout_s: 3 })
  assert.not.ok(result.ok)
  if (!result.ok) assert.is(result.reason, 'not found (HTTP 404)')
})

test('screenshot: silent server times out', async () => {
  const silent = await startSilentTcpServer()
  const result = await grabScreenshot(silent.url(), { timeout_s: 2 })
  assert.not.ok(result.ok)
  if (!result.ok) assert.match(result.reason, /^timeout/)
})

test('aborted check kills ffmpeg', async () => {
  const silent = await startSilentTcpServer()
  const abort = new AbortController()
  const running = runAvCheck(silent.url(), { sample_s: 5, timeout_s: 30 }, { signal: abort.signal })
  setTimeout(() => abort.abort(), 300)
  const result = await running
  assert.not.ok(result.ok)
  if (!result.ok) assert.is(result.reason, 'aborted')
  assert.is(activeChildren(), 0)
})

test('no ffmpeg left behind', () => {
  assert.is(activeChildren(), 0)
  assert.equal(processesMatching('ffmpeg', sources.server.url), [])
})

test.run()
