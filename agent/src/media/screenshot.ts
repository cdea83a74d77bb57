// One frame grabbed from a live source as a JPEG on stdout. There is no
// seeking on live input: `-frames:v 1` takes the first decoded frame.
import { MAX_SCREENSHOT_BYTES } from '@monit/protocol'
import { classifyFailure, DEADLINE_GRACE_S, DEFAULT_TIMEOUT_S } from './ffprobe.ts'
import { inputArgs, streamScheme } from './protocols.ts'
import { runMediaTool, type MediaRunResult } from './runner.ts'
import { withSource } from './source-lock.ts'

export const DEFAULT_SCREENSHOT_WIDTH = 640
/** mjpeg -q:v, 2 (best) to 31 (worst). */
export const SCREENSHOT_QUALITY = 5

export interface ScreenshotSettings {
  /** Largest width in pixels; smaller pictures keep their size (default 640). */
  width?: number
  /** I/O timeout for the input, seconds (default 10). */
  timeout_s?: number
}

export type ScreenshotResult =
  | { ok: true; jpeg: Buffer; durationMs: number }
  | { ok: false; reason: string; durationMs: number }

/** Builds the ffmpeg arguments of one grab. */
export function screenshotArgs(url: string, settings: ScreenshotSettings = {}): string[] {
  const width = Math.max(16, Math.round(settings.width ?? DEFAULT_SCREENSHOT_WIDTH))
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'error',
    ...inputArgs(url, timeout),
    '-an',
    '-sn',
    '-frames:v',
    '1',
    // Scale down to the width, never up; -2 keeps the aspect ratio with an even height.
    '-vf',
    `scale=w='min(${width},iw)':h=-2`,
    '-f',
    'image2',
    '-c:v',
    'mjpeg',
    '-q:v',
    String(SCREENSHOT_QUALITY),
    'pipe:1',
  ]
}

/** Returns the process deadline of one grab in ms: connect and read up to the first keyframe. */
export function screenshotDeadlineMs(settings: ScreenshotSettings = {}): number {
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return Math.round((timeout + DEADLINE_GRACE_S) * 1000)
}

/** Returns whether the bytes start like a JPEG (SOI marker, then another marker). */
export function looksLikeJpeg(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff
}

/**
 * Grabs one frame. Never rejects: failures resolve with ok = false and a
 * short reason. An image over MAX_SCREENSHOT_BYTES ends the run.
 */
export function grabScreenshot(url: string, settings: ScreenshotSettings = {}, options: { signal?: AbortSignal } = {}): Promise<ScreenshotResult> {
  return withSource(url, () => grabOnce(url, settings, options))
}

async function grabOnce(url: string, settings: ScreenshotSettings, options: { signal?: AbortSignal }): Promise<ScreenshotResult> {
  const started = Date.now()
  let run: MediaRunResult
  try {
    streamScheme(url)
    run = await runMediaTool('ffmpeg', screenshotArgs(url, settings), {
      deadlineMs: screenshotDeadlineMs(settings),
      signal: options.signal,
      maxStdoutBytes: MAX_SCREENSHOT_BYTES,
    })
  } catch (error) {
    return { ok: false, reason: (error as Error).message, durationMs: Date.now() - started }
  }
  const durationMs = Date.now() - started
  const outcome = readRun(run, settings, url)
  if (typeof outcome === 'string') return { ok: false, reason: outcome, durationMs }
  return { ok: true, jpeg: outcome, durationMs }
}

/** Returns the JPEG of a finished run, or the reason there is none. */
function readRun(run: MediaRunResult, settings: ScreenshotSettings, url: string): Buffer | string {
  if (run.aborted) return 'aborted'
  if (run.stdoutOverflow) return `screenshot larger than ${MAX_SCREENSHOT_BYTES} bytes`
  const timeoutS = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  // With -an and -sn, an input without video leaves ffmpeg no output stream.
  if (run.code !== 0 && /does not contain any stream/.test(run.stderr)) return 'no video stream'
  if (run.timedOut || run.code !== 0) return classifyFailure(run, timeoutS, url, 'ffmpeg')
  if (run.stdoutBuffer.length === 0) return 'no video frame decoded'
  if (!looksLikeJpeg(run.stdoutBuffer)) return 'ffmpeg output is not a JPEG'
  return run.stdoutBuffer
}
