// Reads what one ffmpeg decode pass with blackdetect, freezedetect,
// silencedetect and ebur128 wrote to stderr at `-loglevel info`, and what
// `-progress` wrote to stdout. Pure: text in, values out.
//
// Line formats, as printed by ffmpeg 5.1:
//   [blackdetect @ 0x…] black_start:5.02 black_end:10.06 black_duration:5.04
//   [freezedetect @ 0x…] lavfi.freezedetect.freeze_start: 20.02
//   [freezedetect @ 0x…] lavfi.freezedetect.freeze_end: 30.02
//   [silencedetect @ 0x…] silence_start: 12.03
//   [silencedetect @ 0x…] silence_end: 22.03 | silence_duration: 10.0
//   [Parsed_ebur128_1 @ 0x…] Summary:  (then "I: … LUFS", "LRA: … LU", "Peak: … dBFS")
// blackdetect and silencedetect close a period that reaches the end of the
// input; freezedetect leaves it without freeze_end.

/** A period as ffmpeg reported it; end is undefined while it was still going on. */
export interface RawPeriod {
  start: number
  end: number | undefined
}

export interface RawLoudness {
  integrated: number | undefined
  range: number | undefined
  truePeak: number | undefined
}

export interface AvLog {
  /** The output had a video stream (the video filters ran). */
  video: boolean
  /** The output had an audio stream (the audio filters ran). */
  audio: boolean
  black: RawPeriod[]
  freeze: RawPeriod[]
  silence: RawPeriod[]
  /** The ebur128 summary, or undefined when ffmpeg printed none. */
  loudness: RawLoudness | undefined
}

const BLACK = /black_start:\s*(\S+)\s+black_end:\s*(\S+)/
const FREEZE_START = /lavfi\.freezedetect\.freeze_start:\s*(\S+)/
const FREEZE_END = /lavfi\.freezedetect\.freeze_end:\s*(\S+)/
const SILENCE_START = /silence_start:\s*(\S+)/
const SILENCE_END = /silence_end:\s*([^\s|]+)/
const OUTPUT_HEADER = /^Output #0\b/
const OUTPUT_STREAM = /^\s*Stream #0:\d+[^:]*: (Video|Audio):/
const SUMMARY = /\[Parsed_ebur128_\d+ @ [^\]]+\] Summary:/
const INTEGRATED = /^\s*I:\s+(\S+) LUFS/
const RANGE = /^\s*LRA:\s+(\S+) LU\b/
const PEAK = /^\s*Peak:\s+(\S+) dBFS/

/** Parses a finite number; returns undefined for "N/A", "-inf", "nan" and other text. */
export function finite(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  return Number.isFinite(value) ? value : undefined
}

/** Parses the stderr of one decode pass. Lines it does not know are skipped. */
export function parseAvLog(stderr: string): AvLog {
  const log: AvLog = { video: false, audio: false, black: [], freeze: [], silence: [], loudness: undefined }
  let inOutput = false
  let summary: RawLoudness | undefined

  for (const line of stderr.split(/\r?\n/)) {
    if (OUTPUT_HEADER.test(line)) inOutput = true
    if (inOutput) readOutputStream(line, log)
    if (SUMMARY.test(line)) {
      summary = { integrated: undefined, range: undefined, truePeak: undefined }
      log.loudness = summary
      continue
    }
    if (summary !== undefined && readSummaryLine(line, summary)) continue
    readDetection(line, log)
  }
  return log
}

function readOutputStream(line: string, log: AvLog): void {
  const stream = OUTPUT_STREAM.exec(line)
  if (stream?.[1] === 'Video') log.video = true
  if (stream?.[1] === 'Audio') log.audio = true
}

/** Reads one line of the ebur128 summary; returns whether it was one. */
function readSummaryLine(line: string, summary: RawLoudness): boolean {
  const integrated = INTEGRATED.exec(line)
  if (integrated) {
    summary.integrated = finite(integrated[1])
    return true
  }
  const range = RANGE.exec(line)
  if (range) {
    summary.range = finite(range[1])
    return true
  }
  const peak = PEAK.exec(line)
  if (peak) {
    summary.truePeak = finite(peak[1])
    return true
  }
  return false
}

function readDetection(line: string, log: AvLog): void {
  const black = BLACK.exec(line)
  if (black) {
    const start = finite(black[1])
    if (start !== undefined) log.black.push({ start, end: finite(black[2]) })
    return
  }
  if (openOrClose(line, FREEZE_START, FREEZE_END, log.freeze)) return
  openOrClose(line, SILENCE_START, SILENCE_END, log.silence)
}

/** Starts a period on a start line, or ends the last open one on an end line. */
function openOrClose(line: string, startPattern: RegExp, endPattern: RegExp, periods: RawPeriod[]): boolean {
  const start = startPattern.exec(line)
  if (start) {
    const value = finite(start[1])
    if (value !== undefined) periods.push({ start: value, end: undefined })
    return true
  }
  const end = endPattern.exec(line)
  if (!end) return false
  const last = periods.at(-1)
  const value = finite(end[1])
  if (last !== undefined && last.end === undefined && value !== undefined) last.end = value
  return true
}

/**
 * Reads the seconds of media written from the last `out_time_us=` of
 * `-progress` output (ffmpeg's `out_time_ms` is also in microseconds).
 * Returns 0 when there is none.
 */
export function parseProgressSeconds(progress: string): number {
  let micros: number | undefined
  for (const match of progress.matchAll(/^out_time_(?:us|ms)=(-?\d+)\s*$/gm)) {
    const value = finite(match[1])
    if (value !== undefined) micros = value
  }
  return micros === undefined || micros < 0 ? 0 : micros / 1_000_000
}
