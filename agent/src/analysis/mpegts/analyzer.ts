// Incremental MPEG-TS analyzer: feed it the bytes of a stream as they arrive
// (UDP datagrams, SRT reads, HLS segments) and read the first-priority
// checks of ETSI TR 101 290 V1.4.1 (5.2.1), the programme tables and the
// per-PID counts from snapshot(). Pure: it does no I/O and reads no clock,
// and time comes from the caller's arrival times or from the PCR (see
// clock.ts).
//
//   const analyzer = new TsAnalyzer()
//   socket.on('message', (datagram) => analyzer.push(datagram, Date.now()))
//   const report = analyzer.snapshot()   // then analyzer.reset() for the next window

import { CLOCK_SOURCE, pcrStepMs, StreamClock } from './clock.ts'
import { CC_STATUS, ContinuityChecker } from './continuity.ts'
import { NULL_PID, parsePacketHeader, TS_PACKET_SIZE, type TsPacketHeader } from './packet.ts'
import {
  DEFAULT_PID_TIMEOUT_MS,
  ProgramTable,
  type ProgramInfo,
  type StreamInfo,
} from './programs.ts'
import {
  PID_USE,
  type PidUse,
  type TsErrorCounts,
  type TsPidReport,
  type TsProgramReport,
  type TsReport,
  type TsStreamReport,
} from './report.ts'
import { PacketSync } from './sync.ts'

export interface TsAnalyzerOptions {
  /**
   * Time in ms without packets after which an audio or video PID counts a
   * PID_error (1.6). Default 5000.
   */
  pidTimeoutMs?: number
  /**
   * Receives each elementary stream packet (not PAT, PMT or null) that has a
   * payload and passed the checks: no transport_error_indicator, a readable
   * adaptation field and no duplicate. The PES reader of the probe uses it.
   */
  onPayload?: (packet: Buffer, header: TsPacketHeader) => void
}

interface PidStats {
  packets: number
  continuityCountErrors: number
  scrambledPackets: number
  pcrCount: number
  maxPcrGapMs: number | undefined
  /** Kept across windows, so the first gap of a window is measured too. */
  lastPcr: number | undefined
}

/** Clock readings that bound the window, with the packet count at each. */
interface WindowSample {
  ms: number
  packets: number
}

export class TsAnalyzer {
  private readonly sync = new PacketSync((packet) => this.handlePacket(packet))
  private readonly continuity = new ContinuityChecker()
  private readonly clock = new StreamClock()
  private readonly tables: ProgramTable
  private readonly pidStats = new Map<number, PidStats>()
  private readonly onPayload: ((packet: Buffer, header: TsPacketHeader) => void) | undefined

  private bytes = 0
  private packets = 0
  private continuityCountErrors = 0
  private transportErrors = 0
  private windowStart: WindowSample | undefined
  private windowEnd: WindowSample | undefined

  constructor(options: TsAnalyzerOptions = {}) {
    const pidTimeoutMs = options.pidTimeoutMs ?? DEFAULT_PID_TIMEOUT_MS
    if (!(pidTimeoutMs > 0)) {
      throw new RangeError(`pidTimeoutMs must be a positive number of ms, got ${pidTimeoutMs}`)
    }
    this.tables = new ProgramTable(pidTimeoutMs)
    this.onPayload = options.onPayload
  }

  /** Returns the elementary stream that a PMT in use lists on `pid`, if any. */
  streamOf(pid: number): StreamInfo | undefined {
    return this.tables.streamOf(pid)
  }

  /**
   * Analyzes the next bytes of the stream. `atMs` is the wall-clock time at
   * which they arrived. The first call decides the time base: with `atMs`
   * the analyzer uses arrival times from then on, and without it the PCR.
   */
  push(chunk: Buffer, atMs?: number): void {
    if (this.clock.arrive(atMs)) this.checkTimers()

    this.bytes += chunk.length
    this.sync.push(chunk)

    // The chunk's packets arrived by atMs, so they belong to the time span
    // that ends there.
    if (this.clock.source === CLOCK_SOURCE.arrival && atMs !== undefined) this.sampleWindow()
  }

  /** Starts a new window: counts go to zero, while sync, tables and timers carry on. */
  reset(): void {
    this.bytes = 0
    this.packets = 0
    this.continuityCountErrors = 0
    this.transportErrors = 0
    this.windowStart = undefined
    this.windowEnd = undefined
    this.sync.resetCounters()
    this.tables.resetCounters()

    for (const [pid, stats] of this.pidStats) {
      if (stats.lastPcr === undefined) this.pidStats.delete(pid)
      else this.pidStats.set(pid, { ...emptyStats(), lastPcr: stats.lastPcr })
    }
  }

  snapshot(): TsReport {
    const durationMs = this.durationMs()
    const streamPids = this.tables.streamPids()

    return {
      clock: this.clock.source,
      inSync: this.sync.inSync,
      durationMs,
      bytes: this.bytes,
      discardedBytes: this.sync.counters.discardedBytes,
      packets: this.packets,
      bitrate: this.windowBitrate(),
      transportStreamId: this.tables.transportStreamId,
      patVersion: this.tables.patVersion,
      errors: this.errorCounts(),
      programs: this.tables.programList().map((program) => this.programReport(program, durationMs)),
      pids: [...this.pidStats.entries()]
        .filter(([, stats]) => stats.packets > 0)
        .sort(([a], [b]) => a - b)
        .map(([pid, stats]) => this.pidReport(pid, stats, streamPids, durationMs)),
    }
  }

