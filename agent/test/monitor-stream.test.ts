import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import type { MetricsRow } from '@monit/protocol'
import { activeChildren } from '../src/media/runner.ts'
import type { ProbeFn, ProbeResult } from '../src/monitor/probe.ts'
import { StreamMonitor, type StatusUpdate } from '../src/monitor/stream-monitor.ts'
import type { StreamMetrics } from '../src/monitor/metrics.ts'
import { processesMatching, startHlsStream, startRtmpStream, stopAllTestStreams } from '../../testing/streams.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const metrics: StreamMetrics = {
  bitrate: 2_000_000,
  frames: 125,
  fps: 25,
  width: 1280,
  height: 720,
  bytes: 1_250_000,
  seconds: 5,
  keyframe_interval: 50,
  codecs: 'h264,aac',
  probe_duration_ms: 12,
}
const ok = (): ProbeResult => ({ ok: true, metrics, packets: 360, durationMs: 12 })
const fail = (reason: string, retryable = true): ProbeResult => ({ ok: false, reason, retryable, durationMs: 5, stderr: '' })

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

interface Harness {
  monitor: StreamMonitor
  rows: MetricsRow[]
  statuses: StatusUpdate[]
  calls: number[]
  lines: Array<Record<string, unknown>>
}

/** A monitor whose probe returns results from a script (one entry per call, last repeats). */
function harness(script: Array<ProbeResult | (() => Promise<ProbeResult>)>, interval_s = 0.2, options: { random?: () => number } = {}): Harness {
  const rows: MetricsRow[] = []
  const statuses: StatusUpdate[] = []
  const calls: number[] = []
  const { logger, lines } = memoryLogger()
  const started = Date.now()
  const probe: ProbeFn = async () => {
    calls.push(Date.now() - started)
    const step = script[Math.min(calls.length - 1, script.length - 1)]!
    return typeof step === 'function' ? step() : step
  }
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'cam-1', url: 'http://127.0.0.1:1/x.m3u8', epoch: 7, probe: { interval_s, sample_s: 1, timeout_s: 1 } },
    logger,
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    probe,
    retryDelayMs: 20,
    random: options.random ?? (() => 0),
  })
  return { monitor, rows, statuses, calls, lines }
}

test('emits a metrics row per successful probe and one up status', async () => {
  const h = harness([ok()])
  h.monitor.start()
  await sleep(700)
  await h.monitor.stop()
  assert.ok(h.rows.length >= 3, `rows ${h.rows.length}`)
  const row = h.rows[0]!
  assert.equal(
    { ...row, ts_ms: 0 },
    { stream_id: 'cam-1', epoch: 7, ts_ms: 0, bitrate: 2_000_000, frames: 125, width: 1280, height: 720, fps: 25, bytes: 1_250_000, seconds: 5, keyframe_interval: 50, codecs: 'h264,aac', probe_duration_ms: 12 },
  )
  assert.ok(Math.abs(row.ts_ms - Date.now()) < 5000)
  assert.is(h.statuses.length, 1)
  assert.equal({ ...h.statuses[0]!, ts_ms: 0 }, { stream_id: 'cam-1', epoch: 7, status: 'up', reason: 'ok', ts_ms: 0 })
})

test('first probe at a random offset inside the interval, then every interval', async () => {
  const h = harness([ok()], 0.4, { random: () => 0.5 })
  h.monitor.start()
  await sleep(1100)
  await h.monitor.stop()
  const first = h.calls[0]!
  const gap = h.calls[1]! - first
  assert.ok(first >= 190, `first call at ${first} ms`)
  assert.ok(first < 300, `first call at ${first} ms`)
  assert.ok(gap >= 380, `second after ${gap} ms`)
  assert.ok(gap < 500, `second after ${gap} ms`)
})

test('a failed probe is retried once quickly; a good retry keeps it up', async () => {
  const h = harness([ok(), fail('connection refused'), ok()], 0.3)
  h.monitor.start()
  await sleep(450)
  await h.monitor.stop()
  assert.ok(h.calls.length >= 3)
  assert.ok(h.calls[2]! - h.calls[1]! < 150, 'retry comes quickly, not a whole interval later')
  assert.equal(h.statuses.map((s) => s.status), ['up'])
  assert.is(h.monitor.stats.retries, 1)
  assert.is(h.monitor.stats.failures, 0)
})

