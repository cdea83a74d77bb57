// The shape of TsAnalyzer.snapshot(). Counts and rates cover the window
// since the analyzer was created or last reset. Programmes and streams are
// the tables in use at the snapshot.

import type { ClockSource } from './clock.ts'
import type { StreamKind } from './stream-types.ts'

/** Error counts named after ETSI TR 101 290 V1.4.1, 5.2.1 and 5.2.2. */
export interface TsErrorCounts {
  /** 1.1 TS_sync_loss. */
  syncLoss: number
  /** 1.2 Sync_byte_error. */
  syncByteError: number
  /**
   * 1.3 PAT_error: PAT missing for more than 0.5 s, another table_id on
   * PID 0, or scrambled PID 0.
   */
  patError: number
  /** 1.4 Continuity_count_error. */
  continuityCountError: number
  /** 1.5 PMT_error: a PMT missing for more than 0.5 s, or scrambled PMT packets. */
  pmtError: number
  /** 1.6 PID_error: an audio or video PID without packets for longer than the PID timeout. */
  pidError: number
  /** 2.1 Transport_error: packets with transport_error_indicator set. */
  transportError: number
  /** 2.2 CRC_error in PAT and PMT sections. */
  crcError: number
}

export interface TsStreamReport {
  pid: number
  streamType: number
  kind: StreamKind
  /** FFmpeg's codec name where it has one, e.g. h264, aac, scte_35. */
  codec: string
  /** ISO 639-2 codes from the ISO_639_language_descriptor. */
  languages: string[]
  /** format_identifier of the stream's registration descriptor, e.g. CUEI. */
  registration: string | undefined
  /** True for audio and video, which PID_error watches. Data streams may stay silent. */
  monitored: boolean
  packets: number
  /** Bit/s over the window. */
  bitrate: number
  continuityCountErrors: number
  pidErrors: number
}

export interface TsProgramReport {
  programNumber: number
  pmtPid: number
  /** version_number of the PMT in use, undefined until a PMT has arrived. */
  pmtVersion: number | undefined
  /** A PMT arrived and lists no elementary stream. */
  empty: boolean
  /** format_identifier of the programme's registration descriptor, e.g. CUEI. */
  registration: string | undefined
  /** PCR_PID, or undefined without a PMT or when the PMT gives 0x1FFF (no PCR). */
  pcrPid: number | undefined
  /** PCRs seen on pcrPid in the window. */
  pcrCount: number
  /** Maximum step between consecutive PCRs on pcrPid, undefined with fewer than two PCRs. */
  maxPcrGapMs: number | undefined
  pmtErrors: number
  streams: TsStreamReport[]
}

export const PID_USE = {
  pat: 'pat',
  pmt: 'pmt',
  /** An elementary stream listed in a PMT. */
  stream: 'stream',
  null: 'null',
  /** Listed in no table that the analyzer reads (CAT, NIT, SDT, EIT and the like, or stray). */
  other: 'other',
} as const

export type PidUse = (typeof PID_USE)[keyof typeof PID_USE]

export interface TsPidReport {
  pid: number
  use: PidUse
  packets: number
  /** Bit/s over the window. */
  bitrate: number
  continuityCountErrors: number
  /** Packets with transport_scrambling_control other than 00. */
  scrambledPackets: number
}

export interface TsReport {
  /** Time source: arrival times passed to push(), the PCR, or none yet. */
  clock: ClockSource
  /** Whether the framer is in sync at the snapshot. */
  inSync: boolean
  /** Time between the first and the last clock reading of the window, ms. */
  durationMs: number
  /** Bytes passed to push(). */
  bytes: number
  /** Bytes skipped while searching for sync. */
  discardedBytes: number
  /** Packets that started with the sync byte. */
  packets: number
  /** Bit/s of those packets between the first and the last clock reading. */
  bitrate: number
  /** transport_stream_id of the PAT in use. */
  transportStreamId: number | undefined
  patVersion: number | undefined
  errors: TsErrorCounts
  /** Programmes of the PAT in use, by programme number. */
  programs: TsProgramReport[]
  /** PIDs with packets in the window, by PID. */
  pids: TsPidReport[]
}
