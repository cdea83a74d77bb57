// Probes of real live test streams (ffmpeg on 127.0.0.1): HLS, RTMP, UDP and
// SRT, each 1280x720, 25 fps, H.264 at 2 Mbit/s with a 50-frame GOP, plus
// 48 kbit/s AAC. Sequential: the machine is small.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { activeChildren } from '../src/media/runner.ts'
import { probeStream, type ProbeResult } from '../src/monitor/probe.ts'
import {
  processesMatching,
  startHlsStream,
  startRtmpStream,
  startSrtStream,
  startUdpStream,
  stopAllTestStreams,
  type TestStream,
} from '../../testing/streams.ts'

const settings = { interval_s: 10, sample_s: 5, timeout_s: 10 }
/** Strings found only in the command lines of this file's ffmpeg processes. */
const markers: string[] = []

test.after(async () => {
  await stopAllTestStreams()
})

function checkMetrics(name: string, result: ProbeResult): void {
  if (!result.ok) assert.unreachable(`${name}: probe failed: ${result.reason}\n${result.stderr}`)
  if (!result.ok) return
  const m = result.metrics
  console.log(`${name}: ${JSON.stringify(m)}`)
  assert.ok(Math.abs(m.bitrate - 2_000_000) <= 300_000, `${name}: bitrate ${m.bitrate} not within 15% of 2 Mbit/s`)
  assert.ok(Math.abs(m.fps - 25) <= 1, `${name}: fps ${m.fps}`)
  assert.is(m.width, 1280)
  assert.is(m.height, 720)
  assert.is(m.keyframe_interval, 50, `${name}: keyframe interval ${m.keyframe_interval}`)
  assert.ok(Math.abs(m.seconds - settings.sample_s) <= 0.5, `${name}: window ${m.seconds} s`)
  assert.ok(m.frames >= 115 && m.frames <= 135, `${name}: frames ${m.frames}`)
  assert.is(m.codecs, 'h264,aac')
  assert.ok(m.probe_duration_ms > 0)
}

async function probeAndStop(name: string, stream: TestStream): Promise<ProbeResult> {
  markers.push(stream.url)
  try {
    const result = await probeStream(stream.url, settings)
    checkMetrics(name, result)
    assert.is(activeChildren(), 0)
    return result
  } finally {
    await stream.stop()
  }
}

test('HLS: live playlist over HTTP', async () => {
  const stream = await startHlsStream()
  markers.push(stream.dir)
  const result = await probeAndStop('hls', stream)
  // HLS is read as fast as the segments download, not in real time.
  if (result.ok) assert.ok(result.durationMs < 4000, `hls probe took ${result.durationMs} ms`)
})

test('RTMP: ffmpeg as the server, probed twice across its restart', async () => {
  const stream = await startRtmpStream()
  markers.push(stream.url)
  try {
    checkMetrics('rtmp', await probeStream(stream.url, settings))
    await stream.ready()
    checkMetrics('rtmp (after restart)', await probeStream(stream.url, settings))
    assert.ok(stream.starts >= 2)
  } finally {
    await stream.stop()
  }
})

test('UDP: MPEG-TS datagrams, the probe listening', async () => {
  await probeAndStop('udp', await startUdpStream())
})

test('SRT: ffmpeg as listener, the probe as caller', async () => {
  await probeAndStop('srt', await startSrtStream())
})

test('no ffmpeg or ffprobe left behind', async () => {
  await stopAllTestStreams()
  assert.is(activeChildren(), 0)
  assert.ok(markers.length >= 5)
  for (const marker of markers) assert.equal(processesMatching('ffmpeg', marker), [], marker)
})

test.run()
