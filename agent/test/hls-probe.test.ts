// The HLS probe that reads MPEG-TS segments in process: TR 101 290 counts,
// programme and stream lists, metrics from the PES reader, the fallback to
// ffprobe, and the H.264 SPS parser. Inputs are real ffmpeg encodes, edited
// byte by byte (ts-inputs.ts) and served over HTTP on 127.0.0.1.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseSps, splitNalUnits } from '../src/analysis/mpegts/h264.ts'
import { probeHlsSegments } from '../src/monitor/hls-probe.ts'
import { probeStream, probeWithFfprobe, type ProbeResult } from '../src/monitor/probe.ts'
import { sampleVerdict } from '../src/monitor/verdict.ts'
import { startStaticServer, type TestHttpServer } from '../../testing/http-server.ts'
import { FFMPEG, removeTempFolder } from './mpegts-helpers.ts'
import { DROPPED_PACKETS, SCTE35_PID, writeOneSegmentHls, writeTsInputs } from './ts-inputs.ts'

const settings = { interval_s: 10, sample_s: 5, timeout_s: 10 }
const dir = mkdtempSync(join(tmpdir(), 'monit-hls-probe-'))
let server: TestHttpServer

test.before(async () => {
  writeTsInputs(dir)
  server = await startStaticServer(dir)
})

test.after(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
  removeTempFolder()
})

async function probe(name: string): Promise<Extract<ProbeResult, { ok: true }>> {
  const result = await probeStream(`http://127.0.0.1:${server.port}/${name}.m3u8`, settings)
  if (!result.ok) throw new Error(`probe of ${name} failed: ${result.reason}`)
  return result
}

test('continuity errors counted and degrade', async () => {
  const result = await probe('cc-errors')
  const ts = result.ts!
  assert.ok(ts, 'the probe read the TS itself')
  assert.is(ts.continuity_count_error, DROPPED_PACKETS)
  assert.is(ts.sync_loss, 0)
  assert.is(ts.pat_error, 0)
  assert.is(ts.pmt_error, 0)
  assert.is(ts.pid_error, 0)
  assert.is(ts.pcr, true)

  const verdict = sampleVerdict({ probe: { ok: true, bitrate: result.metrics.bitrate, continuityErrors: ts.continuity_count_error } })
  assert.is(verdict.status, 'degraded')
  assert.is(verdict.reason, 'continuity errors')
})

test('programmes, empty ones and SCTE-35 listed', async () => {
  const result = await probe('programs')
  const ts = result.ts!
  assert.is(ts.continuity_count_error, 0)
  const summary = ts.programs.map((program) => ({
    number: program.program_number,
    pcr: program.pcr_pid,
    streams: program.streams.map((stream) => `${stream.pid}:${stream.kind}:${stream.codec}`),
  }))
  assert.equal(summary, [
    { number: 1, pcr: 0x100, streams: ['256:video:h264', '257:audio:aac', `${SCTE35_PID}:scte35:scte_35`] },
    { number: 2, pcr: 0x102, streams: ['258:audio:aac'] },
    { number: 3, pcr: null, streams: [] },
    { number: 4, pcr: null, streams: [] },
  ])
  // SCTE-35 is listed but stays out of the codecs and of the health checks.
  assert.is(result.metrics.codecs, 'h264,aac')
  assert.is(ts.pid_error, 0)
  assert.is(result.metrics.width, 160)
  assert.is(result.metrics.height, 90)
})

test('PMT that adds video later is followed', async () => {
  const result = await probe('late-video')
  const ts = result.ts!
  assert.equal(
    ts.programs.map((program) => program.streams.map((stream) => stream.kind)),
    [['video', 'audio']],
  )
  assert.is(ts.continuity_count_error, 0)
  assert.is(result.metrics.codecs, 'h264,aac')
  assert.is(result.metrics.width, 160)
  assert.is(result.metrics.height, 90)
  assert.ok(result.metrics.frames > 0, `frames ${result.metrics.frames}`)
  assert.is(result.metrics.keyframe_interval, 25)
})

test('metrics match ffprobe on a clean input', async () => {
  const ours = await probe('programs')
  const url = `http://127.0.0.1:${server.port}/programs.m3u8`
  const theirs = await probeWithFfprobe(url, settings)
  if (!theirs.ok) throw new Error(`ffprobe failed: ${theirs.reason}`)
  const m = ours.metrics
  const f = theirs.metrics
  assert.is(m.frames, f.frames)
  assert.is(m.fps, f.fps)
  assert.is(m.width, f.width)
  assert.is(m.height, f.height)
  assert.is(m.keyframe_interval, f.keyframe_interval)
  assert.is(m.codecs, f.codecs)
  assert.ok(Math.abs(m.seconds - f.seconds) <= 0.05, `seconds ${m.seconds} against ${f.seconds}`)
  // ffprobe splits a PES of several AAC frames into one packet per frame, so
  // the windows end on slightly different audio bytes.
  assert.ok(Math.abs(m.bitrate - f.bitrate) <= f.bitrate * 0.05, `bitrate ${m.bitrate} against ${f.bitrate}`)
  assert.ok(Math.abs(ours.windowStart! - theirs.windowStart!) < 0.001, `window start ${ours.windowStart} against ${theirs.windowStart}`)
})

test('non-TS segments fall back to ffprobe', async () => {
  writeFileSync(join(dir, 'not-ts.ts'), Buffer.from('this is not a transport stream'))
  writeFileSync(join(dir, 'not-ts.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nnot-ts.ts\n#EXT-X-ENDLIST\n')
  const outcome = await probeHlsSegments(`http://127.0.0.1:${server.port}/not-ts.m3u8`, settings)
  assert.is(outcome.handled, false)
  if (!outcome.handled) assert.is(outcome.reason, 'segments are not MPEG-TS')

  const missing = await probeHlsSegments(`http://127.0.0.1:${server.port}/missing.m3u8`, settings)
  assert.is(missing.handled, false)
})

test('HEVC video falls back to ffprobe', async () => {
  const hevc = join(dir, 'hevc-source.ts')
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '6', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-f', 'mpegts', hevc], { timeout: 60_000 })
  writeOneSegmentHls(dir, 'hevc', readFileSync(hevc), true)
  const outcome = await probeHlsSegments(`http://127.0.0.1:${server.port}/hevc.m3u8`, settings)
  assert.is(outcome.handled, false)
  const result = await probeStream(`http://127.0.0.1:${server.port}/hevc.m3u8`, settings)
  assert.ok(result.ok)
  if (result.ok) {
    assert.is(result.metrics.codecs, 'hevc')
    assert.is(result.ts, undefined)
  }
})

test('SPS sizes with and without cropping', () => {
  for (const [width, height] of [
    [1280, 720],
    [1920, 1080],
    [160, 90],
    [854, 480],
  ] as const) {
    const file = join(dir, `sps-${width}x${height}.h264`)
    execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=25`, '-frames:v', '1', '-c:v', 'libx264', '-preset', 'medium', '-profile:v', 'high', '-f', 'h264', file], { timeout: 60_000 })
    const sps = splitNalUnits(readFileSync(file)).find((nal) => nal.type === 7)
    assert.ok(sps, `an SPS in the ${width}x${height} stream`)
    const parsed = parseSps(sps!.data)
    assert.is(parsed.width, width)
    assert.is(parsed.height, height)
    assert.is(parsed.profileIdc, 100)
  }
})

test.run()
