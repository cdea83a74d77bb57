// The programme tables (PAT and PMTs) and the errors tied to them in
// ETSI TR 101 290 V1.4.1, 5.2.1:
//
// - 1.3 PAT_error: no section with table_id 0x00 on PID 0 for more than
//   0.5 s, a section with another table_id on PID 0, or a packet on PID 0
//   whose transport_scrambling_control is not 00.
// - 1.5 PMT_error: for a programme in the PAT, no section with table_id 0x02
//   on its PMT PID for more than 0.5 s, or a scrambled packet on that PID.
// - 1.6 PID_error: a PID that a PMT lists carries no packet for a period
//   that the user sets. Only audio and video PIDs are watched, because
//   SCTE 35, subtitles and other data stay silent for long stretches by
//   design.
// - 2.2 CRC_error: a PAT or PMT section whose CRC_32 does not match. Such a
//   section is dropped and does not count as an occurrence of its table.

import { CC_STATUS, type CcStatus } from './continuity.ts'
import { GapTimer } from './gap-timer.ts'
import { NULL_PID, PAT_PID, type TsPacketHeader } from './packet.ts'
import { SectionAssembler } from './sections.ts'
import {
  classifyStream,
  languagesOf,
  registrationOf,
  STREAM_KIND,
  type StreamKind,
} from './stream-types.ts'
import {
  hasValidCrc,
  parsePat,
  parsePmt,
  TABLE_ID,
  type PatEntry,
  type PmtSection,
} from './tables.ts'

export const PAT_TIMEOUT_MS = 500
export const PMT_TIMEOUT_MS = 500
/** Default PID_error period, because TR 101 290 leaves the value to the user. */
export const DEFAULT_PID_TIMEOUT_MS = 5_000

export interface StreamInfo {
  pid: number
  streamType: number
  kind: StreamKind
  codec: string
  languages: string[]
  registration: string | undefined
  /** Watched for PID_error. */
  monitored: boolean
}

export interface PmtInfo {
  version: number
  /** undefined when PCR_PID is 0x1FFF. */
  pcrPid: number | undefined
  registration: string | undefined
  streams: StreamInfo[]
}

export interface ProgramInfo {
  programNumber: number
  pmtPid: number
  /** undefined until a valid PMT has arrived. */
  pmt: PmtInfo | undefined
}

export interface PsiErrorCounts {
  patError: number
  pmtError: number
  pidError: number
  crcError: number
}

interface ProgramState extends ProgramInfo {
  pmtTimer: GapTimer
  /** The section that `pmt` was parsed from, to skip unchanged repeats. */
  pmtSection: Buffer | undefined
  pmtErrors: number
}

/** PAT sections of one version, collected until every section_number has arrived. */
interface PatParts {
  transportStreamId: number
  version: number
  lastSectionNumber: number
  sections: Map<number, PatEntry[]>
}

export class ProgramTable {
  readonly errors: PsiErrorCounts = { patError: 0, pmtError: 0, pidError: 0, crcError: 0 }
  transportStreamId: number | undefined
  patVersion: number | undefined

  private readonly patTimer = new GapTimer(PAT_TIMEOUT_MS, undefined)
  private patParts: PatParts | undefined
  private patKey: string | undefined
  private readonly programs = new Map<number, ProgramState>()
  /** PMT PID to the programmes whose PMT it carries. */
  private readonly pmtPrograms = new Map<number, ProgramState[]>()
  private readonly assemblers = new Map<number, SectionAssembler>()
  private readonly watchedPids = new Map<number, GapTimer>()
  private readonly pidErrors = new Map<number, number>()

  constructor(private readonly pidTimeoutMs: number) {}

  isPsiPid(pid: number): boolean {
    return pid === PAT_PID || this.pmtPrograms.has(pid)
  }

  isPmtPid(pid: number): boolean {
    return this.pmtPrograms.has(pid)
  }

  /** Feeds a packet of PID 0 or of a PMT PID, after its continuity check. */
  handlePsiPacket(
    packet: Buffer,
    header: TsPacketHeader,
    cc: CcStatus,
    nowMs: number | undefined,
  ): void {
    if (header.scrambling !== 0) {
      this.countScrambled(header.pid)
      return
    }

    const assembler = this.assemblerFor(header.pid)
    // A lost or unreadable packet leaves a hole in the section in progress.
    if (cc === CC_STATUS.error || header.malformed) assembler.abort()
    if (cc === CC_STATUS.duplicate || !header.hasPayload || header.malformed) return

    const payload = packet.subarray(header.payloadOffset)
    for (const section of assembler.push(payload, header.unitStart)) {
      if (header.pid === PAT_PID) this.handlePatSection(section, nowMs)
      else this.handlePmtSection(header.pid, section, nowMs)
    }
  }

