// Reads the PES packets of the elementary streams that TsAnalyzer passes on
// through its onPayload option. For each access unit it records the PID,
// PTS, DTS and payload size, and for H.264 whether it is a keyframe. It also
// reads the picture size from the SPS. These are the figures of ffprobe's
// packet list, without a child process. Pure: no I/O and no clock.
import { NAL_TYPE, parseSps, splitNalUnits } from './h264.ts'
import type { TsPacketHeader } from './packet.ts'
import type { StreamInfo } from './programs.ts'

/** PES timestamps count a 90 kHz clock. */
export const PES_CLOCK_HZ = 90_000
/** Bytes at the start of each H.264 access unit kept to find its NAL unit types and SPS. */
export const H264_HEAD_BYTES = 2048
/** Access units kept at most, so a long or broken input cannot grow memory without bound. */
export const DEFAULT_MAX_UNITS = 50_000

export interface AccessUnit {
  pid: number
  /** Presentation and decoding time stamps, in 90 kHz ticks; undefined when the PES header has none. */
  pts: number | undefined
  dts: number | undefined
  /** PES payload bytes (the access unit, without the PES header). */
  size: number
  /** An H.264 access unit with an IDR slice; always false for other codecs. */
  keyframe: boolean
}

export interface ElementaryStream {
  pid: number
  streamType: number
  kind: StreamInfo['kind']
  codec: string
  /** Picture size from the H.264 SPS; undefined until one was read, and for other codecs. */
  width: number | undefined
  height: number | undefined
  /** Access units read. */
  units: number
}

interface PendingUnit {
  stream: ElementaryStream
  pts: number | undefined
  dts: number | undefined
  /** Payload bytes received, PES header included. */
  bytes: number
  headerLength: number
  /** The first bytes of an H.264 access unit, else undefined. */
  head: Buffer | undefined
  headLength: number
}

export interface PesReaderOptions {
  /** The stream a PMT in use lists on a PID (TsAnalyzer.streamOf). */
  streamOf: (pid: number) => StreamInfo | undefined
  maxUnits?: number
}

export class PesReader {
  /** Access units in the order in which they ended. */
  readonly units: AccessUnit[] = []
  /** Streams with at least one PES start, in the order of their first one. */
  readonly streams = new Map<number, ElementaryStream>()
  /** PES starts whose header could not be read. */
  invalidHeaders = 0

  private readonly pending = new Map<number, PendingUnit>()
  private readonly streamOf: (pid: number) => StreamInfo | undefined
  private readonly maxUnits: number

  constructor(options: PesReaderOptions) {
    this.streamOf = options.streamOf
    this.maxUnits = options.maxUnits ?? DEFAULT_MAX_UNITS
  }

  /** Takes one transport packet with a payload; the analyzer has checked its header. */
  push(packet: Buffer, header: TsPacketHeader): void {
    const payload = packet.subarray(header.payloadOffset)
    if (header.unitStart) {
      this.finishUnit(header.pid)
      this.startUnit(header.pid, payload)
      return
    }
    const unit = this.pending.get(header.pid)
    if (unit === undefined) return
    unit.bytes += payload.length
    keepHead(unit, payload)
  }

  /** Ends the access units still open, as at the end of the input. */
  finish(): void {
    for (const pid of [...this.pending.keys()]) this.finishUnit(pid)
  }

  private startUnit(pid: number, payload: Buffer): void {
    const info = this.streamOf(pid)
    if (info === undefined) return
    const header = readPesHeader(payload)
    if (header === undefined) {
      this.invalidHeaders += 1
      return
    }

    let stream = this.streams.get(pid)
    if (stream === undefined || stream.streamType !== info.streamType) {
      stream = { pid, streamType: info.streamType, kind: info.kind, codec: info.codec, width: undefined, height: undefined, units: 0 }
      this.streams.set(pid, stream)
    }
    const unit: PendingUnit = {
      stream,
      pts: header.pts,
      dts: header.dts,
      bytes: payload.length,
      headerLength: header.length,
      head: info.codec === 'h264' ? Buffer.alloc(H264_HEAD_BYTES) : undefined,
      headLength: 0,
    }
    keepHead(unit, payload.subarray(Math.min(header.length, payload.length)))
    this.pending.set(pid, unit)
  }

  private finishUnit(pid: number): void {
    const unit = this.pending.get(pid)
    if (unit === undefined) return
    this.pending.delete(pid)
    if (this.units.length >= this.maxUnits) return

    const keyframe = unit.head !== undefined && this.readH264Head(unit.stream, unit.head.subarray(0, unit.headLength))
    unit.stream.units += 1
    this.units.push({
      pid,
      pts: unit.pts,
      dts: unit.dts,
      size: Math.max(0, unit.bytes - unit.headerLength),
      keyframe,
    })
  }

  /** Returns whether the access unit has an IDR slice; reads the picture size from its SPS. */
  private readH264Head(stream: ElementaryStream, head: Buffer): boolean {
    let keyframe = false
    for (const nal of splitNalUnits(head)) {
      if (nal.type === NAL_TYPE.idr) keyframe = true
      if (nal.type === NAL_TYPE.sps && stream.width === undefined) {
        try {
          const sps = parseSps(nal.data)
          stream.width = sps.width
          stream.height = sps.height
        } catch {
          // An SPS cut off by H264_HEAD_BYTES; a later access unit repeats it.
        }
      }
    }
    return keyframe
  }
}

function keepHead(unit: PendingUnit, bytes: Buffer): void {
  if (unit.head === undefined || unit.headLength >= unit.head.length) return
  const copied = bytes.copy(unit.head, unit.headLength, 0, Math.min(bytes.length, unit.head.length - unit.headLength))
  unit.headLength += copied
}

interface PesHeader {
  /** Bytes before the access unit data. */
  length: number
  pts: number | undefined
  dts: number | undefined
}

/** stream_ids whose PES packets have no optional header (ISO/IEC 13818-1, table 2-21). */
const NO_OPTIONAL_HEADER = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xf2, 0xf8, 0xff])

/** Reads the PES header at the start of a payload; undefined without the 0x000001 prefix. */
export function readPesHeader(payload: Buffer): PesHeader | undefined {
  if (payload.length < 6 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) return undefined
  if (NO_OPTIONAL_HEADER.has(payload[3]!)) return { length: 6, pts: undefined, dts: undefined }
  if (payload.length < 9) return undefined

  const flags = payload[7]!
  const length = 9 + payload[8]!
  const hasPts = (flags & 0x80) !== 0
  const hasDts = (flags & 0x40) !== 0
  const pts = hasPts && payload.length >= 14 ? readTimestamp(payload, 9) : undefined
  const dts = hasPts && hasDts && payload.length >= 19 ? readTimestamp(payload, 14) : undefined
  return { length, pts, dts }
}

/** Reads a 33-bit PTS or DTS field of 5 bytes, with its marker bits. */
function readTimestamp(data: Buffer, offset: number): number {
  return (
    ((data[offset]! >> 1) & 0x07) * 2 ** 30 +
    data[offset + 1]! * 2 ** 22 +
    ((data[offset + 2]! >> 1) & 0x7f) * 2 ** 15 +
    data[offset + 3]! * 2 ** 7 +
    ((data[offset + 4]! >> 1) & 0x7f)
  )
}
