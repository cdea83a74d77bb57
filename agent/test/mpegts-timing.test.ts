import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TsAnalyzer, type TsReport } from '../src/analysis/mpegts/index.ts'
import {
  encodeCleanTs,
  feed,
  feedTimed,
  packetTimesMs,
  pidOf,
  removeTempFolder,
  splitPackets,
} from './mpegts-helpers.ts'

test.after(removeTempFolder)

const PMT_PID = 0x1500
const VIDEO_PID = 0x200
const AUDIO_PID = 0x201

const clean = splitPackets(encodeCleanTs(4))
/** Each packet's time from the PCR on the video PID, ms. */
const times = packetTimesMs(clean, VIDEO_PID)

/** Returns the clean stream without the packets of `pid` whose time is in [fromMs, toMs). */
function withoutPid(pid: number, fromMs: number, toMs: number): Buffer[] {
  return clean.filter((packet, index) => {
    return pidOf(packet) !== pid || times[index]! < fromMs || times[index]! >= toMs
  })
}

function analyze(packets: Buffer[], pidTimeoutMs?: number): TsReport {
  const analyzer = new TsAnalyzer({ pidTimeoutMs })
  feed(analyzer, Buffer.concat(packets))
  return analyzer.snapshot()
}

test('test stream repeats PAT and PMT within 0.5 s', () => {
  const report = analyze(clean)
  assert.is(report.errors.patError, 0)
  assert.is(report.errors.pmtError, 0)
  assert.is(report.clock, 'pcr')
  assert.ok(report.durationMs > 3500, `durationMs ${report.durationMs}`)
})

test('PAT missing for 1 s is one PAT error', () => {
  const report = analyze(withoutPid(0, 1000, 2000))
  assert.is(report.errors.patError, 1)
  assert.is(report.errors.pmtError, 0)
  // The PAT packets that are gone also break PID 0's counter, once.
  assert.is(report.errors.continuityCountError, 1)
  assert.is(report.programs.length, 1)
})

test('PAT missing for 0.3 s is no PAT error', () => {
  const report = analyze(withoutPid(0, 1000, 1300))
  assert.is(report.errors.patError, 0)
  assert.is(report.errors.continuityCountError, 1)
})

test('two PAT gaps are two PAT errors', () => {
  const packets = withoutPid(0, 500, 1200).filter((packet) => {
    const index = clean.indexOf(packet)
    return pidOf(packet) !== 0 || times[index]! < 2000 || times[index]! >= 3000
  })
  const report = analyze(packets)
  assert.is(report.errors.patError, 2)
})

test('PAT gap measured with arrival times', () => {
  const packets = withoutPid(0, 1000, 2000)
  const analyzer = new TsAnalyzer()
  // Arrival times spread evenly over the stream's 4 s.
  feedTimed(analyzer, packets, 4000)
  const report = analyzer.snapshot()
  assert.is(report.clock, 'arrival')
  assert.is(report.errors.patError, 1)
  assert.ok(report.durationMs > 3900, `durationMs ${report.durationMs}`)
  assert.ok(report.durationMs <= 4000, `durationMs ${report.durationMs}`)
})

test('PAT missing at the start is a PAT error', () => {
  const report = analyze(withoutPid(0, 0, 800))
  assert.is(report.errors.patError, 1)
})

test('PMT missing for 1 s is one PMT error', () => {
  const report = analyze(withoutPid(PMT_PID, 1000, 2000))
  assert.is(report.errors.pmtError, 1)
  assert.is(report.errors.patError, 0)
  assert.is(report.programs[0]?.pmtErrors, 1)
})

test('PID error after the user-set period only', () => {
  const silent = withoutPid(AUDIO_PID, 1000, 2600)
  const short = analyze(silent, 1000)
  assert.is(short.errors.pidError, 1)
  assert.is(short.programs[0]?.streams[1]?.pidErrors, 1)
  assert.is(short.programs[0]?.streams[0]?.pidErrors, 0)

  const standard = analyze(silent)
  assert.is(standard.errors.pidError, 0)
})

test('reset starts a new window and keeps the tables', () => {
  // PAT stops at 1 s for good, and the snapshot splits the stream at about 2 s.
  const packets = withoutPid(0, 1000, Infinity)
  const split = packets.findIndex((packet) => times[clean.indexOf(packet)]! >= 2000)
  const analyzer = new TsAnalyzer()
  feed(analyzer, Buffer.concat(packets.slice(0, split)))
  const first = analyzer.snapshot()
  analyzer.reset()
  feed(analyzer, Buffer.concat(packets.slice(split)))
  const second = analyzer.snapshot()

  // The gap is still open in the second window, so it counts there too.
  assert.is(first.errors.patError, 1)
  assert.is(second.errors.patError, 1)
  assert.is(second.programs.length, 1)
  assert.is(second.programs[0]?.streams.length, 2)
  assert.is(first.packets + second.packets, packets.length)
  assert.is(first.bytes + second.bytes, packets.length * 188)
  assert.ok(second.durationMs > 1500, `durationMs ${second.durationMs}`)
  assert.ok(second.durationMs < 2100, `durationMs ${second.durationMs}`)
  assert.ok(second.programs[0]!.pcrCount > 0)
})

test('PID timeout must be positive', () => {
  assert.throws(() => new TsAnalyzer({ pidTimeoutMs: 0 }), /pidTimeoutMs/)
})

test.run()