  /** Records a packet of `pid` for the PID_error watch. */
  markSeen(pid: number, nowMs: number | undefined): void {
    const timer = this.watchedPids.get(pid)
    if (timer?.occur(nowMs)) this.countPidError(pid)
  }

  /** Counts the PAT, PMT and PID gaps that have grown past their limits by `nowMs`. */
  checkTimers(nowMs: number): void {
    if (this.patTimer.check(nowMs)) this.errors.patError += 1

    for (const program of this.programs.values()) {
      if (program.pmtTimer.check(nowMs)) this.countPmtError(program)
    }

    for (const [pid, timer] of this.watchedPids) {
      if (timer.check(nowMs)) this.countPidError(pid)
    }
  }

  /** Zeroes the error counts. Tables, timers and partial sections stay. */
  resetCounters(): void {
    this.errors.patError = 0
    this.errors.pmtError = 0
    this.errors.pidError = 0
    this.errors.crcError = 0
    this.pidErrors.clear()
    this.patTimer.rearm()

    for (const program of this.programs.values()) {
      program.pmtErrors = 0
      program.pmtTimer.rearm()
    }
    for (const timer of this.watchedPids.values()) timer.rearm()
  }

  /** Programmes of the PAT in use, by programme number. */
  programList(): ProgramInfo[] {
    return [...this.programs.values()]
      .sort((a, b) => a.programNumber - b.programNumber)
      .map(({ programNumber, pmtPid, pmt }) => ({ programNumber, pmtPid, pmt }))
  }

  pmtErrorsOf(programNumber: number): number {
    return this.programs.get(programNumber)?.pmtErrors ?? 0
  }

  pidErrorsOf(pid: number): number {
    return this.pidErrors.get(pid) ?? 0
  }

  /** Returns the elementary stream that a PMT in use lists on `pid`, if any. */
  streamOf(pid: number): StreamInfo | undefined {
    for (const program of this.programs.values()) {
      const stream = program.pmt?.streams.find((candidate) => candidate.pid === pid)
      if (stream !== undefined) return stream
    }
    return undefined
  }

  /** PIDs that a PMT in use lists as elementary streams. */
  streamPids(): Set<number> {
    const pids = new Set<number>()
    for (const program of this.programs.values()) {
      for (const stream of program.pmt?.streams ?? []) pids.add(stream.pid)
    }
    return pids
  }

  private assemblerFor(pid: number): SectionAssembler {
    let assembler = this.assemblers.get(pid)
    if (assembler === undefined) {
      assembler = new SectionAssembler()
      this.assemblers.set(pid, assembler)
    }
    return assembler
  }

  private countScrambled(pid: number): void {
    if (pid === PAT_PID) {
      this.errors.patError += 1
      return
    }
    for (const program of this.pmtPrograms.get(pid) ?? []) this.countPmtError(program)
  }

  private countPmtError(program: ProgramState): void {
    this.errors.pmtError += 1
    program.pmtErrors += 1
  }

  private countPidError(pid: number): void {
    this.errors.pidError += 1
    this.pidErrors.set(pid, this.pidErrorsOf(pid) + 1)
  }

  /** Reports whether a long-form section fails its CRC, and counts it. */
  private failsCrc(section: Buffer): boolean {
    const longForm = (section[1]! & 0x80) !== 0
    if (!longForm || hasValidCrc(section)) return false
    this.errors.crcError += 1
    return true
  }

  private handlePatSection(section: Buffer, nowMs: number | undefined): void {
    if (this.failsCrc(section)) return
    if (section[0] !== TABLE_ID.pat) {
      this.errors.patError += 1
      return
    }

    const pat = parsePat(section)
    if (pat === undefined) return
    if (this.patTimer.occur(nowMs)) this.errors.patError += 1
    if (!pat.current || pat.sectionNumber > pat.lastSectionNumber) return

    const parts = this.collectPat(pat.tableIdExtension, pat.version, pat.lastSectionNumber)
    parts.sections.set(pat.sectionNumber, pat.entries)
    if (parts.sections.size === parts.lastSectionNumber + 1) this.applyPat(parts, nowMs)
  }

