// Turns one probe result, the latest playlist report and the latest picture
// and sound check into a stream status with reasons, and smooths those
// samples with hysteresis so that one bad sample does not flap the status.
// Pure: no I/O and no clock.
import type { Av, StreamStatusValue } from '@monit/protocol'
import type { PlaylistReport } from '../analysis/playlist/report.ts'

export interface Verdict {
  status: StreamStatusValue
  /** `ok` when up; else the reasons joined with ", ". */
  reason: string
}

/** Outcome of a probe run, after its quick retry. */
export type ProbeOutcome =
  | {
      ok: true
      /** Bit/s. */
      bitrate?: number
    }
  | {
      ok: false
      reason: string
      /** Bad samples this outcome counts as (default 1); a failed retry makes it 2. */
      samples?: number
    }

export interface HealthSample {
  probe: ProbeOutcome
  playlist?: PlaylistReport
  /** The latest av result without its type. */
  av?: Omit<Av, 'type'>
}

export interface VerdictRules {
  /** Bit/s below which the stream is degraded as `low bitrate`; undefined turns it off. */
  minBitrate?: number
  /** Consecutive samples a worse status needs (default 2). */
  worseSamples?: number
  /** Consecutive samples a better status needs (default 2). */
  betterSamples?: number
}

export const REASON_STALE_PLAYLIST = 'stale playlist'
export const REASON_HIGH_ERROR_SHARE = 'high error share'
export const REASON_SLOW_SEGMENTS = 'slow segments'
export const REASON_LOW_BITRATE = 'low bitrate'

const SEVERITY: Record<StreamStatusValue, number> = { up: 0, degraded: 1, down: 2 }

/** Returns the status one sample shows on its own. */
export function sampleVerdict(sample: HealthSample, rules: VerdictRules = {}): Verdict {
  if (!sample.probe.ok) return { status: 'down', reason: sample.probe.reason }

  const reasons = [
    ...bitrateReasons(sample.probe.bitrate, rules.minBitrate),
    ...(sample.playlist ? playlistReasons(sample.playlist) : []),
    ...(sample.av ? avReasons(sample.av) : []),
  ]
  if (reasons.length === 0) return { status: 'up', reason: 'ok' }
  return { status: 'degraded', reason: reasons.join(', ') }
}

/** Returns the degraded reasons of a playlist report. */
export function playlistReasons(report: PlaylistReport): string[] {
  const reasons: string[] = []
  if (report.variants.some((variant) => variant.tracking?.stale === true)) {
    reasons.push(REASON_STALE_PLAYLIST)
  }
  if (report.requests.alert) reasons.push(REASON_HIGH_ERROR_SHARE)
  if (maxDownloadRatio(report) > 1) reasons.push(REASON_SLOW_SEGMENTS)
  return reasons
}

/** Returns the highest segment download time / segment duration of a report; 0 without segments. */
export function maxDownloadRatio(report: PlaylistReport): number {
  return Math.max(0, ...report.variants.map((variant) => variant.maxDownloadRatio ?? 0))
}

/** Returns `black`, `frozen` and `silent` for the periods an av result found. */
export function avReasons(av: Omit<Av, 'type'>): string[] {
  if (av.error !== undefined) return []
  const reasons: string[] = []
  if (av.black.length > 0) reasons.push('black')
  if (av.freeze.length > 0) reasons.push('frozen')
  if (av.silence.length > 0) reasons.push('silent')
  return reasons
}

function bitrateReasons(bitrate: number | undefined, floor: number | undefined): string[] {
  if (floor === undefined || bitrate === undefined) return []
  return bitrate < floor ? [REASON_LOW_BITRATE] : []
}

/** Reported status and the run of samples that point away from it. */
export interface HysteresisState {
  current?: Verdict
  /** Consecutive samples worse than current. */
  worse: number
  /** Consecutive samples better than current. */
  better: number
}

export const INITIAL_HYSTERESIS: HysteresisState = { worse: 0, better: 0 }

/**
 * Applies one sample. The first sample sets the status at once. A worse
 * status needs `worseSamples` consecutive worse samples and a better one
 * `betterSamples` consecutive better samples. A sample of the same status
 * with another reason changes only the reason, at once.
 */
export function applySample(
  state: HysteresisState,
  sample: Verdict,
  samples = 1,
  rules: VerdictRules = {},
): HysteresisState {
  const { current } = state
  if (current === undefined) return { current: sample, worse: 0, better: 0 }

  const change = SEVERITY[sample.status] - SEVERITY[current.status]
  if (change === 0) return { current: sample, worse: 0, better: 0 }

  if (change > 0) {
    const worse = state.worse + samples
    if (worse >= (rules.worseSamples ?? 2)) return { current: sample, worse: 0, better: 0 }
    return { current, worse, better: 0 }
  }

  const better = state.better + 1
  if (better >= (rules.betterSamples ?? 2)) return { current: sample, worse: 0, better: 0 }
  return { current, worse: 0, better }
}

/** Returns how many bad samples an outcome counts as. */
export function outcomeSamples(outcome: ProbeOutcome): number {
  return outcome.ok ? 1 : (outcome.samples ?? 1)
}

/** Smallest faster probe interval, ms. */
export const MIN_FAST_INTERVAL_MS = 2000

/**
 * Returns the wait until the next probe: half the interval (at least 2 s,
 * never more than the interval) while the stream is not up or a worse
 * sample waits for its confirmation, else the interval.
 */
export function nextProbeDelayMs(intervalMs: number, state: HysteresisState): number {
  const unsettled = state.worse > 0 || (state.current !== undefined && state.current.status !== 'up')
  if (!unsettled) return intervalMs
  return Math.min(intervalMs, Math.max(intervalMs / 2, MIN_FAST_INTERVAL_MS))
}
