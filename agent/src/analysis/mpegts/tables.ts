// Parsers for the program association section (PAT, table_id 0x00) and the
// TS program map section (PMT, table_id 0x02) of ISO/IEC 13818-1, 2.4.4.
// Each returns undefined for a section that does not fit its own length
// fields. hasValidCrc() checks the CRC separately.

import { crc32Mpeg } from './crc32.ts'
import { sectionLength } from './sections.ts'

export const TABLE_ID = {
  pat: 0x00,
  cat: 0x01,
  pmt: 0x02,
} as const

/** PAT and PMT sections may not be longer than 1024 bytes (section_length <= 1021). */
const MAX_PSI_SECTION_SIZE = 1024
/** table_id up to last_section_number. */
const LONG_HEADER_SIZE = 8
const CRC_SIZE = 4

/** The fields that every section with section_syntax_indicator = 1 has. */
export interface LongSectionHeader {
  tableId: number
  /** transport_stream_id in a PAT, program_number in a PMT. */
  tableIdExtension: number
  version: number
  /** current_next_indicator: false for a table that is not valid yet. */
  current: boolean
  sectionNumber: number
  lastSectionNumber: number
}

export interface Descriptor {
  tag: number
  data: Buffer
}

export interface PatEntry {
  /** program_number, where 0 means that the entry gives the network PID (NIT). */
  programNumber: number
  pid: number
}

export interface PatSection extends LongSectionHeader {
  entries: PatEntry[]
}

export interface PmtStreamEntry {
  streamType: number
  pid: number
  descriptors: Descriptor[]
}

export interface PmtSection extends LongSectionHeader {
  programNumber: number
  /** PCR_PID, 0x1FFF when the programme has no PCR. */
  pcrPid: number
  descriptors: Descriptor[]
  streams: PmtStreamEntry[]
}

/** Reports whether the CRC_32 at the end of a section matches its bytes. */
export function hasValidCrc(section: Buffer): boolean {
  return section.length >= CRC_SIZE && crc32Mpeg(section) === 0
}

export function parseLongHeader(section: Buffer): LongSectionHeader | undefined {
  if (section.length < LONG_HEADER_SIZE + CRC_SIZE) return undefined
  if ((section[1]! & 0x80) === 0) return undefined
  if (sectionLength(section) !== section.length) return undefined

  return {
    tableId: section[0]!,
    tableIdExtension: section.readUInt16BE(3),
    version: (section[5]! >> 1) & 0x1f,
    current: (section[5]! & 0x01) !== 0,
    sectionNumber: section[6]!,
    lastSectionNumber: section[7]!,
  }
}

export function parsePat(section: Buffer): PatSection | undefined {
  const header = parseLongHeader(section)
  if (header === undefined || header.tableId !== TABLE_ID.pat) return undefined
  if (section.length > MAX_PSI_SECTION_SIZE) return undefined

  const end = section.length - CRC_SIZE
  if ((end - LONG_HEADER_SIZE) % 4 !== 0) return undefined

  const entries: PatEntry[] = []
  for (let offset = LONG_HEADER_SIZE; offset < end; offset += 4) {
    entries.push({
      programNumber: section.readUInt16BE(offset),
      pid: section.readUInt16BE(offset + 2) & 0x1fff,
    })
  }
  return { ...header, entries }
}

export function parsePmt(section: Buffer): PmtSection | undefined {
  const header = parseLongHeader(section)
  if (header === undefined || header.tableId !== TABLE_ID.pmt) return undefined
  if (section.length > MAX_PSI_SECTION_SIZE || section.length < 12 + CRC_SIZE) return undefined

  const end = section.length - CRC_SIZE
  const pcrPid = section.readUInt16BE(8) & 0x1fff
  const infoLength = section.readUInt16BE(10) & 0x0fff
  const streamsStart = 12 + infoLength
  if (streamsStart > end) return undefined

  const descriptors = parseDescriptors(section.subarray(12, streamsStart))
  const streams = parseStreamLoop(section.subarray(streamsStart, end))
  if (descriptors === undefined || streams === undefined) return undefined

  return { ...header, programNumber: header.tableIdExtension, pcrPid, descriptors, streams }
}

function parseStreamLoop(loop: Buffer): PmtStreamEntry[] | undefined {
  const streams: PmtStreamEntry[] = []
  let offset = 0

  while (offset < loop.length) {
    if (offset + 5 > loop.length) return undefined
    const infoLength = loop.readUInt16BE(offset + 3) & 0x0fff
    const infoEnd = offset + 5 + infoLength
    if (infoEnd > loop.length) return undefined

    const descriptors = parseDescriptors(loop.subarray(offset + 5, infoEnd))
    if (descriptors === undefined) return undefined
    streams.push({
      streamType: loop[offset]!,
      pid: loop.readUInt16BE(offset + 1) & 0x1fff,
      descriptors,
    })
    offset = infoEnd
  }
  return streams
}

/** Splits a descriptor loop into tag and data (ISO/IEC 13818-1, 2.6). */
export function parseDescriptors(loop: Buffer): Descriptor[] | undefined {
  const descriptors: Descriptor[] = []
  let offset = 0

  while (offset < loop.length) {
    if (offset + 2 > loop.length) return undefined
    const length = loop[offset + 1]!
    const end = offset + 2 + length
    if (end > loop.length) return undefined

    descriptors.push({ tag: loop[offset]!, data: Buffer.from(loop.subarray(offset + 2, end)) })
    offset = end
  }
  return descriptors
}