  private collectPat(
    transportStreamId: number,
    version: number,
    lastSectionNumber: number,
  ): PatParts {
    const parts = this.patParts
    const same =
      parts !== undefined &&
      parts.transportStreamId === transportStreamId &&
      parts.version === version &&
      parts.lastSectionNumber === lastSectionNumber
    if (same) return parts

    this.patParts = { transportStreamId, version, lastSectionNumber, sections: new Map() }
    return this.patParts
  }

  private applyPat(parts: PatParts, nowMs: number | undefined): void {
    const entries: PatEntry[] = []
    for (let number = 0; number <= parts.lastSectionNumber; number++) {
      entries.push(...(parts.sections.get(number) ?? []))
    }

    // Repeats of the PAT in use change nothing.
    const key = JSON.stringify([parts.transportStreamId, parts.version, entries])
    if (key === this.patKey) return
    this.patKey = key
    this.transportStreamId = parts.transportStreamId
    this.patVersion = parts.version

    this.updatePrograms(entries, nowMs)
    this.indexPmtPids()
    this.updateWatchedPids(nowMs)
  }

  /** Adds the PAT's new programmes, drops the ones it no longer lists or that moved PID. */
  private updatePrograms(entries: readonly PatEntry[], nowMs: number | undefined): void {
    const listed = new Map<number, number>()
    // programme_number 0 gives the network PID (NIT), not a programme.
    for (const entry of entries) {
      if (entry.programNumber !== 0) listed.set(entry.programNumber, entry.pid)
    }

    for (const [number, program] of this.programs) {
      if (listed.get(number) !== program.pmtPid) this.programs.delete(number)
    }

    for (const [programNumber, pmtPid] of listed) {
      if (this.programs.has(programNumber)) continue
      this.programs.set(programNumber, {
        programNumber,
        pmtPid,
        pmt: undefined,
        pmtTimer: new GapTimer(PMT_TIMEOUT_MS, nowMs),
        pmtSection: undefined,
        pmtErrors: 0,
      })
    }
  }

  private indexPmtPids(): void {
    this.pmtPrograms.clear()
    for (const program of this.programs.values()) {
      const list = this.pmtPrograms.get(program.pmtPid) ?? []
      list.push(program)
      this.pmtPrograms.set(program.pmtPid, list)
    }

    for (const pid of this.assemblers.keys()) {
      if (!this.isPsiPid(pid)) this.assemblers.delete(pid)
    }
  }

  private handlePmtSection(pid: number, section: Buffer, nowMs: number | undefined): void {
    // Other tables may share a PMT PID, and only PMT sections matter here.
    if (section[0] !== TABLE_ID.pmt) return
    if (this.failsCrc(section)) return

    const pmt = parsePmt(section)
    if (pmt === undefined) return

    // A PMT for a programme that the PAT does not list on this PID is ignored.
    const program = this.programs.get(pmt.programNumber)
    if (program === undefined || program.pmtPid !== pid) return

    if (program.pmtTimer.occur(nowMs)) this.countPmtError(program)
    if (!pmt.current || pmt.sectionNumber !== 0) return
    if (program.pmtSection?.equals(section)) return

    program.pmtSection = section
    program.pmt = describePmt(pmt)
    this.updateWatchedPids(nowMs)
  }

  /** Starts watching newly listed audio and video PIDs and stops watching dropped ones. */
  private updateWatchedPids(nowMs: number | undefined): void {
    const expected = new Set<number>()
    for (const program of this.programs.values()) {
      for (const stream of program.pmt?.streams ?? []) {
        if (stream.monitored) expected.add(stream.pid)
      }
    }

    for (const pid of this.watchedPids.keys()) {
      if (!expected.has(pid)) this.watchedPids.delete(pid)
    }
    for (const pid of expected) {
      if (this.watchedPids.has(pid)) continue
      this.watchedPids.set(pid, new GapTimer(this.pidTimeoutMs, nowMs))
    }
  }
}

function describePmt(pmt: PmtSection): PmtInfo {
  return {
    version: pmt.version,
    pcrPid: pmt.pcrPid === NULL_PID ? undefined : pmt.pcrPid,
    registration: registrationOf(pmt.descriptors),
    streams: pmt.streams.map((entry) => {
      const { kind, codec } = classifyStream(entry.streamType, entry.descriptors)
      return {
        pid: entry.pid,
        streamType: entry.streamType,
        kind,
        codec,
        languages: languagesOf(entry.descriptors),
        registration: registrationOf(entry.descriptors),
        monitored: kind === STREAM_KIND.video || kind === STREAM_KIND.audio,
      }
    }),
  }
}
