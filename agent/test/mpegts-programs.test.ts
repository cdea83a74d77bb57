import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TsAnalyzer, type TsProgramReport, type TsReport } from '../src/analysis/mpegts/index.ts'
import {
  AV_SOURCES,
  ccOf,
  encodeCleanTs,
  encodeTs,
  feed,
  H264_AAC,
  pidOf,
  pmtSection,
  psiPackets,
  registrationDescriptor,
  removeTempFolder,
  scte35SpliceNull,
  splitPackets,
  type PmtOptions,
} from './mpegts-helpers.ts'

test.after(removeTempFolder)

const NO_ERRORS = {
  syncLoss: 0,
  syncByteError: 0,
  patError: 0,
  continuityCountError: 0,
  pmtError: 0,
  pidError: 0,
  transportError: 0,
  crcError: 0,
}

function analyze(data: Buffer, pidTimeoutMs?: number): TsReport {
  const analyzer = new TsAnalyzer({ pidTimeoutMs })
  feed(analyzer, data)
  return analyzer.snapshot()
}

/** Replaces every packet of `pmtPid` with a one-packet PMT built by `pmtAt(index)`, keeping its counter. */
function replacePmt(packets: Buffer[], pmtPid: number, pmtAt: (index: number) => PmtOptions): Buffer[] {
  return packets.map((packet, index) => {
    if (pidOf(packet) !== pmtPid) return packet
    const replacement = psiPackets(pmtPid, [pmtSection(pmtAt(index))], ccOf(packet))
    assert.is(replacement.length, 1, 'test PMT must fit one packet')
    return replacement[0]!
  })
}

test('clean H.264 + AAC stream', () => {
  const data = encodeCleanTs(3)
  const report = analyze(data)

  assert.equal(report.errors, NO_ERRORS)
  assert.is(report.clock, 'pcr')
  assert.is(report.inSync, true)
  assert.is(report.bytes, data.length)
  assert.is(report.packets, data.length / 188)
  assert.is(report.discardedBytes, 0)
  assert.is(report.transportStreamId, 1)
  assert.is(report.patVersion, 0)

  // The stream lasts 3 s, and the window runs from the first PCR to the last.
  assert.ok(report.durationMs > 2500, `durationMs ${report.durationMs}`)
  assert.ok(report.durationMs <= 3000, `durationMs ${report.durationMs}`)
  const fileRate = (data.length * 8 * 1000) / report.durationMs
  assert.ok(Math.abs(report.bitrate - fileRate) / fileRate < 0.05, `bitrate ${report.bitrate} vs ${fileRate}`)

  assert.is(report.programs.length, 1)
  const program = report.programs[0]!
  assert.is(program.programNumber, 7)
  assert.is(program.pmtPid, 0x1500)
  assert.is(program.pmtVersion, 0)
  assert.is(program.empty, false)
  assert.is(program.pcrPid, 0x200)
  assert.ok(program.pcrCount > 20, `pcrCount ${program.pcrCount}`)
  assert.type(program.maxPcrGapMs, 'number')
  assert.ok(program.maxPcrGapMs! <= 100, `maxPcrGapMs ${program.maxPcrGapMs}`)

  const streams = program.streams.map(({ pid, streamType, kind, codec, monitored }) => ({
    pid,
    streamType,
    kind,
    codec,
    monitored,
  }))
  assert.equal(streams, [
    { pid: 0x200, streamType: 0x1b, kind: 'video', codec: 'h264', monitored: true },
    { pid: 0x201, streamType: 0x0f, kind: 'audio', codec: 'aac', monitored: true },
  ])
  assert.ok(program.streams.every((stream) => stream.packets > 0))

  const uses = Object.fromEntries(report.pids.map((pid) => [pid.pid, pid.use]))
  assert.equal(uses, { 0: 'pat', 0x11: 'other', 0x200: 'stream', 0x201: 'stream', 0x1500: 'pmt' })
  const packetSum = report.pids.reduce((sum, pid) => sum + pid.packets, 0)
  assert.is(packetSum, report.packets)
})

