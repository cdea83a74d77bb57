// The av and screenshot checks beside a stream's probe, with fake ffmpeg
// runs: cadence, settings, failures that stay within their check, and stops.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import type { Perform } from '@monit/protocol'
import { MonitorSet } from '../src/monitor/monitor-set.ts'
import { checkSettings, StreamChecks, type AvCheckFn, type AvResult, type GrabbedScreenshot, type GrabFn } from '../src/monitor/stream-checks.ts'
import type { ProbeFn } from '../src/monitor/probe.ts'
import type { StatusUpdate, StreamAssignment } from '../src/monitor/stream-monitor.ts'
import type { AvReport } from '../src/analysis/av/index.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const logger = pino({ level: 'silent' })
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9])

const report: AvReport = {
  video: true,
  audio: true,
  decoded_s: 1,
  black: [{ start_s: 0, end_s: 1, duration_s: 1, open: true }],
  freeze: [],
  silence: [],
  loudness: { integrated_lufs: -23, true_peak_dbtp: -20, lra_lu: 0 },
}

function assignment(probe: Partial<StreamAssignment['probe']> = {}): StreamAssignment {
  return {
    stream_id: 's1',
    url: 'http://127.0.0.1:1/s1.m3u8',
    epoch: 3,
    probe: { interval_s: 10, sample_s: 5, timeout_s: 4, av_interval_s: 0.1, av_sample_s: 2, screenshot_interval_s: 0.1, ...probe },
  }
}

/** A fake that waits `ms` (or until aborted) and counts how many run at once. */
function slow<T>(ms: number, value: T) {
  let running = 0
  let maxRunning = 0
  let calls = 0
  let aborted = 0
  const run = async (_url: string, _settings: unknown, { signal }: { signal?: AbortSignal }): Promise<T> => {
    calls++
    running++
    maxRunning = Math.max(maxRunning, running)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      signal?.addEventListener('abort', () => {
        aborted++
        clearTimeout(timer)
        resolve()
      })
    })
    running--
    return value
  }
  return { run, stats: () => ({ calls, running, maxRunning, aborted }) }
}

test('checkSettings: perform fields win over defaults', () => {
  const fields = { av_interval_s: 30, av_sample_s: undefined, screenshot_interval_s: 0, page_interval_s: 15 }
  const settings = checkSettings(assignment(fields), {
    avSampleS: 7,
    screenshotWidth: 320,
    pagePlayTimeoutS: 9,
  })
  const expected = { avIntervalS: 30, avSampleS: 7, screenshotIntervalS: 0, screenshotWidth: 320 }
  assert.equal(settings, { ...expected, pageIntervalS: 15, pagePlayTimeoutS: 9 })
})

test('checkSettings: defaults without perform fields', () => {
  const plain = assignment()
  const probe = { interval_s: 10, sample_s: 5, timeout_s: 4 }
  const expected = { avIntervalS: 60, avSampleS: 10, screenshotIntervalS: 60, screenshotWidth: 640 }
  assert.equal(checkSettings({ ...plain, probe }), { ...expected, pageIntervalS: 60, pagePlayTimeoutS: 20 })
})

test('interval 0 turns a check off', () => {
  const checks = new StreamChecks({
    assignment: assignment({ av_interval_s: 0 }),
    logger,
    onAv: () => {},
    onScreenshot: () => {},
  })
  assert.equal(checks.names, ['screenshot'])
})

test('results carry assignment and settings', async () => {
  const results: AvResult[] = []
  const shots: GrabbedScreenshot[] = []
  const seen: unknown[] = []
  const avCheck: AvCheckFn = async (url, settings) => {
    seen.push({ url, settings })
    return { ok: true, report, durationMs: 1 }
  }
  const grab: GrabFn = async (_url, settings) => {
    seen.push(settings)
    return { ok: true, jpeg: JPEG, durationMs: 1 }
  }
  const checks = new StreamChecks({
    assignment: assignment(),
    defaults: { screenshotWidth: 200 },
    logger,
    onAv: (result) => results.push(result),
    onScreenshot: (shot) => shots.push(shot),
    avCheck,
    grab,
    random: () => 0,
  })
  checks.start()
  await sleep(50)
  await checks.stop()
  assert.ok(results.length >= 1)
  assert.is(results[0]!.stream_id, 's1')
  assert.is(results[0]!.epoch, 3)
  assert.is(results[0]!.sample_s, 2)
  assert.equal(results[0]!.black, report.black)
  assert.is(results[0]!.error, undefined)
  assert.ok(shots.length >= 1)
  assert.ok(shots[0]!.jpeg.equals(JPEG))
  assert.ok(seen.some((entry) => JSON.stringify(entry) === JSON.stringify({ width: 200, timeout_s: 4 })))
  assert.ok(seen.some((entry) => JSON.stringify(entry) === JSON.stringify({ url: 'http://127.0.0.1:1/s1.m3u8', settings: { sample_s: 2, timeout_s: 4 } })))
})

