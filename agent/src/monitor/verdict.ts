// Turns one probe result, the latest playlist report and the latest picture
// and sound check into a stream status with reasons, and smooths those
// samples with hysteresis so that one bad sample does not flap the status.
// Pure: no I/O and no clock.
import type { Av, Page, StreamStatusValue } from '@monit/protocol'
import type { PlaylistReport } from '../analysis/playlist/report.ts'

export interface Verdict {
  status: StreamStatusValue
  /** `ok` when up; else the reasons joined with ", ". */
  reason: string
  /** Evidence of the status: the failed probe's stderr or the player page's errors. */
  evidence?: string
}

/** Outcome of a probe run, after its quick retry. */
export type ProbeOutcome =
  | {
      ok: true
      /** Bit/s. */
      bitrate?: number
      /** Continuity_count_errors in the probe's MPEG-TS; undefined when the agent did not read the TS itself. */
      continuityErrors?: number
    }
  | {
      ok: false
      reason: string
      /** Bad samples this outcome counts as (default 1); a failed retry makes it 2. */
      samples?: number
      /** The failed tool's stderr, which the status carries as evidence. */
      errorOutput?: string
    }

export interface HealthSample {
  probe: ProbeOutcome
  playlist?: PlaylistReport
  /** The latest av result without its type. */
  av?: Omit<Av, 'type'>
  /** The latest player page check result without its type. */
  page?: Omit<Page, 'type'>
}

export interface VerdictRules {
  /** Bit/s below which the stream is degraded as `low bitrate`; undefined turns it off. */
  minBitrate?: number
  /** Continuity_count_errors in one probe above which the stream is degraded (default DEFAULT_MAX_CC_ERRORS). */
  maxContinuityErrors?: number
  /** Consecutive samples a worse status needs (default 2). */
  worseSamples?: number
  /** Consecutive samples a better status needs (default 2). */
  betterSamples?: number
}

export const REASON_STALE_PLAYLIST = 'stale playlist'
export const REASON_HIGH_ERROR_SHARE = 'high error share'
export const REASON_SLOW_SEGMENTS = 'slow segments'
export const REASON_LOW_BITRATE = 'low bitrate'
export const REASON_PAGE_LOAD = 'page: load failed'
export const REASON_PAGE_NO_VIDEO = 'page: no video'
export const REASON_PAGE_SCRIPT = 'page: script error'
export const REASON_CONTINUITY_ERRORS = 'continuity errors'
/** Errors tolerated per probe window, so one glitch of a packet or two does not degrade the stream. */
export const DEFAULT_MAX_CC_ERRORS = 2

const SEVERITY: Record<StreamStatusValue, number> = { up: 0, degraded: 1, down: 2 }

/** Returns the status one sample shows on its own. */
export function sampleVerdict(sample: HealthSample, rules: VerdictRules = {}): Verdict {
  if (!sample.probe.ok) return withEvidence({ status: 'down', reason: sample.probe.reason }, sample.probe.errorOutput)

  const reasons = [
    ...bitrateReasons(sample.probe.bitrate, rules.minBitrate),
    ...continuityReasons(sample.probe.continuityErrors, rules.maxContinuityErrors ?? DEFAULT_MAX_CC_ERRORS),
    ...(sample.playlist ? playlistReasons(sample.playlist) : []),
    ...(sample.av ? avReasons(sample.av) : []),
  ]
  const pageFailures = sample.page ? pageReasons(sample.page) : []
  reasons.push(...pageFailures)
  if (reasons.length === 0) return { status: 'up', reason: 'ok' }
  const verdict: Verdict = { status: 'degraded', reason: reasons.join(', ') }
  return pageFailures.length > 0 ? withEvidence(verdict, pageErrorText(sample.page!)) : verdict
}

function withEvidence(verdict: Verdict, evidence: string | undefined): Verdict {
  return evidence === undefined || evidence === '' ? verdict : { ...verdict, evidence }
}

/**
 * Returns the degraded reasons of a player page check: the page did not
 * load, no video played, or a script logged a console error or threw.
 * Failed requests alone, such as a missing image, are not a reason.
 */
export function pageReasons(page: Omit<Page, 'type'>): string[] {
  const reasons: string[] = []
  if (page.load_ms === null) reasons.push(REASON_PAGE_LOAD)
  else if (!page.playing) reasons.push(REASON_PAGE_NO_VIDEO)
  if (page.errors.some((error) => error.kind === 'console' || error.kind === 'exception')) reasons.push(REASON_PAGE_SCRIPT)
  return reasons
}

/** Returns the page's errors as `kind: text` lines. */
function pageErrorText(page: Omit<Page, 'type'>): string {
  return page.errors.map((error) => `${error.kind}: ${error.text}`).join('\n')
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

function continuityReasons(errors: number | undefined, max: number): string[] {
  return errors !== undefined && errors > max ? [REASON_CONTINUITY_ERRORS] : []
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