test('codecs, languages and System B descriptors', () => {
  const codecArgs = [
    ...AV_SOURCES,
    '-t', '1',
    '-map', '0:v', '-map', '1:a', '-map', '1:a', '-map', '1:a',
    '-c:v', 'mpeg2video', '-c:a:0', 'mp2', '-c:a:1', 'ac3', '-c:a:2', 'eac3',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra',
  ]
  const atsc = analyze(encodeTs('atsc', codecArgs))
  const dvb = analyze(encodeTs('dvb', [...codecArgs, '-mpegts_flags', 'system_b']))

  const describe = (report: TsReport) =>
    report.programs[0]!.streams.map((s) => [s.streamType, s.kind, s.codec, s.languages.join()])
  assert.equal(describe(atsc), [
    [0x02, 'video', 'mpeg2video', ''],
    [0x03, 'audio', 'mpeg_audio', 'eng'],
    [0x81, 'audio', 'ac3', 'fra'],
    [0x87, 'audio', 'eac3', ''],
  ])
  assert.equal(describe(dvb), [
    [0x02, 'video', 'mpeg2video', ''],
    [0x03, 'audio', 'mpeg_audio', 'eng'],
    [0x06, 'audio', 'ac3', 'fra'],
    [0x06, 'audio', 'eac3', ''],
  ])
  assert.equal(atsc.errors, NO_ERRORS)
  assert.equal(dvb.errors, NO_ERRORS)
})

test('HEVC stream type', () => {
  const hevc = encodeTs('hevc', [
    ...AV_SOURCES.slice(0, 4),
    '-t', '1',
    '-c:v', 'libx265', '-x265-params', 'log-level=error',
  ])
  const report = analyze(hevc)
  const stream = report.programs[0]?.streams[0]
  assert.is(stream?.streamType, 0x24)
  assert.is(stream?.codec, 'hevc')
  assert.is(stream?.kind, 'video')
})

test('four programmes, two empty, and an idle SCTE-35 PID', () => {
  const SCTE35_PID = 0x1f0
  const encoded = encodeTs('programs', [
    ...AV_SOURCES,
    '-t', '2',
    '-map', '0:v', '-map', '1:a', '-map', '1:a',
    ...H264_AAC,
    '-program', 'program_num=1:st=0:st=1',
    '-program', 'program_num=2:st=2',
    '-program', 'program_num=3',
    '-program', 'program_num=4',
  ])

  // Programme 1 gets a PMT that adds SCTE 35 (stream_type 0x86, with the
  // CUEI registration at programme level, as SCTE 35 requires). Two splice_null
  // sections follow its first PMT, and then the PID stays silent.
  const withPmt = replacePmt(splitPackets(encoded), 0x1000, () => ({
    programNumber: 1,
    pcrPid: 0x100,
    descriptors: [registrationDescriptor('CUEI')],
    streams: [
      { type: 0x1b, pid: 0x100 },
      { type: 0x0f, pid: 0x101 },
      { type: 0x86, pid: SCTE35_PID },
    ],
  }))
  const firstPmt = withPmt.findIndex((packet) => pidOf(packet) === 0x1000)
  const splices = [
    ...psiPackets(SCTE35_PID, [scte35SpliceNull()], 0),
    ...psiPackets(SCTE35_PID, [scte35SpliceNull()], 1),
  ]
  const packets = [...withPmt.slice(0, firstPmt + 1), ...splices, ...withPmt.slice(firstPmt + 1)]

  // 0.5 s is far shorter than the SCTE-35 silence of about 2 s.
  const report = analyze(Buffer.concat(packets), 500)
  assert.equal(report.errors, NO_ERRORS)

  const summary = (program: TsProgramReport) => ({
    number: program.programNumber,
    pmtPid: program.pmtPid,
    empty: program.empty,
    pcrPid: program.pcrPid,
    streams: program.streams.map((stream) => `${stream.pid}:${stream.kind}:${stream.codec}`),
  })
  assert.equal(report.programs.map(summary), [
    {
      number: 1,
      pmtPid: 0x1000,
      empty: false,
      pcrPid: 0x100,
      streams: ['256:video:h264', '257:audio:aac', '496:scte35:scte_35'],
    },
    { number: 2, pmtPid: 0x1001, empty: false, pcrPid: 0x102, streams: ['258:audio:aac'] },
    { number: 3, pmtPid: 0x1002, empty: true, pcrPid: undefined, streams: [] },
    { number: 4, pmtPid: 0x1003, empty: true, pcrPid: undefined, streams: [] },
  ])

  const program = report.programs[0]!
  assert.is(program.registration, 'CUEI')
  const scte35 = program.streams[2]!
  assert.is(scte35.monitored, false)
  assert.is(scte35.packets, 2)
  assert.is(scte35.pidErrors, 0)
  assert.is(report.programs[2]!.pcrCount, 0)
  assert.is(report.programs[2]!.maxPcrGapMs, undefined)
})

