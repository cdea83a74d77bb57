// Turns a TsAnalyzer report into the `ts` field of a metrics row, and the
// analyzer's access units into the packet list that computeMetrics reads.
import type { TsProgram, TsSummary } from '@monit/protocol'
import type { TsReport } from '../analysis/mpegts/report.ts'
import { PES_CLOCK_HZ, type AccessUnit, type ElementaryStream } from '../analysis/mpegts/pes.ts'
import type { ProbePacket, ProbeStreamInfo } from './metrics.ts'

/**
 * Programmes plus streams listed at most in one summary. A metrics batch
 * holds up to 200 rows in one WebSocket frame of at most 1 MiB, and 48
 * entries take about 3 KB of JSON.
 */
export const MAX_SUMMARY_ENTRIES = 48

/** Builds the protocol's TS summary of one probe window. */
export function summariseTs(report: TsReport): TsSummary {
  const programs: TsProgram[] = []
  let entries = 0
  for (const program of report.programs) {
    if (entries >= MAX_SUMMARY_ENTRIES) break
    entries += 1
    const streams = program.streams.slice(0, Math.max(0, MAX_SUMMARY_ENTRIES - entries)).map((stream) => ({
      pid: stream.pid,
      stream_type: stream.streamType,
      kind: stream.kind,
      codec: stream.codec.slice(0, 32),
    }))
    entries += streams.length
    programs.push({
      program_number: program.programNumber,
      pmt_pid: program.pmtPid,
      pcr_pid: program.pcrPid ?? null,
      streams,
    })
  }
  return {
    sync_loss: report.errors.syncLoss,
    pat_error: report.errors.patError,
    pmt_error: report.errors.pmtError,
    continuity_count_error: report.errors.continuityCountError,
    pid_error: report.errors.pidError,
    pcr: report.programs.some((program) => program.pcrCount > 0),
    programs,
  }
}

const TIMESTAMP_WRAP = 2 ** 33

/** ffprobe's codec_type for a stream kind; SCTE 35 and other data count as data, outside audio and video. */
function codecType(kind: ElementaryStream['kind']): string {
  if (kind === 'video' || kind === 'audio' || kind === 'subtitle') return kind
  return 'data'
}

export interface PacketWindow {
  packets: ProbePacket[]
  streams: ProbeStreamInfo[]
  /** Seconds of the first timed packet, as windowStart() reads it. */
  start: number | undefined
}

/**
 * Lists the access units as ffprobe's `-read_intervals %+sampleS` would: from
 * the first timed unit up to the first unit whose timestamp (DTS, else PTS)
 * is sampleS or more after it. Timestamps are unwrapped across the 33-bit wrap.
 */
export function packetWindow(units: readonly AccessUnit[], streams: readonly ElementaryStream[], sampleS: number): PacketWindow {
  const index = new Map(streams.map((stream, position) => [stream.pid, position]))
  const limit = sampleS * PES_CLOCK_HZ
  const packets: ProbePacket[] = []
  let first: number | undefined

  for (const unit of units) {
    const streamIndex = index.get(unit.pid)
    if (streamIndex === undefined) continue
    const ts = unit.dts ?? unit.pts
    let seconds: number | undefined
    if (ts !== undefined) {
      first ??= ts
      let offset = ts - first
      if (offset < -TIMESTAMP_WRAP / 2) offset += TIMESTAMP_WRAP
      if (offset >= limit) break
      seconds = (first + offset) / PES_CLOCK_HZ
    }
    const packet: ProbePacket = { stream_index: streamIndex, size: unit.size, flags: unit.keyframe ? 'K__' : '___' }
    if (seconds !== undefined) packet.dts_time = seconds
    if (unit.pts !== undefined && unit.dts !== undefined && seconds !== undefined) {
      packet.pts_time = seconds + (unit.pts - unit.dts) / PES_CLOCK_HZ
    }
    packets.push(packet)
  }

  const infos: ProbeStreamInfo[] = streams.map((stream, position) => {
    const info: ProbeStreamInfo = { index: position, codec_type: codecType(stream.kind), codec_name: stream.codec }
    if (stream.width !== undefined) info.width = stream.width
    if (stream.height !== undefined) info.height = stream.height
    return info
  })
  return { packets, streams: infos, start: first === undefined ? undefined : first / PES_CLOCK_HZ }
}
