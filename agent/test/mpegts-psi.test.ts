import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { crc32Mpeg } from '../src/analysis/mpegts/crc32.ts'
import { TsAnalyzer, type TsReport } from '../src/analysis/mpegts/index.ts'
import { parsePacketHeader } from '../src/analysis/mpegts/packet.ts'
import { SectionAssembler } from '../src/analysis/mpegts/sections.ts'
import { classifyStream, languagesOf, registrationOf } from '../src/analysis/mpegts/stream-types.ts'
import { hasValidCrc, parsePat, parsePmt } from '../src/analysis/mpegts/tables.ts'
import {
  descriptor,
  languageDescriptor,
  patSection,
  pmtSection,
  psiPackets,
  registrationDescriptor,
  withCrc,
} from './mpegts-helpers.ts'

test('CRC-32/MPEG-2 of the check string', () => {
  assert.is(crc32Mpeg(Buffer.from('123456789')), 0x0376e6e7)
})

test('section with its CRC passes, one flipped bit fails', () => {
  const section = patSection({ programs: [{ number: 1, pid: 0x1000 }] })
  assert.ok(hasValidCrc(section))
  section[9]! ^= 0x01
  assert.not.ok(hasValidCrc(section))
})

test('PAT parse', () => {
  const section = patSection({
    transportStreamId: 0x1234,
    version: 5,
    programs: [
      { number: 0, pid: 0x10 },
      { number: 3, pid: 0x1000 },
    ],
  })
  const pat = parsePat(section)
  assert.ok(pat)
  assert.is(pat.tableIdExtension, 0x1234)
  assert.is(pat.version, 5)
  assert.is(pat.current, true)
  assert.equal(pat.entries, [
    { programNumber: 0, pid: 0x10 },
    { programNumber: 3, pid: 0x1000 },
  ])
})

test('PAT parse rejects a length that overruns the section', () => {
  const section = patSection({ programs: [{ number: 1, pid: 0x1000 }] })
  assert.is(parsePat(section.subarray(0, section.length - 1)), undefined)
})

test('PMT parse with descriptors', () => {
  const section = pmtSection({
    programNumber: 9,
    version: 2,
    pcrPid: 0x100,
    descriptors: [registrationDescriptor('CUEI')],
    streams: [
      { type: 0x1b, pid: 0x100 },
      { type: 0x0f, pid: 0x101, descriptors: [languageDescriptor('eng')] },
      { type: 0x86, pid: 0x102 },
    ],
  })
  const pmt = parsePmt(section)
  assert.ok(pmt)
  assert.is(pmt.programNumber, 9)
  assert.is(pmt.version, 2)
  assert.is(pmt.pcrPid, 0x100)
  assert.is(registrationOf(pmt.descriptors), 'CUEI')
  assert.equal(
    pmt.streams.map((stream) => [stream.streamType, stream.pid]),
    [
      [0x1b, 0x100],
      [0x0f, 0x101],
      [0x86, 0x102],
    ],
  )
  assert.equal(languagesOf(pmt.streams[1]!.descriptors), ['eng'])
})

test('PMT parse rejects a descriptor that overruns its loop', () => {
  const broken = pmtSection({
    programNumber: 1,
    pcrPid: 0x100,
    streams: [{ type: 0x0f, pid: 0x101, descriptors: [Buffer.from([0x0a, 9, 0x65])] }],
  })
  assert.is(parsePmt(broken), undefined)
})

