// HLS playlist parsing after RFC 8216: master playlists with their variants
// and renditions, media playlists with their segments. Pure: text in, objects
// out. Tags this module does not use are skipped. Recoverable faults (a
// malformed duration, a missing target duration) become warnings on the
// result, so one bad line does not hide the rest.
//
// NOTE: Low-latency HLS parts (EXT-X-PART, EXT-X-PRELOAD-HINT) and
// I-frame playlists are skipped; only full segments and variants are listed.
import {
  booleanAttribute,
  decimalAttribute,
  parseAttributeList,
  resolutionAttribute,
  type Resolution,
} from './attributes.ts'

export const RENDITION_TYPES = ['AUDIO', 'VIDEO', 'SUBTITLES', 'CLOSED-CAPTIONS'] as const
export type RenditionType = (typeof RENDITION_TYPES)[number]

export const PLAYLIST_TYPES = ['EVENT', 'VOD'] as const
export type PlaylistType = (typeof PLAYLIST_TYPES)[number]

/** One EXT-X-STREAM-INF entry of a master playlist. */
export interface Variant {
  /** Peak bit rate, bit/s. */
  bandwidth: number
  averageBandwidth?: number
  resolution?: Resolution
  /** Codec strings of the CODECS attribute, e.g. ["avc1.64001f", "mp4a.40.2"]. */
  codecs: string[]
  frameRate?: number
  /** GROUP-IDs of the renditions this variant plays with. */
  audioGroup?: string
  videoGroup?: string
  subtitlesGroup?: string
  /** The media playlist URI as written (may be relative). */
  uri: string
}

/** One EXT-X-MEDIA entry: an alternative audio, video or subtitle track. */
export interface Rendition {
  type: RenditionType
  groupId: string
  name: string
  language?: string
  /** Missing for renditions carried inside the variant streams. */
  uri?: string
  default: boolean
  autoselect: boolean
}

export interface MasterPlaylist {
  kind: 'master'
  version?: number
  variants: Variant[]
  renditions: Rendition[]
  warnings: string[]
}

export interface ByteRange {
  length: number
  /** First byte of the range, resolved from the previous segment when the tag omits it. */
  offset: number
}

export interface MediaSegment {
  /** Media sequence number: EXT-X-MEDIA-SEQUENCE plus the segment's position. */
  sequence: number
  /** EXTINF duration, seconds. */
  duration: number
  uri: string
  /** The segment follows an EXT-X-DISCONTINUITY tag. */
  discontinuity: boolean
  /** Discontinuity sequence number of the segment. */
  discontinuitySequence: number
  /** EXT-X-PROGRAM-DATE-TIME of the first sample, Unix milliseconds. */
  programDateTime?: number
  byteRange?: ByteRange
  /** Marked with EXT-X-GAP: the server declares it unavailable. */
  gap: boolean
}

export interface MediaPlaylist {
  kind: 'media'
  version?: number
  /** EXT-X-TARGETDURATION, seconds. */
  targetDuration: number
  mediaSequence: number
  discontinuitySequence: number
  playlistType?: PlaylistType
  /** EXT-X-ENDLIST was present: no more segments will be added. */
  endList: boolean
  segments: MediaSegment[]
  warnings: string[]
}

export type HlsPlaylist = MasterPlaylist | MediaPlaylist

/** The text is not an HLS playlist at all (no #EXTM3U header, or neither kind). */
export class PlaylistParseError extends Error {
  override name = 'PlaylistParseError'
}

/** Parses a master or media playlist; throws PlaylistParseError for text that is neither. */
export function parseHlsPlaylist(text: string): HlsPlaylist {
  const lines = splitLines(text)
  if (lines[0] !== '#EXTM3U') {
    throw new PlaylistParseError('not an HLS playlist: the first line is not #EXTM3U')
  }

  const isMaster = lines.some((line) => line.startsWith('#EXT-X-STREAM-INF:'))
  if (isMaster) return parseMaster(lines)

  const isMedia = lines.some(
    (line) => line.startsWith('#EXTINF:') || line.startsWith('#EXT-X-TARGETDURATION:'),
  )
  if (isMedia) return parseMedia(lines)

  throw new PlaylistParseError('HLS playlist has neither #EXT-X-STREAM-INF nor #EXTINF lines')
}

/** Parses text that must be a media playlist. */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const playlist = parseHlsPlaylist(text)
  if (playlist.kind !== 'media') {
    throw new PlaylistParseError('expected a media playlist but got a master playlist')
  }

  return playlist
}

function splitLines(text: string): string[] {
  const withoutBom = text.startsWith('\uFEFF') ? text.slice(1) : text

  return withoutBom
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
}

function tagValue(line: string, tag: string): string | undefined {
  return line.startsWith(`${tag}:`) ? line.slice(tag.length + 1) : undefined
}

function parseVersion(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const value = tagValue(line, '#EXT-X-VERSION')
    if (value !== undefined && /^\d+$/.test(value)) return Number(value)
  }

  return undefined
}

