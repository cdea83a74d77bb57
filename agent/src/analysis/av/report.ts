// Turns a parsed decode pass into the figures of an `av` message: periods
// closed and clamped to the decoded window, loudness with null for values
// ffmpeg could not measure. Pure.
import type { AvPeriod, Loudness } from '@monit/protocol'
import type { AvLog, RawPeriod } from './log.ts'

/** A period ending this close to the end of the decoded window counts as still going on. */
export const OPEN_TOLERANCE_S = 0.25
/** Periods kept per kind; the protocol allows 1000. */
export const MAX_PERIODS = 1000

export interface AvReport {
  video: boolean
  audio: boolean
  /** Seconds of media decoded. */
  decoded_s: number
  black: AvPeriod[]
  freeze: AvPeriod[]
  silence: AvPeriod[]
  loudness: Loudness | null
}

function round(value: number, digits = 3): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/**
 * Finds the end of the decoded window: the progress figure, or the latest
 * time any detector reported when ffmpeg printed no progress.
 */
function windowEnd(log: AvLog, progressS: number): number {
  let latest = progressS
  for (const period of [...log.black, ...log.freeze, ...log.silence]) {
    latest = Math.max(latest, period.start, period.end ?? 0)
  }
  return latest
}

function closePeriods(raw: readonly RawPeriod[], end: number): AvPeriod[] {
  const periods: AvPeriod[] = []
  for (const period of raw.slice(0, MAX_PERIODS)) {
    const start = Math.max(0, period.start)
    const stop = Math.max(start, period.end ?? end)
    periods.push({
      start_s: round(start),
      end_s: round(stop),
      duration_s: round(stop - start),
      open: period.end === undefined || stop >= end - OPEN_TOLERANCE_S,
    })
  }
  return periods
}

/**
 * Absolute gate of EBU R128. ebur128 prints -70.0 LUFS when no 400 ms block
 * passed it, such as for digital silence, so that value means no loudness.
 */
export const ABSOLUTE_GATE_LUFS = -70

function loudnessOf(log: AvLog): Loudness | null {
  if (!log.audio || log.loudness === undefined) return null
  const { integrated, range, truePeak } = log.loudness
  const gated = integrated === undefined || integrated <= ABSOLUTE_GATE_LUFS
  return {
    integrated_lufs: gated ? null : round(integrated, 1),
    true_peak_dbtp: truePeak === undefined ? null : round(truePeak, 1),
    lra_lu: range === undefined ? null : round(range, 1),
  }
}

/** Builds the report of one decode pass from its parsed stderr and progress seconds. */
export function buildAvReport(log: AvLog, progressS: number): AvReport {
  const end = windowEnd(log, progressS)
  return {
    video: log.video,
    audio: log.audio,
    decoded_s: round(end),
    black: closePeriods(log.black, end),
    freeze: closePeriods(log.freeze, end),
    silence: closePeriods(log.silence, end),
    loudness: loudnessOf(log),
  }
}

/** Seconds covered by the periods (they never overlap within one kind). */
export function totalSeconds(periods: readonly Pick<AvPeriod, 'duration_s'>[]): number {
  return round(periods.reduce((sum, period) => sum + period.duration_s, 0))
}