  private handlePacket(packet: Buffer): void {
    const header = parsePacketHeader(packet)
    const stats = this.statsFor(header.pid)
    this.packets += 1
    stats.packets += 1

    // A packet flagged as damaged is counted under the PID in its header and
    // otherwise skipped, because no field of that header can be trusted.
    if (header.transportError) {
      this.transportErrors += 1
      return
    }

    if (header.pcr !== undefined) this.handlePcr(header, stats)
    if (header.pid === NULL_PID) return

    const nowMs = this.clock.nowMs
    this.tables.markSeen(header.pid, nowMs)
    if (header.scrambling !== 0) stats.scrambledPackets += 1

    const cc = this.continuity.check(header)
    if (cc === CC_STATUS.error) {
      this.continuityCountErrors += 1
      stats.continuityCountErrors += 1
    }

    if (this.tables.isPsiPid(header.pid)) {
      this.tables.handlePsiPacket(packet, header, cc, nowMs)
      return
    }
    if (this.onPayload !== undefined && header.hasPayload && !header.malformed && cc !== CC_STATUS.duplicate) {
      this.onPayload(packet, header)
    }
  }

  private handlePcr(header: TsPacketHeader, stats: PidStats): void {
    const pcr = header.pcr!
    stats.pcrCount += 1

    const previous = stats.lastPcr
    stats.lastPcr = pcr
    if (previous !== undefined && !header.discontinuity) {
      const gapMs = pcrStepMs(previous, pcr)
      if (gapMs !== undefined) stats.maxPcrGapMs = Math.max(stats.maxPcrGapMs ?? 0, gapMs)
    }

    if (this.clock.pcr(header.pid, pcr, header.discontinuity)) {
      this.checkTimers()
      this.sampleWindow()
    }
  }

  private checkTimers(): void {
    const nowMs = this.clock.nowMs
    if (nowMs !== undefined) this.tables.checkTimers(nowMs)
  }

  private sampleWindow(): void {
    const nowMs = this.clock.nowMs
    if (nowMs === undefined) return

    const sample = { ms: nowMs, packets: this.packets }
    this.windowStart ??= sample
    this.windowEnd = sample
  }

  private durationMs(): number {
    if (this.windowStart === undefined || this.windowEnd === undefined) return 0
    return this.windowEnd.ms - this.windowStart.ms
  }

  private windowBitrate(): number {
    const durationMs = this.durationMs()
    if (durationMs <= 0 || this.windowStart === undefined || this.windowEnd === undefined) return 0

    const packets = this.windowEnd.packets - this.windowStart.packets
    return Math.round((packets * TS_PACKET_SIZE * 8 * 1000) / durationMs)
  }

  private errorCounts(): TsErrorCounts {
    const sync = this.sync.counters
    const psi = this.tables.errors
    return {
      syncLoss: sync.syncLosses,
      syncByteError: sync.syncByteErrors,
      patError: psi.patError,
      continuityCountError: this.continuityCountErrors,
      pmtError: psi.pmtError,
      pidError: psi.pidError,
      transportError: this.transportErrors,
      crcError: psi.crcError,
    }
  }

  private programReport(program: ProgramInfo, durationMs: number): TsProgramReport {
    const pmt = program.pmt
    const pcrStats = pmt?.pcrPid === undefined ? undefined : this.pidStats.get(pmt.pcrPid)

    return {
      programNumber: program.programNumber,
      pmtPid: program.pmtPid,
      pmtVersion: pmt?.version,
      empty: pmt !== undefined && pmt.streams.length === 0,
      registration: pmt?.registration,
      pcrPid: pmt?.pcrPid,
      pcrCount: pcrStats?.pcrCount ?? 0,
      maxPcrGapMs: pcrStats?.maxPcrGapMs === undefined ? undefined : round(pcrStats.maxPcrGapMs, 3),
      pmtErrors: this.tables.pmtErrorsOf(program.programNumber),
      streams: (pmt?.streams ?? []).map((stream) => this.streamReport(stream, durationMs)),
    }
  }

  private streamReport(stream: StreamInfo, durationMs: number): TsStreamReport {
    const stats = this.pidStats.get(stream.pid)
    const packets = stats?.packets ?? 0

    return {
      ...stream,
      languages: [...stream.languages],
      packets,
      // Per-PID rates divide the window's packets by its duration, so they
      // may include packets that arrived just before the first clock reading.
      bitrate: rate(packets, durationMs),
      continuityCountErrors: stats?.continuityCountErrors ?? 0,
      pidErrors: this.tables.pidErrorsOf(stream.pid),
    }
  }

  private pidReport(
    pid: number,
    stats: PidStats,
    streamPids: Set<number>,
    durationMs: number,
  ): TsPidReport {
    return {
      pid,
      use: this.pidUse(pid, streamPids),
      packets: stats.packets,
      bitrate: rate(stats.packets, durationMs),
      continuityCountErrors: stats.continuityCountErrors,
      scrambledPackets: stats.scrambledPackets,
    }
  }

  private pidUse(pid: number, streamPids: Set<number>): PidUse {
    if (pid === 0) return PID_USE.pat
    if (pid === NULL_PID) return PID_USE.null
    if (this.tables.isPmtPid(pid)) return PID_USE.pmt
    if (streamPids.has(pid)) return PID_USE.stream
    return PID_USE.other
  }

  private statsFor(pid: number): PidStats {
    let stats = this.pidStats.get(pid)
    if (stats === undefined) {
      stats = emptyStats()
      this.pidStats.set(pid, stats)
    }
    return stats
  }
}

function emptyStats(): PidStats {
  return {
    packets: 0,
    continuityCountErrors: 0,
    scrambledPackets: 0,
    pcrCount: 0,
    maxPcrGapMs: undefined,
    lastPcr: undefined,
  }
}

function rate(packets: number, durationMs: number): number {
  return durationMs > 0 ? Math.round((packets * TS_PACKET_SIZE * 8 * 1000) / durationMs) : 0
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
