// Probes of live UDP and SRT MPEG-TS that the agent reads itself: metrics
// and TR 101 290 counts from real ffmpeg senders on 127.0.0.1, continuity
// errors in datagrams sent by the test, and the failure reasons.
import { createSocket } from 'node:dgram'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { activeChildren } from '../src/media/runner.ts'
import { probeStream, type ProbeResult } from '../src/monitor/probe.ts'
import { freePort, startSrtStream, startUdpStream, stopAllTestStreams } from '../../testing/streams.ts'
import { PACKET_SIZE, removeTempFolder } from './mpegts-helpers.ts'
import { ccErrorsTs, DROPPED_PACKETS } from './ts-inputs.ts'

const settings = { interval_s: 10, sample_s: 5, timeout_s: 10 }

test.after(async () => {
  await stopAllTestStreams()
  removeTempFolder()
})

function okResult(name: string, result: ProbeResult): Extract<ProbeResult, { ok: true }> {
  if (!result.ok) throw new Error(`${name}: probe failed: ${result.reason}\n${result.stderr}`)
  return result
}

function checkTestStream(name: string, result: Extract<ProbeResult, { ok: true }>): void {
  const m = result.metrics
  assert.ok(Math.abs(m.bitrate - 2_000_000) <= 300_000, `${name}: bitrate ${m.bitrate}`)
  assert.ok(Math.abs(m.fps - 25) <= 1, `${name}: fps ${m.fps}`)
  assert.is(m.width, 1280)
  assert.is(m.height, 720)
  assert.is(m.keyframe_interval, 50, `${name}: keyframe interval`)
  assert.is(m.codecs, 'h264,aac')
  const ts = result.ts
  assert.ok(ts, `${name}: the agent read the TS itself`)
  assert.is(ts!.sync_loss, 0)
  assert.is(ts!.continuity_count_error, 0)
  assert.is(ts!.pcr, true)
  assert.equal(ts!.programs.map((program) => program.streams.map((stream) => stream.codec)), [['h264', 'aac']])
}

test('UDP stream read with dgram', async () => {
  const stream = await startUdpStream()
  try {
    const result = okResult('udp', await probeStream(stream.url, settings))
    checkTestStream('udp', result)
    assert.is(activeChildren(), 0)
  } finally {
    await stream.stop()
  }
})

test('SRT stream copied through ffmpeg', async () => {
  const stream = await startSrtStream()
  try {
    const result = okResult('srt', await probeStream(stream.url, settings))
    checkTestStream('srt', result)
    assert.is(activeChildren(), 0)
  } finally {
    await stream.stop()
  }
})

test('UDP continuity errors counted', async () => {
  const data = ccErrorsTs()
  const port = await freePort('udp')
  const sender = createSocket('udp4')
  const datagram = 7 * PACKET_SIZE
  const datagrams = Math.ceil(data.length / datagram)
  // Sent over 4 s, well inside the 5.5 s the probe reads, even when timers run late.
  const everyMs = 4000 / datagrams
  let sent = 0
  // The probe binds first, and the sender starts 300 ms later.
  const probing = probeStream(`udp://127.0.0.1:${port}`, { ...settings, sample_s: 5 })
  await new Promise((done) => setTimeout(done, 300))
  const timer = setInterval(() => {
    if (sent >= datagrams) return
    sender.send(data.subarray(sent * datagram, (sent + 1) * datagram), port, '127.0.0.1')
    sent += 1
  }, everyMs)
  try {
    const result = okResult('udp with gaps', await probing)
    assert.is(result.ts?.continuity_count_error, DROPPED_PACKETS)
    assert.is(result.metrics.width, 160)
  } finally {
    clearInterval(timer)
    sender.close()
  }
})

test('UDP without a sender times out', async () => {
  const port = await freePort('udp')
  const result = await probeStream(`udp://127.0.0.1:${port}`, { ...settings, timeout_s: 2 })
  assert.is(result.ok, false)
  if (!result.ok) assert.is(result.reason, 'timeout: no data within 2 s')
})

test.run()
