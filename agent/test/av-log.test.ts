// The av parser on stderr and -progress text captured from ffmpeg 5.1
// (Debian 5.1.9) runs of the picture and sound check.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  buildAvReport,
  MAX_PERIODS,
  parseAvLog,
  parseProgressSeconds,
  totalSeconds,
} from '../src/analysis/av/index.ts'

const OUTPUT_AV = `Output #0, null, to 'pipe:':
  Metadata:
    encoder         : Lavf59.27.100
  Stream #0:0: Video: wrapped_avframe, yuv420p(progressive), 320x180 [SAR 1:1 DAR 16:9], q=2-31, 200 kb/s, 25 fps, 25 tbn
    Metadata:
      encoder         : Lavc59.37.100 wrapped_avframe
  Stream #0:1: Audio: pcm_s16le, 48000 Hz, mono, s16, 768 kb/s
    Metadata:
      encoder         : Lavc59.37.100 pcm_s16le
`

/** 40 s with black 5-10 s, silence 12-22 s and a frozen picture 20-30 s. */
const FAULTS_STDERR = `Input #0, mpegts, from 'http://127.0.0.1:42773/faults.ts':
  Duration: 00:00:40.02, start: 1.400000, bitrate: 540 kb/s
  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 320x180 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 90k tbn
  Stream #0:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), 48000 Hz, mono, fltp, 66 kb/s
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))
  Stream #0:1 -> #0:1 (aac (native) -> pcm_s16le (native))
${OUTPUT_AV}[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_start: 5.02133
[blackdetect @ 0x55c77e564140] black_start:5.02133 black_end:10.0613 black_duration:5.04
[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_duration: 5.04
[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_end: 10.0613
[silencedetect @ 0x55c77e65bfc0] silence_start: 12.035
[silencedetect @ 0x55c77e65bfc0] silence_end: 22.0358 | silence_duration: 10.0007
[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_start: 20.0213
[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_duration: 10
[freezedetect @ 0x55c77e564e80] lavfi.freezedetect.freeze_end: 30.0213
video:461kB audio:3750kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[Parsed_ebur128_1 @ 0x55c77e5ad980] Summary:

  Integrated loudness:
    I:         -23.1 LUFS
    Threshold: -33.1 LUFS

  Loudness range:
    LRA:         3.1 LU
    Threshold: -43.5 LUFS
    LRA low:   -26.1 LUFS
    LRA high:  -23.0 LUFS

  True peak:
    Peak:      -15.2 dBFS
`

/** The same file cut at 17 s: a frozen picture and silence still going on at the end. */
const CUT_STDERR = `${OUTPUT_AV}[freezedetect @ 0x562a4eeec600] lavfi.freezedetect.freeze_start: 5.02133
[blackdetect @ 0x562a4ef24a40] black_start:5.02133 black_end:10.0613 black_duration:5.04
[freezedetect @ 0x562a4eeec600] lavfi.freezedetect.freeze_end: 10.0613
[silencedetect @ 0x562a4efa5f40] silence_start: 12.035
[freezedetect @ 0x562a4eeec600] lavfi.freezedetect.freeze_start: 14.5
[silencedetect @ 0x562a4efa5f40] silence_end: 17 | silence_duration: 4.96496
`

/** Digital silence only (anullsrc, 4 s). */
const SILENT_STDERR = `Output #0, null, to 'pipe:':
  Stream #0:0: Audio: pcm_s16le, 48000 Hz, mono, s16, 768 kb/s
[silencedetect @ 0x562ec0a610c0] silence_start: 0
[silencedetect @ 0x562ec0a610c0] silence_end: 4 | silence_duration: 4
[Parsed_ebur128_1 @ 0x562ec0a61bc0] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
`

const PROGRESS = `frame=4
fps=0.00
out_time_us=200000
out_time_ms=200000
out_time=00:00:00.200000
progress=continue
frame=1000
out_time_us=40040000
out_time_ms=40040000
out_time=00:00:40.040000
progress=end
`

test('parseAvLog: periods of each kind', () => {
  const log = parseAvLog(FAULTS_STDERR)
  assert.equal(log.black, [{ start: 5.02133, end: 10.0613 }])
  assert.equal(log.freeze, [
    { start: 5.02133, end: 10.0613 },
    { start: 20.0213, end: 30.0213 },
  ])
  assert.equal(log.silence, [{ start: 12.035, end: 22.0358 }])
})

test('parseAvLog: output streams, not input streams', () => {
  const log = parseAvLog(FAULTS_STDERR)
  assert.ok(log.video)
  assert.ok(log.audio)
  const videoOnly = parseAvLog(`Stream #0:1[0x101]: Audio: aac\nOutput #0, null, to 'pipe:':\n  Stream #0:0: Video: wrapped_avframe\n`)
  assert.ok(videoOnly.video)
  assert.not.ok(videoOnly.audio)
})