function parseMaster(lines: readonly string[]): MasterPlaylist {
  const playlist: MasterPlaylist = { kind: 'master', variants: [], renditions: [], warnings: [] }
  const version = parseVersion(lines)
  if (version !== undefined) playlist.version = version

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const media = tagValue(line, '#EXT-X-MEDIA')
    if (media !== undefined) addRendition(playlist, media)

    const streamInf = tagValue(line, '#EXT-X-STREAM-INF')
    if (streamInf === undefined) continue

    const uri = lines[i + 1]
    if (uri === undefined || uri.startsWith('#')) {
      playlist.warnings.push(`#EXT-X-STREAM-INF on line ${i + 1} has no URI line after it`)
      continue
    }
    addVariant(playlist, streamInf, uri)
    i++
  }

  return playlist
}

function addVariant(playlist: MasterPlaylist, attributeText: string, uri: string): void {
  const attributes = parseAttributeList(attributeText)
  const bandwidth = decimalAttribute(attributes, 'BANDWIDTH')
  if (bandwidth === undefined) {
    playlist.warnings.push(`variant ${uri} has no valid BANDWIDTH; counted as 0`)
  }

  const variant: Variant = {
    bandwidth: bandwidth ?? 0,
    codecs: splitCodecs(attributes.get('CODECS')),
    uri,
  }
  const averageBandwidth = decimalAttribute(attributes, 'AVERAGE-BANDWIDTH')
  if (averageBandwidth !== undefined) variant.averageBandwidth = averageBandwidth
  const resolution = resolutionAttribute(attributes, 'RESOLUTION')
  if (resolution) variant.resolution = resolution
  const frameRate = decimalAttribute(attributes, 'FRAME-RATE')
  if (frameRate !== undefined) variant.frameRate = frameRate

  const audio = attributes.get('AUDIO')
  if (audio) variant.audioGroup = audio
  const video = attributes.get('VIDEO')
  if (video) variant.videoGroup = video
  const subtitles = attributes.get('SUBTITLES')
  if (subtitles) variant.subtitlesGroup = subtitles

  playlist.variants.push(variant)
}

function splitCodecs(value: string | undefined): string[] {
  if (!value) return []

  return value
    .split(',')
    .map((codec) => codec.trim())
    .filter((codec) => codec.length > 0)
}

function addRendition(playlist: MasterPlaylist, attributeText: string): void {
  const attributes = parseAttributeList(attributeText)
  const type = attributes.get('TYPE')
  const groupId = attributes.get('GROUP-ID')
  const name = attributes.get('NAME')
  if (!isRenditionType(type) || groupId === undefined || name === undefined) {
    playlist.warnings.push(
      `#EXT-X-MEDIA without a valid TYPE, GROUP-ID and NAME skipped: ${attributeText}`,
    )
    return
  }

  const rendition: Rendition = {
    type,
    groupId,
    name,
    default: booleanAttribute(attributes, 'DEFAULT') ?? false,
    autoselect: booleanAttribute(attributes, 'AUTOSELECT') ?? false,
  }
  const language = attributes.get('LANGUAGE')
  if (language) rendition.language = language
  const uri = attributes.get('URI')
  if (uri) rendition.uri = uri

  playlist.renditions.push(rendition)
}

function isRenditionType(value: string | undefined): value is RenditionType {
  return (RENDITION_TYPES as readonly (string | undefined)[]).includes(value)
}

/** Tags that apply to the next segment only, collected until its URI line. */
interface PendingSegment {
  duration?: number
  discontinuity: boolean
  programDateTime?: number
  byteRange?: { length: number; offset?: number }
  gap: boolean
}

interface MediaState {
  playlist: MediaPlaylist
  pending: PendingSegment
  discontinuitySequence: number
  /** End of the previous byte range, for a range written without an offset. */
  previousRange?: { uri: string; end: number }
  sawTargetDuration: boolean
}

function parseMedia(lines: readonly string[]): MediaPlaylist {
  const playlist: MediaPlaylist = {
    kind: 'media',
    targetDuration: 0,
    mediaSequence: 0,
    discontinuitySequence: 0,
    endList: false,
    segments: [],
    warnings: [],
  }
  const version = parseVersion(lines)
  if (version !== undefined) playlist.version = version
  readHeaderTags(playlist, lines)

  const state: MediaState = {
    playlist,
    pending: { discontinuity: false, gap: false },
    discontinuitySequence: playlist.discontinuitySequence,
    sawTargetDuration: playlist.targetDuration > 0,
  }
  lines.forEach((line, index) => readSegmentLine(state, line, index + 1))
  finishMedia(state)

  return playlist
}