test('stream classification', () => {
  const ac3 = descriptor(0x6a, [0])
  const eac3 = descriptor(0x7a, [0])
  const subtitles = descriptor(0x59, [0x65, 0x6e, 0x67, 0x10, 0, 1, 0, 1])
  const cases: [number, Buffer[], string, string][] = [
    [0x1b, [], 'video', 'h264'],
    [0x24, [], 'video', 'hevc'],
    [0x02, [], 'video', 'mpeg2video'],
    [0x0f, [], 'audio', 'aac'],
    [0x11, [], 'audio', 'aac_latm'],
    [0x03, [], 'audio', 'mpeg_audio'],
    [0x04, [], 'audio', 'mpeg_audio'],
    [0x81, [], 'audio', 'ac3'],
    [0x87, [], 'audio', 'eac3'],
    [0x06, [ac3], 'audio', 'ac3'],
    [0x06, [eac3], 'audio', 'eac3'],
    [0x06, [registrationDescriptor('AC-3')], 'audio', 'ac3'],
    [0x06, [subtitles], 'subtitle', 'dvb_subtitle'],
    [0x06, [], 'data', 'private_data'],
    [0x86, [], 'scte35', 'scte_35'],
    [0x06, [registrationDescriptor('CUEI')], 'scte35', 'scte_35'],
    [0x15, [registrationDescriptor('ID3 ')], 'data', 'metadata'],
    [0x05, [], 'data', 'private_sections'],
    [0x99, [], 'other', 'unknown'],
  ]
  for (const [streamType, descriptors, kind, codec] of cases) {
    const label = `stream_type 0x${streamType.toString(16)}`
    const result = classifyStream(streamType, parsedDescriptors(descriptors))
    assert.is(result.kind, kind, label)
    assert.is(result.codec, codec, label)
  }
})

function parsedDescriptors(descriptors: Buffer[]): { tag: number; data: Buffer }[] {
  return descriptors.map((bytes) => ({ tag: bytes[0]!, data: bytes.subarray(2) }))
}

test('registration that is not ASCII shows as hex', () => {
  assert.is(registrationOf([{ tag: 0x05, data: Buffer.from([0, 1, 2, 0xff]) }]), '0x000102ff')
})

// Section reassembly.

/** Runs packets of one PID through a SectionAssembler and returns the sections. */
function assemble(packets: Buffer[]): Buffer[] {
  const assembler = new SectionAssembler()
  const sections: Buffer[] = []
  for (const packet of packets) {
    const header = parsePacketHeader(packet)
    sections.push(...assembler.push(packet.subarray(header.payloadOffset), header.unitStart))
  }
  return sections
}

function bigPat(programs: number, version = 0): Buffer {
  return patSection({
    version,
    programs: Array.from({ length: programs }, (_, index) => ({ number: index + 1, pid: 0x1000 + index })),
  })
}

test('section spanning three packets', () => {
  const section = bigPat(100)
  const packets = psiPackets(0, [section])
  assert.is(packets.length, 3)
  assert.equal(assemble(packets), [section])
})

test('pointer_field: tail of one section, then the next', () => {
  const first = bigPat(60, 1)
  const second = bigPat(60, 2)
  const packets = psiPackets(0, [first, second])
  // The second packet ends the first section and starts the second one.
  const pointer = packets[1]![4]
  assert.is(pointer, first.length - 183)
  assert.equal(assemble(packets), [first, second])
})

test('several sections in one packet', () => {
  const sections = [bigPat(2, 1), bigPat(3, 2), bigPat(4, 3)]
  const packets = psiPackets(0, sections)
  assert.is(packets.length, 1)
  assert.equal(assemble(packets), sections)
})

test('section header split across packets', () => {
  // 182 bytes of padding section put the next header across the boundary.
  const filler = withCrc(Buffer.concat([Buffer.from([0x40, 0xb0, 179, 0, 1, 0xc1, 0, 0]), Buffer.alloc(170)]))
  assert.is(filler.length, 182)
  const section = bigPat(5)
  assert.equal(assemble(psiPackets(0, [filler, section])), [filler, section])
})

test('lost packet drops the section in progress', () => {
  const first = bigPat(100, 1)
  const second = bigPat(2, 2)
  const packets = psiPackets(0, [first, second])
  const assembler = new SectionAssembler()
  const sections: Buffer[] = []
  packets.forEach((packet, index) => {
    if (index === 1) {
      assembler.abort()
      return
    }
    const header = parsePacketHeader(packet)
    sections.push(...assembler.push(packet.subarray(header.payloadOffset), header.unitStart))
  })
  assert.equal(sections, [second])
})

// Tables through the analyzer.

