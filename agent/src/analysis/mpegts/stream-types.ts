// Classification of elementary streams by their PMT stream_type and
// descriptors. Codec names follow FFmpeg's where FFmpeg has one, so they
// match the codecs that ffprobe reports for the same stream.

import type { Descriptor } from './tables.ts'

export const STREAM_KIND = {
  video: 'video',
  audio: 'audio',
  subtitle: 'subtitle',
  /** SCTE 35 splice information: sections only around splice events. */
  scte35: 'scte35',
  /** Metadata, private sections, DSM-CC and private data of unknown format. */
  data: 'data',
  /** A stream_type this module does not know. */
  other: 'other',
} as const

export type StreamKind = (typeof STREAM_KIND)[keyof typeof STREAM_KIND]

export interface StreamClass {
  kind: StreamKind
  codec: string
}

/** Descriptor tags used here: ISO/IEC 13818-1 (below 0x40) and ETSI EN 300 468. */
export const DESCRIPTOR_TAG = {
  registration: 0x05,
  iso639Language: 0x0a,
  teletext: 0x56,
  subtitling: 0x59,
  ac3: 0x6a,
  enhancedAc3: 0x7a,
  dts: 0x7b,
  aac: 0x7c,
} as const

const BY_STREAM_TYPE: ReadonlyMap<number, StreamClass> = new Map([
  [0x01, { kind: STREAM_KIND.video, codec: 'mpeg1video' }],
  [0x02, { kind: STREAM_KIND.video, codec: 'mpeg2video' }],
  // MPEG-1 and MPEG-2 audio: the stream_type does not tell Layer II from
  // Layer III, so the name stays generic.
  [0x03, { kind: STREAM_KIND.audio, codec: 'mpeg_audio' }],
  [0x04, { kind: STREAM_KIND.audio, codec: 'mpeg_audio' }],
  [0x05, { kind: STREAM_KIND.data, codec: 'private_sections' }],
  [0x0b, { kind: STREAM_KIND.data, codec: 'dsmcc' }],
  [0x0c, { kind: STREAM_KIND.data, codec: 'dsmcc' }],
  [0x0d, { kind: STREAM_KIND.data, codec: 'dsmcc' }],
  [0x0f, { kind: STREAM_KIND.audio, codec: 'aac' }],
  [0x10, { kind: STREAM_KIND.video, codec: 'mpeg4' }],
  [0x11, { kind: STREAM_KIND.audio, codec: 'aac_latm' }],
  [0x15, { kind: STREAM_KIND.data, codec: 'metadata' }],
  [0x1b, { kind: STREAM_KIND.video, codec: 'h264' }],
  [0x24, { kind: STREAM_KIND.video, codec: 'hevc' }],
  [0x33, { kind: STREAM_KIND.video, codec: 'vvc' }],
  [0x42, { kind: STREAM_KIND.video, codec: 'cavs' }],
  [0x81, { kind: STREAM_KIND.audio, codec: 'ac3' }],
  [0x86, { kind: STREAM_KIND.scte35, codec: 'scte_35' }],
  [0x87, { kind: STREAM_KIND.audio, codec: 'eac3' }],
  [0xd1, { kind: STREAM_KIND.video, codec: 'dirac' }],
  [0xea, { kind: STREAM_KIND.video, codec: 'vc1' }],
])

/** format_identifier values of the registration descriptor (SMPTE-RA registry). */
const BY_REGISTRATION: ReadonlyMap<string, StreamClass> = new Map([
  ['CUEI', { kind: STREAM_KIND.scte35, codec: 'scte_35' }],
  ['AC-3', { kind: STREAM_KIND.audio, codec: 'ac3' }],
  ['EAC3', { kind: STREAM_KIND.audio, codec: 'eac3' }],
  ['DTS1', { kind: STREAM_KIND.audio, codec: 'dts' }],
  ['DTS2', { kind: STREAM_KIND.audio, codec: 'dts' }],
  ['DTS3', { kind: STREAM_KIND.audio, codec: 'dts' }],
  ['Opus', { kind: STREAM_KIND.audio, codec: 'opus' }],
  ['BSSD', { kind: STREAM_KIND.audio, codec: 's302m' }],
  ['HEVC', { kind: STREAM_KIND.video, codec: 'hevc' }],
  ['AV01', { kind: STREAM_KIND.video, codec: 'av1' }],
  ['VC-1', { kind: STREAM_KIND.video, codec: 'vc1' }],
  ['ID3 ', { kind: STREAM_KIND.data, codec: 'timed_id3' }],
  ['KLVA', { kind: STREAM_KIND.data, codec: 'klv' }],
])

