// The picture and sound check is one ffmpeg decode pass over a sample window
// (`-t` on the input) with blackdetect and freezedetect on the video,
// silencedetect and ebur128 on the audio, and `-f null` as the output. The
// input gets the same protocol whitelist and I/O timeouts as a probe.
import { buildAvReport, parseAvLog, parseProgressSeconds, type AvReport } from '../analysis/av/index.ts'
import { classifyFailure, DEADLINE_GRACE_S, DEFAULT_TIMEOUT_S } from './ffprobe.ts'
import { inputArgs, streamScheme } from './protocols.ts'
import { runMediaTool, type MediaRunResult } from './runner.ts'
import { withSource } from './source-lock.ts'

export const DEFAULT_AV_SAMPLE_S = 10

/** Detector settings; the numbers are the options of the ffmpeg filters. */
export const AV_THRESHOLDS = {
  /** blackdetect d: shortest black period reported, seconds. */
  blackMinS: 1,
  /** blackdetect pix_th: a pixel below this luma ratio (0-1) counts as black. */
  blackPixelRatio: 0.1,
  /** freezedetect n: frames differing by less than this (dB) are the same picture. */
  freezeNoiseDb: -60,
  /** freezedetect d: shortest frozen period reported, seconds. */
  freezeMinS: 2,
  /** silencedetect n: audio below this level (dB) is silence. */
  silenceNoiseDb: -60,
  /** silencedetect d: shortest silence reported, seconds. */
  silenceMinS: 2,
} as const

export type AvThresholds = { -readonly [K in keyof typeof AV_THRESHOLDS]: number }

export interface AvCheckSettings {
  /** Seconds of media to decode (default 10). */
  sample_s?: number
  /** I/O timeout for the input, seconds (default 10). */
  timeout_s?: number
}

export type AvCheckResult =
  | { ok: true; report: AvReport; durationMs: number }
  | { ok: false; reason: string; durationMs: number }

/** Builds the -vf and -af arguments of a check. */
export function avFilterArgs(thresholds: AvThresholds = AV_THRESHOLDS): string[] {
  const t = thresholds
  const video = `blackdetect=d=${t.blackMinS}:pix_th=${t.blackPixelRatio},freezedetect=n=${t.freezeNoiseDb}dB:d=${t.freezeMinS}`
  // framelog=verbose keeps ebur128's ten lines per second out of the info log.
  const audio = `silencedetect=n=${t.silenceNoiseDb}dB:d=${t.silenceMinS},ebur128=peak=true:framelog=verbose`
  return ['-vf', video, '-af', audio]
}

/** Builds the ffmpeg arguments of one check. */
export function avCheckArgs(url: string, settings: AvCheckSettings = {}, thresholds?: AvThresholds): string[] {
  const sample = settings.sample_s ?? DEFAULT_AV_SAMPLE_S
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    '-progress',
    'pipe:1',
    '-t',
    String(sample),
    ...inputArgs(url, timeout),
    ...avFilterArgs(thresholds),
    '-f',
    'null',
    '-',
  ]
}

/**
 * Returns the process deadline of one check in ms. Reading a live sample
 * takes up to sample_s, and decoding it may take as long again on a busy host.
 */
export function avCheckDeadlineMs(settings: AvCheckSettings = {}): number {
  const sample = settings.sample_s ?? DEFAULT_AV_SAMPLE_S
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return Math.round((2 * sample + timeout + DEADLINE_GRACE_S) * 1000)
}

/**
 * Runs one check. Never rejects: an unsupported URL, a missing ffmpeg, a
 * source that fails or sends nothing decodable resolve with ok = false and
 * a short reason.
 */
export function runAvCheck(
  url: string,
  settings: AvCheckSettings = {},
  options: { signal?: AbortSignal; thresholds?: AvThresholds } = {},
): Promise<AvCheckResult> {
  return withSource(url, () => runAvCheckOnce(url, settings, options))
}

async function runAvCheckOnce(
  url: string,
  settings: AvCheckSettings,
  options: { signal?: AbortSignal; thresholds?: AvThresholds },
): Promise<AvCheckResult> {
  const started = Date.now()
  let run: MediaRunResult
  try {
    streamScheme(url)
    run = await runMediaTool('ffmpeg', avCheckArgs(url, settings, options.thresholds), {
      deadlineMs: avCheckDeadlineMs(settings),
      signal: options.signal,
      maxStdoutBytes: 1024 * 1024,
      stderrTailBytes: 256 * 1024,
    })
  } catch (error) {
    return { ok: false, reason: (error as Error).message, durationMs: Date.now() - started }
  }
  const durationMs = Date.now() - started
  const outcome = readRun(run, settings, url)
  if (typeof outcome === 'string') return { ok: false, reason: outcome, durationMs }
  return { ok: true, report: outcome, durationMs }
}

/** Builds the report of a finished run, or returns the reason it has none. */
function readRun(run: MediaRunResult, settings: AvCheckSettings, url: string): AvReport | string {
  if (run.aborted) return 'aborted'
  const timeoutS = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  // A killed ffmpeg printed no summary and no periods that reach the end.
  if (run.timedOut || run.signal !== null) return classifyFailure(run, timeoutS, url, 'ffmpeg')
  const decoded = parseProgressSeconds(run.stdout)
  if (run.code !== 0 && decoded === 0) return classifyFailure(run, timeoutS, url, 'ffmpeg')
  const log = parseAvLog(run.stderr)
  if (!log.video && !log.audio) return 'no audio or video stream to decode'
  if (decoded === 0) return 'no media decoded within the sample window'
  return buildAvReport(log, decoded)
}