test('PMT versions add video, then drop audio', () => {
  const VIDEO = 0x200
  const AUDIO = 0x201
  const clean = splitPackets(encodeCleanTs(4))
  const addVideoAt = Math.floor(clean.length * 0.25)
  const dropAudioAt = Math.floor(clean.length * 0.6)

  // Version 0 lists only audio and the video packets are not sent yet.
  // Version 1 adds video, and version 2 drops audio, whose packets stop.
  const video = { type: 0x1b, pid: VIDEO }
  const audio = { type: 0x0f, pid: AUDIO }
  const audioOnly = { programNumber: 7, version: 0, pcrPid: AUDIO, streams: [audio] }
  const both = { programNumber: 7, version: 1, pcrPid: VIDEO, streams: [video, audio] }
  const videoOnly = { programNumber: 7, version: 2, pcrPid: VIDEO, streams: [video] }
  const pmtAt = (index: number) => {
    if (index < addVideoAt) return audioOnly
    if (index < dropAudioAt) return both
    return videoOnly
  }
  const packets = replacePmt(clean, 0x1500, pmtAt).filter((packet, index) => {
    if (pidOf(packet) === VIDEO) return index >= addVideoAt
    if (pidOf(packet) === AUDIO) return index < dropAudioAt
    return true
  })
  const firstVideo = packets.findIndex((packet) => pidOf(packet) === VIDEO)
  const lastAudio = packets.findLastIndex((packet) => pidOf(packet) === AUDIO)

  // Arrival times: 4 s spread evenly over the packets, 1 s PID timeout.
  const msPerPacket = 4000 / packets.length
  const analyzer = new TsAnalyzer({ pidTimeoutMs: 1000 })
  const pushUpTo = (end: number, from: number) => {
    for (let index = from; index < end; index++) analyzer.push(packets[index]!, index * msPerPacket)
  }

  pushUpTo(firstVideo, 0)
  const before = analyzer.snapshot()
  assert.is(before.clock, 'arrival')
  assert.is(before.programs[0]?.pmtVersion, 0)
  assert.equal(before.programs[0]?.streams.map((s) => s.pid), [AUDIO])
  assert.is(before.pids.find((pid) => pid.pid === VIDEO), undefined)

  pushUpTo(lastAudio + 1, firstVideo)
  const middle = analyzer.snapshot()
  assert.is(middle.programs[0]?.pmtVersion, 1)
  const middleStreams = middle.programs[0]?.streams.map((s) => [s.pid, s.kind])
  assert.equal(middleStreams, [
    [VIDEO, 'video'],
    [AUDIO, 'audio'],
  ])
  assert.ok(middle.programs[0]!.streams[0]!.packets > 100)
  assert.is(middle.programs[0]?.pcrPid, VIDEO)

  pushUpTo(packets.length, lastAudio + 1)
  const after = analyzer.snapshot()
  assert.is(after.programs[0]?.pmtVersion, 2)
  assert.equal(after.programs[0]?.streams.map((s) => s.pid), [VIDEO])
  // Audio has been silent for about 1.6 s, but no PMT lists it any more.
  assert.ok((packets.length - lastAudio) * msPerPacket > 1500)
  assert.equal(after.errors, NO_ERRORS)
  assert.is(after.pids.find((pid) => pid.pid === AUDIO)?.use, 'other')
})

test('silent audio still listed is a PID error', () => {
  // The counterpart of the test above: the same silence with audio listed.
  const clean = splitPackets(encodeCleanTs(4))
  const dropAudioAt = Math.floor(clean.length * 0.6)
  const packets = clean.filter((packet, index) => pidOf(packet) !== 0x201 || index < dropAudioAt)

  const analyzer = new TsAnalyzer({ pidTimeoutMs: 1000 })
  packets.forEach((packet, index) => analyzer.push(packet, (index * 4000) / packets.length))
  const report = analyzer.snapshot()
  assert.is(report.errors.pidError, 1)
  assert.is(report.programs[0]?.streams[1]?.pidErrors, 1)
  assert.is(report.programs[0]?.streams[0]?.pidErrors, 0)
})

test.run()
