// Helpers for the MPEG-TS analyzer tests: transport streams encoded by real
// ffmpeg into a temporary folder, packet surgery (drop, rewrite, insert), and
// a small builder for PAT, PMT and SCTE 35 packets with a correct CRC_32.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32Mpeg } from '../src/analysis/mpegts/crc32.ts'
import type { TsAnalyzer } from '../src/analysis/mpegts/index.ts'

export const FFMPEG = process.env.MONIT_FFMPEG || 'ffmpeg'
export const PACKET_SIZE = 188

let folder: string | undefined

/** Lavfi sources: 160x90 test pattern at 25 fps and a 1 kHz tone. */
export const AV_SOURCES = [
  '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25',
  '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000',
]

/** Single-threaded, bit-exact encoding, so the bytes are the same on every machine. */
export const H264_AAC = [
  '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-b:v', '150k', '-threads', '1',
  '-c:a', 'aac', '-b:a', '32k',
  '-fflags', '+bitexact', '-flags', '+bitexact',
]

/**
 * Runs ffmpeg with `args` (inputs and options, without the output) and
 * returns the MPEG-TS that it writes. Fails after 60 s.
 */
export function encodeTs(name: string, args: string[]): Buffer {
  folder ??= mkdtempSync(join(tmpdir(), 'monit-mpegts-'))
  const output = join(folder, `${name}.ts`)
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args, '-f', 'mpegts', output], {
    timeout: 60_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  return readFileSync(output)
}

/**
 * Encodes the clean test stream: programme 7 with H.264 on PID 0x200, AAC
 * on 0x201 and the PMT on 0x1500.
 */
export function encodeCleanTs(seconds = 3): Buffer {
  return encodeTs(`clean-${seconds}s`, [
    ...AV_SOURCES,
    '-t', String(seconds),
    '-map', '0:v', '-map', '1:a',
    ...H264_AAC,
    '-mpegts_service_id', '7',
    '-mpegts_pmt_start_pid', '0x1500',
    '-streamid', '0:0x200',
    '-streamid', '1:0x201',
  ])
}

export function removeTempFolder(): void {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true })
  folder = undefined
}

export function splitPackets(ts: Buffer): Buffer[] {
  if (ts.length % PACKET_SIZE !== 0) throw new Error(`length ${ts.length} is not a multiple of 188`)
  const packets: Buffer[] = []
  for (let offset = 0; offset < ts.length; offset += PACKET_SIZE) {
    packets.push(Buffer.from(ts.subarray(offset, offset + PACKET_SIZE)))
  }
  return packets
}

export function pidOf(packet: Buffer): number {
  return ((packet[1]! & 0x1f) << 8) | packet[2]!
}

export function ccOf(packet: Buffer): number {
  return packet[3]! & 0x0f
}

export function hasPayload(packet: Buffer): boolean {
  return (packet[3]! & 0x10) !== 0
}

export function withCc(packet: Buffer, cc: number): Buffer {
  const copy = Buffer.from(packet)
  copy[3] = (copy[3]! & 0xf0) | (cc & 0x0f)
  return copy
}

/** Returns the PCR of a packet in 27 MHz ticks, if its adaptation field has one. */
export function pcrOf(packet: Buffer): number | undefined {
  const hasAdaptation = (packet[3]! & 0x20) !== 0
  if (!hasAdaptation || packet[4] === 0 || (packet[5]! & 0x10) === 0) return undefined
  const base =
    packet[6]! * 2 ** 25 +
    packet[7]! * 2 ** 17 +
    packet[8]! * 2 ** 9 +
    packet[9]! * 2 +
    (packet[10]! >> 7)
  return base * 300 + (((packet[10]! & 1) << 8) | packet[11]!)
}

/**
 * Returns for each packet the time in ms of the latest PCR on `pcrPid` at or
 * before it, counted from the first PCR (packets before it get 0).
 */
export function packetTimesMs(packets: readonly Buffer[], pcrPid: number): number[] {
  let first: number | undefined
  let now = 0
  return packets.map((packet) => {
    const pcr = pidOf(packet) === pcrPid ? pcrOf(packet) : undefined
    if (pcr !== undefined) {
      first ??= pcr
      now = (pcr - first) / 27_000
    }
    return now
  })
}

/** Appends the CRC_32 to a long-form section whose section_length already counts it. */
export function withCrc(body: Buffer): Buffer {
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32Mpeg(body))
  return Buffer.concat([body, crc])
}

/** Builds a long-form section: the 8-byte header, `content` and the CRC_32. */
export function longSection(
  tableId: number,
  extension: number,
  version: number,
  content: Buffer,
  numbers = [0, 0],
): Buffer {
  const length = 5 + content.length + 4
  const header = Buffer.from([
    tableId,
    0xb0 | (length >> 8),
    length & 0xff,
    extension >> 8,
    extension & 0xff,
    0xc1 | ((version & 0x1f) << 1),
    numbers[0]!,
    numbers[1]!,
  ])
  return withCrc(Buffer.concat([header, content]))
}

export interface PatOptions {
  transportStreamId?: number
  version?: number
  programs: { number: number; pid: number }[]
  sectionNumber?: number
  lastSectionNumber?: number
}

