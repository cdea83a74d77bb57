import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { PlaylistReport, VariantReport } from '../src/analysis/playlist/report.ts'
import type { AvResult } from '../src/monitor/stream-checks.ts'
import {
  applySample,
  INITIAL_HYSTERESIS,
  nextProbeDelayMs,
  sampleVerdict,
  type HysteresisState,
  type Verdict,
} from '../src/monitor/verdict.ts'

function variant(fields: Partial<VariantReport> = {}): VariantReport {
  return { id: 'variant-0', role: 'variant', url: 'http://127.0.0.1/v.m3u8', available: true, segments: [], ...fields }
}

function report(fields: Partial<PlaylistReport> = {}, alert = false): PlaylistReport {
  return {
    streamId: 'cam-1',
    url: 'http://127.0.0.1/live.m3u8',
    ok: true,
    startedAt: 0,
    elapsedMs: 5,
    budgetMs: 1000,
    deadlineHit: false,
    variants: [variant()],
    requests: {
      requests: 2,
      errors: alert ? 1 : 0,
      errorShare: alert ? 0.5 : 0,
      alert,
      alertShare: 0.1,
      byKind: { playlist: { requests: 1, errors: 0 }, segment: { requests: 1, errors: alert ? 1 : 0 } },
      byError: alert ? { '404': 1 } : {},
    },
    ...fields,
  }
}

function staleTracking(): VariantReport['tracking'] {
  return {
    advanced: false,
    stale: true,
    newSegments: 0,
    missedSegments: 0,
    discontinuities: 0,
    durationViolations: 0,
    timestampJumps: 0,
    changedSegments: 0,
  } as unknown as VariantReport['tracking']
}

const period = { start_s: 0, end_s: 3, duration_s: 3, open: true }
function av(fields: Partial<AvResult> = {}): AvResult {
  return {
    stream_id: 'cam-1',
    epoch: 1,
    ts_ms: 0,
    sample_s: 10,
    decoded_s: 10,
    video: true,
    audio: true,
    black: [],
    freeze: [],
    silence: [],
    loudness: null,
    ...fields,
  }
}

const okProbe = { ok: true as const, bitrate: 2_000_000 }

test('sample verdict: each reason', () => {
  const cases: Array<[string, Parameters<typeof sampleVerdict>[0], Verdict]> = [
    ['healthy', { probe: okProbe, playlist: report(), av: av() }, { status: 'up', reason: 'ok' }],
    ['probe down', { probe: { ok: false, reason: 'http 404 not found' } }, { status: 'down', reason: 'http 404 not found' }],
    [
      'stale playlist',
      { probe: okProbe, playlist: report({ variants: [variant({ tracking: staleTracking() })] }) },
      { status: 'degraded', reason: 'stale playlist' },
    ],
    ['error share', { probe: okProbe, playlist: report({}, true) }, { status: 'degraded', reason: 'high error share' }],
    [
      'slow segments',
      { probe: okProbe, playlist: report({ variants: [variant(), variant({ maxDownloadRatio: 1.4 })] }) },
      { status: 'degraded', reason: 'slow segments' },
    ],
    ['black', { probe: okProbe, av: av({ black: [period] }) }, { status: 'degraded', reason: 'black' }],
    ['frozen', { probe: okProbe, av: av({ freeze: [period] }) }, { status: 'degraded', reason: 'frozen' }],
    ['silent', { probe: okProbe, av: av({ silence: [period] }) }, { status: 'degraded', reason: 'silent' }],
    ['failed av check ignored', { probe: okProbe, av: av({ error: 'timeout', black: [period] }) }, { status: 'up', reason: 'ok' }],
    [
      'several reasons',
      { probe: okProbe, playlist: report({}, true), av: av({ black: [period], silence: [period] }) },
      { status: 'degraded', reason: 'high error share, black, silent' },
    ],
  ]
  for (const [name, sample, expected] of cases) assert.equal(sampleVerdict(sample), expected, name)
})

test('sample verdict: low bitrate only with a floor', () => {
  const sample = { probe: { ok: true as const, bitrate: 300_000 } }
  assert.equal(sampleVerdict(sample), { status: 'up', reason: 'ok' })
  assert.equal(sampleVerdict(sample, { minBitrate: 500_000 }), { status: 'degraded', reason: 'low bitrate' })
  assert.equal(sampleVerdict(sample, { minBitrate: 200_000 }), { status: 'up', reason: 'ok' })
})

const up: Verdict = { status: 'up', reason: 'ok' }
const degraded: Verdict = { status: 'degraded', reason: 'stale playlist' }
const down: Verdict = { status: 'down', reason: 'timeout: no data within 5 s' }

/** Applies samples of weight 1 and returns the reported status after each. */
function run(samples: Array<Verdict | [Verdict, number]>): Array<string | undefined> {
  let state: HysteresisState = INITIAL_HYSTERESIS
  return samples.map((entry) => {
    const [sample, weight] = Array.isArray(entry) ? entry : [entry, 1]
    state = applySample(state, sample, weight)
    return state.current?.status
  })
}

test('hysteresis: first sample is taken at once', () => {
  assert.equal(run([degraded]), ['degraded'])
  assert.equal(run([[down, 2]]), ['down'])
})

test('hysteresis: one bad sample does not flap', () => {
  assert.equal(run([up, degraded, up, degraded, up]), ['up', 'up', 'up', 'up', 'up'])
})

test('hysteresis: two bad samples make it worse', () => {
  assert.equal(run([up, degraded, degraded]), ['up', 'up', 'degraded'])
  assert.equal(run([up, down, down]), ['up', 'up', 'down'])
  assert.equal(run([up, degraded, [down, 2]]), ['up', 'up', 'down'])
})

test('hysteresis: a failed retry counts as the second sample', () => {
  assert.equal(run([up, [down, 2]]), ['up', 'down'])
})

test('hysteresis: recovery needs two good samples', () => {
  assert.equal(run([up, degraded, degraded, up, degraded, up, up]), [
    'up',
    'up',
    'degraded',
    'degraded',
    'degraded',
    'degraded',
    'up',
  ])
  assert.equal(run([[down, 2], up, up]), ['down', 'down', 'up'])
  assert.equal(run([[down, 2], degraded, degraded]), ['down', 'down', 'degraded'])
})

test('hysteresis: a new reason at the same status is taken at once', () => {
  let state = applySample(INITIAL_HYSTERESIS, degraded)
  state = applySample(state, { status: 'degraded', reason: 'black' })
  assert.equal(state.current, { status: 'degraded', reason: 'black' })
})

test('probe delay: faster while unsettled, at least 2 s', () => {
  const upState = applySample(INITIAL_HYSTERESIS, up)
  const pending = applySample(upState, degraded)
  const degradedState = applySample(pending, degraded)
  assert.is(nextProbeDelayMs(10_000, INITIAL_HYSTERESIS), 10_000)
  assert.is(nextProbeDelayMs(10_000, upState), 10_000)
  assert.is(nextProbeDelayMs(10_000, pending), 5000)
  assert.is(nextProbeDelayMs(10_000, degradedState), 5000)
  assert.is(nextProbeDelayMs(3000, degradedState), 2000)
  assert.is(nextProbeDelayMs(1000, degradedState), 1000)
  const recovered = applySample(applySample(degradedState, up), up)
  assert.is(nextProbeDelayMs(10_000, recovered), 10_000)
})

test.run()