test('failed av check sends reason', async () => {
  const results: AvResult[] = []
  const shots: GrabbedScreenshot[] = []
  const checks = new StreamChecks({
    assignment: assignment(),
    logger,
    onAv: (result) => results.push(result),
    onScreenshot: (shot) => shots.push(shot),
    avCheck: async () => ({ ok: false, reason: 'not found (HTTP 404)', durationMs: 1 }),
    grab: async () => ({ ok: true, jpeg: JPEG, durationMs: 1 }),
    random: () => 0,
  })
  checks.start()
  await sleep(350)
  await checks.stop()
  assert.ok(results.length >= 2, `${results.length} av results`)
  assert.is(results[0]!.error, 'not found (HTTP 404)')
  assert.equal(results[0]!.black, [])
  assert.is(results[0]!.loudness, null)
  assert.ok(shots.length >= 2, `${shots.length} screenshots`)
})

test('failed grab sends nothing', async () => {
  const results: AvResult[] = []
  const shots: GrabbedScreenshot[] = []
  const checks = new StreamChecks({
    assignment: assignment(),
    logger,
    onAv: (result) => results.push(result),
    onScreenshot: (shot) => shots.push(shot),
    avCheck: async () => ({ ok: true, report, durationMs: 1 }),
    grab: async () => ({ ok: false, reason: 'connection refused', durationMs: 1 }),
    random: () => 0,
  })
  checks.start()
  await sleep(350)
  await checks.stop()
  assert.is(shots.length, 0)
  assert.ok(results.length >= 2)
})

test('runs never overlap', async () => {
  const fake = slow(150, { ok: true as const, report, durationMs: 150 })
  let calls = 0
  const checks = new StreamChecks({
    assignment: assignment({ screenshot_interval_s: 0 }),
    logger,
    onAv: () => {
      calls++
      throw new Error('callback failed')
    },
    onScreenshot: () => {},
    avCheck: fake.run,
    random: () => 0,
  })
  checks.start()
  await sleep(500)
  await checks.stop()
  assert.is(fake.stats().maxRunning, 1)
  assert.ok(calls >= 2, `${calls} callbacks`)
})

test('stop aborts running check', async () => {
  const fake = slow(5000, { ok: true as const, report, durationMs: 5000 })
  const results: AvResult[] = []
  const checks = new StreamChecks({
    assignment: assignment({ screenshot_interval_s: 0 }),
    logger,
    onAv: (result) => results.push(result),
    onScreenshot: () => {},
    avCheck: fake.run,
    random: () => 0,
  })
  checks.start()
  await sleep(50)
  const started = Date.now()
  await checks.stop()
  assert.ok(Date.now() - started < 1000, 'stop waited for the whole run')
  assert.is(fake.stats().aborted, 1)
  assert.is(fake.stats().running, 0)
  await sleep(200)
  assert.equal(results, [])
})

function perform(epoch: number, probe: Partial<Perform['probe']> = {}): Perform {
  return { type: 'perform', stream_id: 's1', url: 'http://127.0.0.1:1/s1.m3u8', epoch, probe: { ...assignment().probe, ...probe } }
}

test('monitor set: probe status stays up', async () => {
  const statuses: StatusUpdate[] = []
  const results: AvResult[] = []
  const probe: ProbeFn = async () => ({
    ok: true,
    metrics: { bitrate: 1, frames: 1, fps: 1, width: 1, height: 1, bytes: 1, seconds: 1, keyframe_interval: 0, codecs: 'h264', probe_duration_ms: 1 },
    packets: 1,
    durationMs: 1,
  })
  const set = new MonitorSet({
    logger,
    onMetrics: () => {},
    onStatus: (status) => statuses.push(status),
    probe,
    random: () => 0,
    onAv: (result) => results.push(result),
    onScreenshot: () => {},
    avCheck: async () => ({ ok: false, reason: 'invalid data: not a readable media stream', durationMs: 1 }),
    grab: async () => ({ ok: false, reason: 'connection refused', durationMs: 1 }),
  })
  set.perform(perform(1, { interval_s: 0.1 }))
  await sleep(300)
  await set.stopAll()
  assert.ok(results.length >= 1)
  assert.ok(results.every((result) => result.error !== undefined))
  assert.equal([...new Set(statuses.map((status) => status.status))], ['up'])
})

test('monitor set: old checks stopped', async () => {
  const av = slow(5000, { ok: true as const, report, durationMs: 5000 })
  const set = new MonitorSet({
    logger,
    onMetrics: () => {},
    onStatus: () => {},
    probe: async () => ({ ok: false, reason: 'down', retryable: false, durationMs: 1, stderr: '' }),
    random: () => 0,
    onAv: () => {},
    avCheck: av.run,
    grab: async () => ({ ok: true, jpeg: JPEG, durationMs: 1 }),
  })
  assert.is(set.perform(perform(1)), 'started')
  await sleep(50)
  assert.is(set.perform(perform(1, { av_sample_s: 3 })), 'restarted')
  await sleep(100)
  assert.is(av.stats().aborted, 1, 'the first check was not aborted')
  assert.is(av.stats().running, 1, 'the new check did not start')
  assert.ok(await set.revoke('s1'))
  assert.is(av.stats().running, 0)
  assert.is(av.stats().aborted, 2)
  await set.stopAll()
})

test('monitor set: checks off without callbacks', async () => {
  const av = slow(10, { ok: true as const, report, durationMs: 10 })
  const set = new MonitorSet({
    logger,
    onMetrics: () => {},
    onStatus: () => {},
    probe: async () => ({ ok: false, reason: 'down', retryable: false, durationMs: 1, stderr: '' }),
    random: () => 0,
    avCheck: av.run,
  })
  set.perform(perform(1))
  await sleep(100)
  await set.stopAll()
  assert.is(av.stats().calls, 0)
})

test.run()