/** DVB descriptors that identify the content of PES private data (stream_type 0x06). */
const BY_DVB_DESCRIPTOR: ReadonlyMap<number, StreamClass> = new Map([
  [DESCRIPTOR_TAG.ac3, { kind: STREAM_KIND.audio, codec: 'ac3' }],
  [DESCRIPTOR_TAG.enhancedAc3, { kind: STREAM_KIND.audio, codec: 'eac3' }],
  [DESCRIPTOR_TAG.dts, { kind: STREAM_KIND.audio, codec: 'dts' }],
  [DESCRIPTOR_TAG.aac, { kind: STREAM_KIND.audio, codec: 'aac' }],
  [DESCRIPTOR_TAG.teletext, { kind: STREAM_KIND.subtitle, codec: 'dvb_teletext' }],
  [DESCRIPTOR_TAG.subtitling, { kind: STREAM_KIND.subtitle, codec: 'dvb_subtitle' }],
])

const PES_PRIVATE_DATA = 0x06

/**
 * Classifies an elementary stream. A 'CUEI' registration marks SCTE 35
 * whatever the stream_type, because some muxers carry splice sections under
 * a private stream_type.
 */
export function classifyStream(
  streamType: number,
  descriptors: readonly Descriptor[],
): StreamClass {
  const registration = registrationOf(descriptors)
  if (registration === 'CUEI') return { kind: STREAM_KIND.scte35, codec: 'scte_35' }

  const known = BY_STREAM_TYPE.get(streamType)
  if (known) return { ...known }

  const registered = registration === undefined ? undefined : BY_REGISTRATION.get(registration)
  if (registered) return { ...registered }

  if (streamType === PES_PRIVATE_DATA) return classifyPrivateData(descriptors)
  return { kind: STREAM_KIND.other, codec: 'unknown' }
}

function classifyPrivateData(descriptors: readonly Descriptor[]): StreamClass {
  for (const descriptor of descriptors) {
    const known = BY_DVB_DESCRIPTOR.get(descriptor.tag)
    if (known) return { ...known }
  }
  return { kind: STREAM_KIND.data, codec: 'private_data' }
}

/**
 * Returns the format_identifier of the first registration descriptor as
 * text, or as 0x-prefixed hex when it is not printable ASCII.
 */
export function registrationOf(descriptors: readonly Descriptor[]): string | undefined {
  const descriptor = descriptors.find((d) => d.tag === DESCRIPTOR_TAG.registration)
  if (descriptor === undefined || descriptor.data.length < 4) return undefined

  const bytes = descriptor.data.subarray(0, 4)
  const printable = bytes.every((byte) => byte >= 0x20 && byte < 0x7f)
  return printable ? bytes.toString('latin1') : `0x${bytes.toString('hex')}`
}

/** Returns the ISO 639-2 language codes of the ISO_639_language_descriptors. */
export function languagesOf(descriptors: readonly Descriptor[]): string[] {
  const languages: string[] = []

  for (const descriptor of descriptors) {
    if (descriptor.tag !== DESCRIPTOR_TAG.iso639Language) continue
    // Each entry: ISO_639_language_code (3 bytes) and audio_type (1 byte).
    for (let offset = 0; offset + 4 <= descriptor.data.length; offset += 4) {
      const code = descriptor.data.subarray(offset, offset + 3).toString('latin1')
      if (/^[\x20-\x7e]{3}$/.test(code)) languages.push(code)
    }
  }
  return languages
}