/** Reads the tags that describe the whole playlist, wherever they appear. */
function readHeaderTags(playlist: MediaPlaylist, lines: readonly string[]): void {
  for (const line of lines) {
    const target = tagValue(line, '#EXT-X-TARGETDURATION')
    if (target !== undefined) {
      playlist.targetDuration = readInteger(playlist, 'EXT-X-TARGETDURATION', target)
    }

    const sequence = tagValue(line, '#EXT-X-MEDIA-SEQUENCE')
    if (sequence !== undefined) {
      playlist.mediaSequence = readInteger(playlist, 'EXT-X-MEDIA-SEQUENCE', sequence)
    }

    const discontinuity = tagValue(line, '#EXT-X-DISCONTINUITY-SEQUENCE')
    if (discontinuity !== undefined) {
      playlist.discontinuitySequence = readInteger(
        playlist,
        'EXT-X-DISCONTINUITY-SEQUENCE',
        discontinuity,
      )
    }

    const type = tagValue(line, '#EXT-X-PLAYLIST-TYPE')
    if (type === 'EVENT' || type === 'VOD') playlist.playlistType = type

    if (line === '#EXT-X-ENDLIST') playlist.endList = true
  }
}

function readInteger(playlist: MediaPlaylist, tag: string, value: string): number {
  if (/^\d+$/.test(value)) return Number(value)

  playlist.warnings.push(`invalid ${tag} value "${value}"; 0 used`)
  return 0
}

function readSegmentLine(state: MediaState, line: string, lineNumber: number): void {
  const { pending, playlist } = state
  if (!line.startsWith('#')) {
    addSegment(state, line, lineNumber)
    return
  }

  const extinf = tagValue(line, '#EXTINF')
  if (extinf !== undefined) {
    const duration = Number(extinf.split(',', 1)[0])
    if (Number.isFinite(duration) && duration >= 0) pending.duration = duration
    else playlist.warnings.push(`invalid #EXTINF duration on line ${lineNumber}: ${extinf}`)
    return
  }

  if (line === '#EXT-X-DISCONTINUITY') pending.discontinuity = true
  if (line === '#EXT-X-GAP') pending.gap = true

  const dateTime = tagValue(line, '#EXT-X-PROGRAM-DATE-TIME')
  if (dateTime !== undefined) {
    const ms = Date.parse(dateTime)
    if (Number.isFinite(ms)) pending.programDateTime = ms
    else {
      playlist.warnings.push(`invalid #EXT-X-PROGRAM-DATE-TIME on line ${lineNumber}: ${dateTime}`)
    }
  }

  const byteRange = tagValue(line, '#EXT-X-BYTERANGE')
  if (byteRange !== undefined) readByteRange(state, byteRange, lineNumber)
}

function readByteRange(state: MediaState, value: string, lineNumber: number): void {
  const match = /^(\d+)(?:@(\d+))?$/.exec(value)
  if (!match) {
    state.playlist.warnings.push(`invalid #EXT-X-BYTERANGE on line ${lineNumber}: ${value}`)
    return
  }

  state.pending.byteRange = { length: Number(match[1]) }
  if (match[2] !== undefined) state.pending.byteRange.offset = Number(match[2])
}

function addSegment(state: MediaState, uri: string, lineNumber: number): void {
  const { pending, playlist } = state
  if (pending.duration === undefined) {
    playlist.warnings.push(`segment ${uri} on line ${lineNumber} has no valid #EXTINF; skipped`)
    state.pending = { discontinuity: false, gap: false }
    return
  }

  if (pending.discontinuity) state.discontinuitySequence++
  const segment: MediaSegment = {
    sequence: playlist.mediaSequence + playlist.segments.length,
    duration: pending.duration,
    uri,
    discontinuity: pending.discontinuity,
    discontinuitySequence: state.discontinuitySequence,
    gap: pending.gap,
  }
  if (pending.programDateTime !== undefined) segment.programDateTime = pending.programDateTime
  if (pending.byteRange) {
    segment.byteRange = resolveByteRange(state, uri, pending.byteRange, lineNumber)
  }

  playlist.segments.push(segment)
  state.pending = { discontinuity: false, gap: false }
}

/**
 * A byte range without an offset starts right after the previous segment's
 * range, which must be a sub-range of the same resource.
 */
function resolveByteRange(
  state: MediaState,
  uri: string,
  range: { length: number; offset?: number },
  lineNumber: number,
): ByteRange {
  let offset = range.offset
  if (offset === undefined && state.previousRange?.uri === uri) offset = state.previousRange.end
  if (offset === undefined) {
    state.playlist.warnings.push(
      `#EXT-X-BYTERANGE on line ${lineNumber} has no offset and no previous range of ${uri}; 0 used`,
    )
    offset = 0
  }

  state.previousRange = { uri, end: offset + range.length }
  return { length: range.length, offset }
}

function finishMedia(state: MediaState): void {
  const { playlist } = state
  if (state.sawTargetDuration) return

  const longest = Math.max(0, ...playlist.segments.map((segment) => segment.duration))
  playlist.targetDuration = Math.ceil(longest)
  playlist.warnings.push(
    `missing #EXT-X-TARGETDURATION; the longest segment (${playlist.targetDuration} s) used`,
  )
}