function analyze(packets: Buffer[]): TsReport {
  const analyzer = new TsAnalyzer()
  analyzer.push(Buffer.concat(packets))
  return analyzer.snapshot()
}

/** Null packets that give the framer something to lock on after the tables. */
function padding(count = 5): Buffer[] {
  return Array.from({ length: count }, () => Buffer.from([0x47, 0x1f, 0xff, 0x10, ...Buffer.alloc(184, 0xff)]))
}

test('PAT over two packets lists every programme', () => {
  const report = analyze([...psiPackets(0, [bigPat(60)]), ...padding()])
  assert.is(report.programs.length, 60)
  assert.is(report.programs[59]?.programNumber, 60)
  assert.is(report.programs[59]?.pmtPid, 0x1000 + 59)
  assert.is(report.errors.crcError, 0)
})

test('PAT in two sections is applied once both arrive', () => {
  const part0 = patSection({ programs: [{ number: 1, pid: 0x1000 }], sectionNumber: 0, lastSectionNumber: 1 })
  const part1 = patSection({ programs: [{ number: 2, pid: 0x1001 }], sectionNumber: 1, lastSectionNumber: 1 })

  const analyzer = new TsAnalyzer()
  analyzer.push(Buffer.concat([...psiPackets(0, [part0]), ...padding()]))
  assert.equal(analyzer.snapshot().programs, [])
  analyzer.push(Buffer.concat(psiPackets(0, [part1], 1)))
  assert.equal(
    analyzer.snapshot().programs.map((program) => program.programNumber),
    [1, 2],
  )
})

test('PAT with a bad CRC is counted and ignored', () => {
  const section = patSection({ programs: [{ number: 1, pid: 0x1000 }] })
  section[10]! ^= 0x01
  const report = analyze([...psiPackets(0, [section]), ...padding()])
  assert.is(report.errors.crcError, 1)
  assert.equal(report.programs, [])
})

test('other table_id on PID 0 is a PAT error', () => {
  const cat = patSection({ programs: [] })
  cat[0] = 0x01
  const report = analyze([...psiPackets(0, [withCrc(cat.subarray(0, cat.length - 4))]), ...padding()])
  assert.is(report.errors.patError, 1)
  assert.is(report.errors.crcError, 0)
})

test('scrambled PAT and PMT packets are errors', () => {
  const pat = psiPackets(0, [patSection({ programs: [{ number: 1, pid: 0x1000 }] })])
  const pmt = pmtSection({ programNumber: 1, pcrPid: 0x100, streams: [{ type: 0x1b, pid: 0x100 }] })
  const scrambledPat = Buffer.from(pat[0]!)
  scrambledPat[3] = 0x80 | 0x10 | 1
  const scrambledPmt = psiPackets(0x1000, [pmt], 1)[0]!
  scrambledPmt[3] = 0xc0 | 0x10 | 1

  const report = analyze([...pat, ...psiPackets(0x1000, [pmt]), scrambledPat, scrambledPmt, ...padding()])
  assert.is(report.errors.patError, 1)
  assert.is(report.errors.pmtError, 1)
  assert.is(report.programs[0]?.pmtErrors, 1)
  assert.is(report.pids.find((pid) => pid.pid === 0)?.scrambledPackets, 1)
})

test('PMT for a programme not in the PAT is ignored', () => {
  const pat = psiPackets(0, [patSection({ programs: [{ number: 1, pid: 0x1000 }] })])
  const stray = pmtSection({ programNumber: 2, pcrPid: 0x100, streams: [{ type: 0x1b, pid: 0x100 }] })
  const report = analyze([...pat, ...psiPackets(0x1000, [stray]), ...padding()])
  assert.is(report.programs.length, 1)
  assert.is(report.programs[0]?.pmtVersion, undefined)
  assert.is(report.programs[0]?.empty, false)
})

test('transport_error_indicator is counted', () => {
  const damaged = padding(1)[0]!
  damaged[1] = 0x80 | damaged[1]!
  const report = analyze([...padding(), damaged, ...padding()])
  assert.is(report.errors.transportError, 1)
  assert.is(report.packets, 11)
})

test.run()
