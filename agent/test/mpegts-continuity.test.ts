import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CC_STATUS, ContinuityChecker, type CcStatus } from '../src/analysis/mpegts/continuity.ts'
import { TsAnalyzer, type TsReport } from '../src/analysis/mpegts/index.ts'
import type { TsPacketHeader } from '../src/analysis/mpegts/packet.ts'
import {
  ccOf,
  encodeCleanTs,
  feed,
  hasPayload,
  pidOf,
  removeTempFolder,
  splitPackets,
  withCc,
} from './mpegts-helpers.ts'

test.after(removeTempFolder)

interface Step {
  cc: number
  payload?: boolean
  discontinuity?: boolean
}

function header(step: Step): TsPacketHeader {
  return {
    pid: 0x100,
    transportError: false,
    unitStart: false,
    scrambling: 0,
    continuityCounter: step.cc,
    hasPayload: step.payload ?? true,
    discontinuity: step.discontinuity ?? false,
    pcr: undefined,
    payloadOffset: 4,
    malformed: false,
  }
}

function run(steps: Step[]): CcStatus[] {
  const checker = new ContinuityChecker()
  return steps.map((step) => checker.check(header(step)))
}

const { first, next, duplicate, discontinuity, error, unchecked } = CC_STATUS

test('counter wraps from 15 to 0', () => {
  assert.equal(run([{ cc: 14 }, { cc: 15 }, { cc: 0 }, { cc: 1 }]), [first, next, next, next])
})

test('one duplicate allowed, a second is an error', () => {
  assert.equal(run([{ cc: 3 }, { cc: 3 }, { cc: 4 }]), [first, duplicate, next])
  assert.equal(run([{ cc: 3 }, { cc: 3 }, { cc: 3 }, { cc: 4 }]), [first, duplicate, error, next])
})

test('lost packet is one error, then counting resumes', () => {
  assert.equal(run([{ cc: 3 }, { cc: 7 }, { cc: 8 }]), [first, error, next])
})

test('out-of-order packets are errors', () => {
  assert.equal(run([{ cc: 3 }, { cc: 5 }, { cc: 4 }, { cc: 6 }]), [first, error, error, error])
})

test('adaptation-only packets are not checked', () => {
  const steps = [{ cc: 3 }, { cc: 3, payload: false }, { cc: 9, payload: false }, { cc: 4 }]
  assert.equal(run(steps), [first, unchecked, unchecked, next])
})

test('discontinuity_indicator allows a jump', () => {
  assert.equal(run([{ cc: 3 }, { cc: 11, discontinuity: true }, { cc: 12 }]), [first, discontinuity, next])
})

test('discontinuity without payload restarts the count', () => {
  const steps = [{ cc: 3 }, { cc: 0, payload: false, discontinuity: true }, { cc: 9 }, { cc: 10 }]
  assert.equal(run(steps), [first, unchecked, first, next])
})

// ffmpeg output with counters damaged by the test.

const clean = splitPackets(encodeCleanTs())
const VIDEO_PID = 0x200
const AUDIO_PID = 0x201

function analyze(packets: Buffer[]): TsReport {
  const analyzer = new TsAnalyzer()
  feed(analyzer, Buffer.concat(packets))
  return analyzer.snapshot()
}

function pidErrors(report: TsReport, pid: number): number | undefined {
  return report.pids.find((entry) => entry.pid === pid)?.continuityCountErrors
}

/** Indexes of the packets of `pid` that carry a payload. */
function payloadIndexes(pid: number): number[] {
  const indexes: number[] = []
  clean.forEach((packet, index) => {
    if (pidOf(packet) === pid && hasPayload(packet)) indexes.push(index)
  })
  return indexes
}

test('clean ffmpeg stream has no counter error', () => {
  const report = analyze(clean)
  assert.is(report.errors.continuityCountError, 0)
})

test('dropped video packets: one error per run', () => {
  const video = payloadIndexes(VIDEO_PID)
  assert.ok(video.length > 300, `only ${video.length} video packets`)

  // Runs of 1, 3 and 5 packets. None reaches 16, which would wrap the
  // counter back to the expected value.
  const dropped = new Set([video[50], ...video.slice(100, 103), ...video.slice(200, 205)])
  const report = analyze(clean.filter((_, index) => !dropped.has(index)))
  assert.is(report.errors.continuityCountError, 3)
  assert.is(pidErrors(report, VIDEO_PID), 3)
  assert.is(pidErrors(report, AUDIO_PID), 0)
  assert.is(report.programs[0]?.streams[0]?.continuityCountErrors, 3)
})

test('altered audio counters: two errors each', () => {
  const audio = payloadIndexes(AUDIO_PID)
  assert.ok(audio.length > 40, `only ${audio.length} audio packets`)

  // A wrong counter is one error, and the correct one after it another.
  const altered = clean.map((packet) => packet)
  for (const index of [audio[10]!, audio[30]!]) {
    altered[index] = withCc(clean[index]!, ccOf(clean[index]!) + 8)
  }
  const report = analyze(altered)
  assert.is(report.errors.continuityCountError, 4)
  assert.is(pidErrors(report, AUDIO_PID), 4)
  assert.is(pidErrors(report, VIDEO_PID), 0)
})

test('duplicated packets: twice is fine, three times is an error', () => {
  const video = payloadIndexes(VIDEO_PID)
  const once = video[40]!
  const twice = video[80]!
  const packets: Buffer[] = []
  clean.forEach((packet, index) => {
    packets.push(packet)
    if (index === once) packets.push(packet)
    if (index === twice) packets.push(packet, packet)
  })

  const report = analyze(packets)
  assert.is(report.errors.continuityCountError, 1)
  assert.is(pidErrors(report, VIDEO_PID), 1)
  // The allowed duplicate is counted as a packet.
  assert.is(report.packets, clean.length + 3)
})

test('dropped PAT packet is a counter error on PID 0', () => {
  const pat = payloadIndexes(0)
  const report = analyze(clean.filter((_, index) => index !== pat[5]))
  assert.is(report.errors.continuityCountError, 1)
  assert.is(pidErrors(report, 0), 1)
  // PAT repeats every 100 ms or so, so one lost PAT leaves no gap over 0.5 s.
  assert.is(report.errors.patError, 0)
})

test.run()