test('down after the retry fails; statuses only on change; back up', async () => {
  const refused = fail('connection refused')
  const timeout = fail('timeout: no data within 1 s')
  // Runs: up | down (2 calls) | down same (2 calls) | down new reason (2) | up
  const h = harness([ok(), refused, refused, refused, refused, timeout, timeout, ok()], 0.1)
  h.monitor.start()
  await sleep(900)
  await h.monitor.stop()
  assert.equal(
    h.statuses.map((s) => [s.status, s.reason]),
    [
      ['up', 'ok'],
      ['down', 'connection refused'],
      ['down', 'timeout: no data within 1 s'],
      ['up', 'ok'],
    ],
  )
  const transitions = h.lines.filter((line) => typeof line.msg === 'string' && /stream (up|down)|->/.test(line.msg as string))
  assert.is(transitions.length, 4)
  for (const line of transitions) assert.is(line.stream_id, 'cam-1')
  assert.match(String(transitions[1]!.msg), /up -> down/)
})

test('a non-retryable failure is not retried', async () => {
  const h = harness([fail('unsupported URL scheme "file"', false)], 5)
  h.monitor.start()
  await sleep(150)
  await h.monitor.stop()
  assert.is(h.calls.length, 1)
  assert.equal(h.statuses.map((s) => s.status), ['down'])
})

test('probes never overlap; a late probe is counted, not run twice', async () => {
  let running = 0
  let maxRunning = 0
  const slow = async (): Promise<ProbeResult> => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await sleep(250) // 2.5 intervals
    running--
    return ok()
  }
  const h = harness([slow], 0.1)
  h.monitor.start()
  await sleep(900)
  await h.monitor.stop()
  assert.is(maxRunning, 1)
  assert.ok(h.calls.length >= 3, `calls ${h.calls.length}`)
  assert.ok(h.calls.length <= 4, `calls ${h.calls.length}`)
  const stats = h.monitor.stats
  assert.ok(stats.late >= 2, `late ${stats.late}`)
  assert.ok(stats.skipped >= 2, `skipped ${stats.skipped}`)
  for (let i = 1; i < h.calls.length; i++) assert.ok(h.calls[i]! - h.calls[i - 1]! >= 240)
})

test('stop() aborts a running probe, waits for it, and silences callbacks', async () => {
  let aborted = false
  let finished = false
  const rows: MetricsRow[] = []
  const statuses: StatusUpdate[] = []
  const monitor = new StreamMonitor({
    assignment: { stream_id: 's', url: 'http://x/y', epoch: 1, probe: { interval_s: 10, sample_s: 1, timeout_s: 1 } },
    logger: pino({ level: 'silent' }),
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    random: () => 0,
    probe: (_url, _settings, { signal }) =>
      new Promise((resolve) => {
        signal?.addEventListener('abort', () => {
          aborted = true
          setTimeout(() => {
            finished = true
            resolve(fail('aborted', false))
          }, 100)
        })
      }),
  })
  monitor.start()
  await sleep(50)
  assert.ok(monitor.stats.probing)
  await monitor.stop()
  assert.ok(aborted)
  assert.ok(finished, 'stop() resolved only after the probe finished')
  assert.equal(rows, [])
  assert.equal(statuses, [])
})

test('stop() before the first probe: nothing runs', async () => {
  const h = harness([ok()], 1, { random: () => 0.9 })
  h.monitor.start()
  await h.monitor.stop()
  await sleep(50)
  assert.is(h.calls.length, 0)
})

test('a throwing callback does not stop the monitor', async () => {
  let calls = 0
  const monitor = new StreamMonitor({
    assignment: { stream_id: 's', url: 'http://x/y', epoch: 1, probe: { interval_s: 0.1, sample_s: 1, timeout_s: 1 } },
    logger: pino({ level: 'silent' }),
    onMetrics: () => {
      calls++
      throw new Error('boom')
    },
    onStatus: () => {
      throw new Error('boom')
    },
    probe: async () => ok(),
    random: () => 0,
  })
  monitor.start()
  await sleep(350)
  await monitor.stop()
  assert.ok(calls >= 3)
})