test('parseAvLog: the ebur128 summary', () => {
  const log = parseAvLog(FAULTS_STDERR)
  assert.equal(log.loudness, { integrated: -23.1, range: 3.1, truePeak: -15.2 })
})

test('parseAvLog: -inf true peak is undefined', () => {
  const log = parseAvLog(SILENT_STDERR)
  assert.is(log.loudness?.truePeak, undefined)
  assert.is(log.loudness?.integrated, -70)
})

test('parseAvLog: no summary without audio', () => {
  assert.is(parseAvLog(CUT_STDERR.replace(/  Stream #0:1: Audio.*\n/, '')).loudness, undefined)
})

test('parseAvLog: CRLF line ends', () => {
  const log = parseAvLog(FAULTS_STDERR.replaceAll('\n', '\r\n'))
  assert.is(log.black.length, 1)
  assert.is(log.loudness?.integrated, -23.1)
})

test('parseAvLog: an end without a start is ignored', () => {
  const log = parseAvLog('[silencedetect @ 0x1] silence_end: 4 | silence_duration: 4\n[freezedetect @ 0x2] lavfi.freezedetect.freeze_end: 3\n')
  assert.equal(log.silence, [])
  assert.equal(log.freeze, [])
})

test('parseAvLog: garbage and empty text', () => {
  assert.equal(parseAvLog(''), { video: false, audio: false, black: [], freeze: [], silence: [], loudness: undefined })
  assert.equal(parseAvLog('[blackdetect @ 0x1] black_start:nan black_end:1\nsilence_start: N/A\n').black, [])
})

test('parseProgressSeconds: the last out_time_us', () => {
  assert.is(parseProgressSeconds(PROGRESS), 40.04)
})

test('parseProgressSeconds: none, N/A or negative is 0', () => {
  assert.is(parseProgressSeconds(''), 0)
  assert.is(parseProgressSeconds('out_time_us=N/A\nprogress=end\n'), 0)
  assert.is(parseProgressSeconds('out_time_us=-5000\n'), 0)
})

test('buildAvReport: closed periods with durations', () => {
  const report = buildAvReport(parseAvLog(FAULTS_STDERR), 40.04)
  assert.equal(report.black, [{ start_s: 5.021, end_s: 10.061, duration_s: 5.04, open: false }])
  assert.is(report.freeze[1]?.duration_s, 10)
  assert.is(report.silence[0]?.duration_s, 10.001)
  assert.is(report.decoded_s, 40.04)
  assert.equal(report.loudness, { integrated_lufs: -23.1, true_peak_dbtp: -15.2, lra_lu: 3.1 })
})

test('buildAvReport: open periods at end', () => {
  const report = buildAvReport(parseAvLog(CUT_STDERR), 17.04)
  assert.is(report.black[0]?.open, false)
  // freezedetect printed no end: the period closes at the window end.
  assert.equal(report.freeze[1], { start_s: 14.5, end_s: 17.04, duration_s: 2.54, open: true })
  // silencedetect ended it at the last sample, within the tolerance.
  assert.equal(report.silence[0], { start_s: 12.035, end_s: 17, duration_s: 4.965, open: true })
})

test('buildAvReport: gated silence has no loudness', () => {
  const report = buildAvReport(parseAvLog(SILENT_STDERR), 4)
  assert.equal(report.loudness, { integrated_lufs: null, true_peak_dbtp: null, lra_lu: 0 })
  assert.not.ok(report.video)
})

test('buildAvReport: no audio, no loudness', () => {
  const log = parseAvLog(`Output #0, null, to 'pipe:':\n  Stream #0:0: Video: wrapped_avframe\n`)
  assert.is(buildAvReport(log, 10).loudness, null)
})

test('buildAvReport: window end without progress', () => {
  const report = buildAvReport(parseAvLog(CUT_STDERR), 0)
  assert.is(report.decoded_s, 17)
  assert.is(report.freeze[1]?.end_s, 17)
})

test('buildAvReport: a negative start is clamped to 0', () => {
  const log = parseAvLog('[blackdetect @ 0x1] black_start:-0.04 black_end:3 black_duration:3.04\n')
  assert.equal(buildAvReport(log, 10).black, [{ start_s: 0, end_s: 3, duration_s: 3, open: false }])
})

test('buildAvReport: at most MAX_PERIODS per kind', () => {
  const lines = Array.from({ length: MAX_PERIODS + 5 }, (_, i) => `[blackdetect @ 0x1] black_start:${i} black_end:${i + 0.5} black_duration:0.5`)
  assert.is(buildAvReport(parseAvLog(lines.join('\n')), 2000).black.length, MAX_PERIODS)
})

test('totalSeconds sums durations', () => {
  assert.is(totalSeconds([{ duration_s: 5.04 }, { duration_s: 10 }]), 15.04)
  assert.is(totalSeconds([]), 0)
})

test.run()