export function patSection(options: PatOptions): Buffer {
  const loop = Buffer.alloc(options.programs.length * 4)
  options.programs.forEach((program, index) => {
    loop.writeUInt16BE(program.number, index * 4)
    loop.writeUInt16BE(0xe000 | program.pid, index * 4 + 2)
  })
  const numbers = [options.sectionNumber ?? 0, options.lastSectionNumber ?? 0]
  return longSection(0x00, options.transportStreamId ?? 1, options.version ?? 0, loop, numbers)
}

export interface PmtStreamOptions {
  type: number
  pid: number
  descriptors?: Buffer[]
}

export interface PmtOptions {
  programNumber: number
  version?: number
  pcrPid: number
  descriptors?: Buffer[]
  streams: PmtStreamOptions[]
}

export function pmtSection(options: PmtOptions): Buffer {
  const programInfo = Buffer.concat(options.descriptors ?? [])
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xe000 | options.pcrPid, 0)
  head.writeUInt16BE(0xf000 | programInfo.length, 2)

  const streams = options.streams.map((stream) => {
    const info = Buffer.concat(stream.descriptors ?? [])
    const entry = Buffer.alloc(5)
    entry[0] = stream.type
    entry.writeUInt16BE(0xe000 | stream.pid, 1)
    entry.writeUInt16BE(0xf000 | info.length, 3)
    return Buffer.concat([entry, info])
  })
  const content = Buffer.concat([head, programInfo, ...streams])
  return longSection(0x02, options.programNumber, options.version ?? 0, content)
}

export function descriptor(tag: number, data: Buffer | number[]): Buffer {
  const bytes = Buffer.from(data)
  return Buffer.concat([Buffer.from([tag, bytes.length]), bytes])
}

export function registrationDescriptor(formatIdentifier: string): Buffer {
  return descriptor(0x05, Buffer.from(formatIdentifier, 'latin1'))
}

export function languageDescriptor(code: string): Buffer {
  return descriptor(0x0a, Buffer.concat([Buffer.from(code, 'latin1'), Buffer.from([0])]))
}

/**
 * Builds an SCTE 35 splice_info_section with a splice_null command: table_id
 * 0xFC, section_syntax_indicator 0, and a CRC_32 over the whole section.
 */
export function scte35SpliceNull(): Buffer {
  const afterLength = Buffer.from([
    0x00, // protocol_version
    0x00, 0x00, 0x00, 0x00, 0x00, // encrypted_packet, encryption_algorithm, pts_adjustment
    0x00, // cw_index
    0xff, 0xf0, // tier 0xFFF, splice_command_length 0 (high bits)
    0x00, // splice_command_length (low bits)
    0x00, // splice_command_type: splice_null
    0x00, 0x00, // descriptor_loop_length
  ])
  const length = afterLength.length + 4
  const header = Buffer.from([0xfc, 0x30 | (length >> 8), length & 0xff])
  return withCrc(Buffer.concat([header, afterLength]))
}

/**
 * Packs sections back to back into packets of `pid`, as a multiplexer does:
 * a packet in which a section starts has payload_unit_start_indicator set
 * and a pointer_field to that start. The last packet is padded with 0xFF.
 */
export function psiPackets(pid: number, sections: readonly Buffer[], firstCc = 0): Buffer[] {
  const data = Buffer.concat(sections)
  const starts = new Set<number>()
  let position = 0
  for (const section of sections) {
    starts.add(position)
    position += section.length
  }

  const packets: Buffer[] = []
  let offset = 0
  while (offset < data.length) {
    const packet = Buffer.alloc(PACKET_SIZE, 0xff)
    // With the pointer_field, 183 bytes of section data fit in a packet.
    const firstStart = [...starts].find((start) => start >= offset && start < offset + 183)
    const unitStart = firstStart !== undefined
    packet[0] = 0x47
    packet[1] = (unitStart ? 0x40 : 0) | (pid >> 8)
    packet[2] = pid & 0xff
    packet[3] = 0x10 | ((firstCc + packets.length) & 0x0f)

    let write = 4
    let take = Math.min(PACKET_SIZE - write, data.length - offset)
    if (unitStart) {
      packet[write++] = firstStart - offset
      take = Math.min(take, PACKET_SIZE - write)
    } else {
      // A section may only start in a packet that points to it, so this
      // packet stops short of the next start and is padded.
      const nextStart = [...starts].find((start) => start > offset)
      if (nextStart !== undefined) take = Math.min(take, nextStart - offset)
    }
    data.copy(packet, write, offset, offset + take)
    offset += take
    packets.push(packet)
  }
  return packets
}

/** Feeds `data` to the analyzer in chunks of `size` bytes. */
export function feed(analyzer: TsAnalyzer, data: Buffer, size = 1316): void {
  for (let offset = 0; offset < data.length; offset += size) {
    analyzer.push(data.subarray(offset, offset + size))
  }
}

/**
 * Feeds whole packets with arrival times spread evenly over `durationMs`,
 * `perChunk` packets at a time.
 */
export function feedTimed(
  analyzer: TsAnalyzer,
  packets: readonly Buffer[],
  durationMs: number,
  perChunk = 7,
): void {
  for (let index = 0; index < packets.length; index += perChunk) {
    const chunk = Buffer.concat(packets.slice(index, index + perChunk))
    analyzer.push(chunk, (index * durationMs) / packets.length)
  }
}