test('an http(s) source whose window stops moving is reported stale, then up again', async () => {
  const statuses: StatusUpdate[] = []
  const rows: MetricsRow[] = []
  let start = 100
  let frozen = true
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'hls', url: 'https://cdn.example/live.m3u8', epoch: 1, probe: { interval_s: 0.05, sample_s: 1, timeout_s: 1 } },
    logger: pino({ level: 'silent' }),
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    probe: async () => ({ ...ok(), windowStart: frozen ? start : (start += 2) }),
    random: () => 0,
    staleAfterMs: 250,
  })
  monitor.start()
  await sleep(450)
  const rowsWhileStale = rows.length
  await sleep(100)
  assert.is(rows.length, rowsWhileStale, 'no rows from a stale window')
  frozen = false
  await sleep(150)
  await monitor.stop()
  assert.equal(
    statuses.map((s) => [s.status, s.reason]),
    [
      ['up', 'ok'],
      ['down', 'stale: no new media for 0 s'],
      ['up', 'ok'],
    ],
  )
})

test('non-http sources are never stale (an RTMP server restarting at pts 0 is fine)', async () => {
  const statuses: StatusUpdate[] = []
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'r', url: 'rtmp://127.0.0.1/live/x', epoch: 1, probe: { interval_s: 0.05, sample_s: 1, timeout_s: 1 } },
    logger: pino({ level: 'silent' }),
    onMetrics: () => {},
    onStatus: (status) => statuses.push(status),
    probe: async () => ({ ...ok(), windowStart: 0 }),
    random: () => 0,
    staleAfterMs: 50,
  })
  monitor.start()
  await sleep(300)
  await monitor.stop()
  assert.equal(statuses.map((s) => s.status), ['up'])
})

test('real RTMP stream: rows are emitted and stop() leaves no ffprobe', async () => {
  const stream = await startRtmpStream()
  const rows: MetricsRow[] = []
  const statuses: StatusUpdate[] = []
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'rtmp-1', url: stream.url, epoch: 3, probe: { interval_s: 3, sample_s: 2, timeout_s: 5 } },
    logger: pino({ level: 'silent' }),
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    random: () => 0,
  })
  try {
    monitor.start()
    const deadline = Date.now() + 20_000
    while (rows.length < 2 && Date.now() < deadline) await sleep(100)
    assert.ok(rows.length >= 2, `rows ${rows.length}, statuses ${JSON.stringify(statuses)}`)
    for (const row of rows) {
      assert.is(row.stream_id, 'rtmp-1')
      assert.is(row.epoch, 3)
      assert.is(row.height, 720)
      assert.ok(Math.abs(row.fps - 25) <= 1)
      assert.ok(row.bitrate > 1_500_000, `bitrate ${row.bitrate}`)
      assert.ok(row.bitrate < 2_500_000, `bitrate ${row.bitrate}`)
    }
    assert.equal(statuses.map((s) => [s.status, s.reason]), [['up', 'ok']])
    // Stop while a probe is running.
    while (!monitor.stats.probing) await sleep(20)
    assert.is(activeChildren(), 1)
    await monitor.stop()
    assert.is(activeChildren(), 0)
    assert.equal(processesMatching('ffprobe', stream.url), [])
  } finally {
    await monitor.stop()
    await stopAllTestStreams()
  }
})

test('real HLS: up while the encoder runs, stale once it dies and the playlist freezes', async () => {
  const stream = await startHlsStream()
  const statuses: StatusUpdate[] = []
  const rows: MetricsRow[] = []
  const monitor = new StreamMonitor({
    assignment: { stream_id: 'hls-1', url: stream.url, epoch: 1, probe: { interval_s: 1, sample_s: 2, timeout_s: 3 } },
    logger: pino({ level: 'silent' }),
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    random: () => 0,
    staleAfterMs: 4000,
  })
  try {
    monitor.start()
    await sleep(5000)
    assert.ok(rows.length >= 3, `rows ${rows.length}`)
    assert.equal(statuses.map((s) => s.status), ['up'], 'a live playlist is never stale')
    for (const pid of stream.pids()) process.kill(-pid, 'SIGKILL')
    const deadline = Date.now() + 15_000
    while (statuses.length < 2 && Date.now() < deadline) await sleep(100)
    assert.equal(statuses.map((s) => [s.status, s.reason]), [['up', 'ok'], ['down', 'stale: no new media for 4 s']])
  } finally {
    await monitor.stop()
    await stream.stop()
  }
  assert.is(activeChildren(), 0)
})

test.run()
