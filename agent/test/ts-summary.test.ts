// The TS summary of a metrics row: its size cap, its validation by the
// protocol, the packet window cut, and the continuity rule of the verdict.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeAgentMessage, type MetricsRow } from '@monit/protocol'
import type { TsProgramReport, TsReport } from '../src/analysis/mpegts/report.ts'
import type { AccessUnit, ElementaryStream } from '../src/analysis/mpegts/pes.ts'
import { MAX_SUMMARY_ENTRIES, packetWindow, summariseTs } from '../src/monitor/ts-summary.ts'
import { DEFAULT_MAX_CC_ERRORS, sampleVerdict } from '../src/monitor/verdict.ts'

function program(number: number, streams: number): TsProgramReport {
  return {
    programNumber: number,
    pmtPid: 0x1000 + number,
    pmtVersion: 0,
    empty: streams === 0,
    registration: undefined,
    pcrPid: streams === 0 ? undefined : 0x100 + number,
    pcrCount: streams === 0 ? 0 : 10,
    maxPcrGapMs: undefined,
    pmtErrors: 0,
    streams: Array.from({ length: streams }, (_, index) => ({
      pid: 0x200 + number * 16 + index,
      streamType: 0x0f,
      kind: 'audio' as const,
      codec: 'aac',
      languages: [],
      registration: undefined,
      monitored: true,
      packets: 1,
      bitrate: 0,
      continuityCountErrors: 0,
      pidErrors: 0,
    })),
  }
}

function report(programs: TsProgramReport[]): TsReport {
  return {
    clock: 'pcr',
    inSync: true,
    durationMs: 5000,
    bytes: 0,
    discardedBytes: 0,
    packets: 0,
    bitrate: 0,
    transportStreamId: 1,
    patVersion: 0,
    errors: { syncLoss: 1, syncByteError: 0, patError: 2, continuityCountError: 3, pmtError: 4, pidError: 5, transportError: 0, crcError: 0 },
    programs,
    pids: [],
  }
}

test('summary counts and PCR flag', () => {
  const summary = summariseTs(report([program(1, 2), program(2, 0)]))
  assert.is(summary.sync_loss, 1)
  assert.is(summary.pat_error, 2)
  assert.is(summary.continuity_count_error, 3)
  assert.is(summary.pmt_error, 4)
  assert.is(summary.pid_error, 5)
  assert.is(summary.pcr, true)
  assert.equal(summary.programs[1], { program_number: 2, pmt_pid: 0x1002, pcr_pid: null, streams: [] })
})

test('summary capped for large multiplexes', () => {
  const programs = Array.from({ length: 20 }, (_, index) => program(index + 1, 4))
  const summary = summariseTs(report(programs))
  const entries = summary.programs.length + summary.programs.reduce((sum, entry) => sum + entry.streams.length, 0)
  assert.ok(entries <= MAX_SUMMARY_ENTRIES, `${entries} entries`)
  assert.ok(summary.programs.length >= 9, `${summary.programs.length} programmes`)
})

test('metrics message with summary validates', () => {
  const row: MetricsRow = {
    stream_id: 'cam-1',
    epoch: 1,
    ts_ms: 1_700_000_000_000,
    bitrate: 2_000_000,
    frames: 125,
    width: 1280,
    height: 720,
    fps: 25,
    bytes: 1_250_000,
    seconds: 5,
    keyframe_interval: 50,
    codecs: 'h264,aac',
    probe_duration_ms: 200,
    ts: summariseTs(report([program(1, 2)])),
  }
  const message = { type: 'metrics', batch_id: 'batch-0001', rows: [row] }
  const decoded = decodeAgentMessage(JSON.stringify(message))
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.message)

  // Older agents send rows without the summary.
  const { ts: _ts, ...older } = row
  assert.ok(decodeAgentMessage(JSON.stringify({ ...message, rows: [older] })).ok)

  const negative = { ...row, ts: { ...row.ts!, continuity_count_error: -1 } }
  const rejected = decodeAgentMessage(JSON.stringify({ ...message, rows: [negative] }))
  assert.is(rejected.ok, false)
  if (!rejected.ok) assert.match(rejected.message, 'continuity_count_error')
})

test('packet window cut at sample length', () => {
  const streams: ElementaryStream[] = [
    { pid: 256, streamType: 0x1b, kind: 'video', codec: 'h264', width: 1280, height: 720, units: 0 },
  ]
  // 25 fps for 4 s, starting just below the 33-bit wrap of the 90 kHz clock.
  const start = 2 ** 33 - 90_000
  const units: AccessUnit[] = Array.from({ length: 100 }, (_, index) => ({
    pid: 256,
    pts: (start + index * 3600) % 2 ** 33,
    dts: (start + index * 3600) % 2 ** 33,
    size: 1000,
    keyframe: index % 25 === 0,
  }))
  const window = packetWindow(units, streams, 2)
  assert.is(window.packets.length, 50)
  assert.is(window.start, start / 90_000)
  const last = window.packets.at(-1)!
  assert.ok(Math.abs(Number(last.dts_time) - (start + 49 * 3600) / 90_000) < 1e-9, `last dts ${last.dts_time}`)
  assert.equal(window.streams, [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 1280, height: 720 }])
})

test('continuity errors above threshold degrade', () => {
  const at = sampleVerdict({ probe: { ok: true, continuityErrors: DEFAULT_MAX_CC_ERRORS } })
  assert.is(at.status, 'up')
  const above = sampleVerdict({ probe: { ok: true, continuityErrors: DEFAULT_MAX_CC_ERRORS + 1 } })
  assert.is(above.status, 'degraded')
  assert.is(above.reason, 'continuity errors')
  const strict = sampleVerdict({ probe: { ok: true, continuityErrors: 1 } }, { maxContinuityErrors: 0 })
  assert.is(strict.status, 'degraded')
  const unread = sampleVerdict({ probe: { ok: true } })
  assert.is(unread.status, 'up')
})

test.run()
