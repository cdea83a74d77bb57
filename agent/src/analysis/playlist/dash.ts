// Basic MPEG-DASH manifest (MPD) parsing: presentation type and timing,
// periods, adaptation sets and their representations with bandwidth,
// resolution, codecs and SegmentTemplate addressing. Pure: text and the
// manifest URL in, objects out; BaseURL elements are resolved against the
// manifest URL.
//
// NOTE: Not supported: SegmentList, SegmentBase (indexed single files),
// xlink-loaded periods, UTCTiming, availabilityTimeOffset (low-latency DASH)
// and content protection. Representations using them are listed with an
// `unsupported` reason so no availability check is made for them.
import { XMLParser } from 'fast-xml-parser'

export const MPD_TYPES = ['static', 'dynamic'] as const
export type MpdType = (typeof MPD_TYPES)[number]

/** One S element of a SegmentTimeline, in timescale units. */
export interface TimelineEntry {
  /** Start time; absent means right after the previous entry. */
  t?: number
  d: number
  /** Extra repeats of this entry; -1 repeats until the next entry or the period end. */
  r: number
}

export interface SegmentTemplate {
  /** Media URL template with $RepresentationID$, $Number$, $Time$, $Bandwidth$. */
  media: string
  initialization?: string
  /** Units per second of duration, t and d (default 1). */
  timescale: number
  startNumber: number
  /** Segment duration in timescale units, for templates without a timeline. */
  duration?: number
  presentationTimeOffset: number
  timeline?: TimelineEntry[]
}

export interface DashRepresentation {
  id: string
  /** video, audio, text or image; from contentType or mimeType. */
  contentType: string
  mimeType?: string
  codecs?: string
  /** bit/s. */
  bandwidth: number
  width?: number
  height?: number
  /** Absolute URL that segment templates resolve against. */
  baseUrl: string
  template?: SegmentTemplate
  /** Reason that segments of this representation cannot be located. */
  unsupported?: string
}

export interface DashPeriod {
  id?: string
  /** Start within the presentation, seconds. */
  start: number
  /** Seconds; absent for an open-ended live period. */
  duration?: number
  representations: DashRepresentation[]
}

export interface DashManifest {
  kind: 'mpd'
  type: MpdType
  /** Unix milliseconds; required for dynamic manifests. */
  availabilityStartTime?: number
  publishTime?: number
  /** Seconds. */
  mediaPresentationDuration?: number
  minimumUpdatePeriod?: number
  timeShiftBufferDepth?: number
  maxSegmentDuration?: number
  periods: DashPeriod[]
  warnings: string[]
}

export class MpdParseError extends Error {
  override name = 'MpdParseError'
}

type XmlNode = Record<string, unknown>

const ARRAY_ELEMENTS = new Set(['Period', 'AdaptationSet', 'Representation', 'BaseURL', 'S'])

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  htmlEntities: false,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
})

/** Parses an MPD; throws MpdParseError for text that is not XML with an MPD root. */
export function parseMpd(text: string, manifestUrl: string): DashManifest {
  const root = readRoot(text)
  const type = root.type === 'dynamic' ? 'dynamic' : 'static'
  const manifest: DashManifest = { kind: 'mpd', type, periods: [], warnings: [] }
  readManifestTiming(manifest, root)

  const baseUrl = resolveBaseUrl(manifestUrl, root, manifest.warnings)
  let previousEnd = 0
  for (const periodNode of nodes(root.Period)) {
    const period = readPeriod(manifest, periodNode, baseUrl, previousEnd)
    manifest.periods.push(period)
    previousEnd = period.duration === undefined ? previousEnd : period.start + period.duration
  }
  setLastPeriodDuration(manifest)

  if (manifest.periods.length === 0) manifest.warnings.push('MPD has no Period')
  if (type === 'dynamic' && manifest.availabilityStartTime === undefined) {
    manifest.warnings.push('dynamic MPD has no valid availabilityStartTime')
  }
  return manifest
}

function readRoot(text: string): XmlNode {
  let document: XmlNode
  try {
    document = xmlParser.parse(text, true) as XmlNode
  } catch (error) {
    throw new MpdParseError(`invalid MPD XML: ${(error as Error).message}`)
  }

  const root = document.MPD
  if (!isNode(root)) throw new MpdParseError('not an MPD: the root element is not <MPD>')
  return root
}

function readManifestTiming(manifest: DashManifest, root: XmlNode): void {
  const availabilityStartTime = dateAttribute(root.availabilityStartTime)
  if (availabilityStartTime !== undefined) manifest.availabilityStartTime = availabilityStartTime
  const publishTime = dateAttribute(root.publishTime)
  if (publishTime !== undefined) manifest.publishTime = publishTime

  const durations = {
    mediaPresentationDuration: root.mediaPresentationDuration,
    minimumUpdatePeriod: root.minimumUpdatePeriod,
    timeShiftBufferDepth: root.timeShiftBufferDepth,
    maxSegmentDuration: root.maxSegmentDuration,
  } as const
  for (const [name, value] of Object.entries(durations)) {
    if (value === undefined) continue
    const seconds = parseIsoDuration(String(value))
    if (seconds === undefined) manifest.warnings.push(`invalid MPD@${name} "${String(value)}"`)
    else manifest[name as keyof typeof durations] = seconds
  }
}

function readPeriod(
  manifest: DashManifest,
  node: XmlNode,
  parentBase: string,
  previousEnd: number,
): DashPeriod {
  const period: DashPeriod = {
    start: durationAttribute(node.start) ?? previousEnd,
    representations: [],
  }
  if (typeof node.id === 'string') period.id = node.id
  const duration = durationAttribute(node.duration)
  if (duration !== undefined) period.duration = duration
  if (node.href !== undefined) {
    manifest.warnings.push(`Period ${period.id ?? ''} uses xlink; not loaded`)
  }

  const baseUrl = resolveBaseUrl(parentBase, node, manifest.warnings)
  const periodTemplate = readTemplate(node.SegmentTemplate, undefined)
  for (const setNode of nodes(node.AdaptationSet)) {
    const setBase = resolveBaseUrl(baseUrl, setNode, manifest.warnings)
    const setTemplate = readTemplate(setNode.SegmentTemplate, periodTemplate)
    for (const representationNode of nodes(setNode.Representation)) {
      const context = {
        setNode,
        baseUrl: setBase,
        template: setTemplate,
        warnings: manifest.warnings,
      }
      period.representations.push(readRepresentation(representationNode, context))
    }
  }
  return period
}

/** Sets the last period's duration from mediaPresentationDuration when the period has none. */
function setLastPeriodDuration(manifest: DashManifest): void {
  const last = manifest.periods.at(-1)
  const total = manifest.mediaPresentationDuration
  if (!last || last.duration !== undefined || total === undefined) return

  last.duration = Math.max(0, total - last.start)
}

interface RepresentationContext {
  setNode: XmlNode
  baseUrl: string
  template: SegmentTemplate | undefined
  warnings: string[]
}

function readRepresentation(node: XmlNode, context: RepresentationContext): DashRepresentation {
  const { setNode } = context
  const mimeType = stringAttribute(node.mimeType) ?? stringAttribute(setNode.mimeType)
  const representation: DashRepresentation = {
    id: stringAttribute(node.id) ?? '',
    contentType: stringAttribute(setNode.contentType) ?? mimeType?.split('/')[0] ?? 'unknown',
    bandwidth: integerAttribute(node.bandwidth) ?? 0,
    baseUrl: resolveBaseUrl(context.baseUrl, node, context.warnings),
  }
  if (mimeType) representation.mimeType = mimeType
  const codecs = stringAttribute(node.codecs) ?? stringAttribute(setNode.codecs)
  if (codecs) representation.codecs = codecs
  const width = integerAttribute(node.width) ?? integerAttribute(setNode.width)
  if (width !== undefined) representation.width = width
  const height = integerAttribute(node.height) ?? integerAttribute(setNode.height)
  if (height !== undefined) representation.height = height

  const template = readTemplate(node.SegmentTemplate, context.template)
  if (template) representation.template = template
  const unsupported = unsupportedAddressing(node, setNode, template)
  if (unsupported) representation.unsupported = unsupported
  return representation
}

function unsupportedAddressing(
  node: XmlNode,
  setNode: XmlNode,
  template: SegmentTemplate | undefined,
): string | undefined {
  if (template?.media) {
    if (template.timeline || template.duration !== undefined) return undefined
    return 'SegmentTemplate has neither a SegmentTimeline nor a duration'
  }

  if (node.SegmentList !== undefined || setNode.SegmentList !== undefined) {
    return 'SegmentList is not supported'
  }
  if (node.SegmentBase !== undefined || setNode.SegmentBase !== undefined) {
    return 'SegmentBase is not supported'
  }
  return 'no SegmentTemplate with a media attribute'
}

/** Reads a SegmentTemplate; its attributes override those inherited from the parent level. */
function readTemplate(
  value: unknown,
  inherited: SegmentTemplate | undefined,
): SegmentTemplate | undefined {
  if (!isNode(value)) return inherited

  const template: SegmentTemplate = {
    media: stringAttribute(value.media) ?? inherited?.media ?? '',
    timescale: integerAttribute(value.timescale) ?? inherited?.timescale ?? 1,
    startNumber: integerAttribute(value.startNumber) ?? inherited?.startNumber ?? 1,
    presentationTimeOffset:
      integerAttribute(value.presentationTimeOffset) ?? inherited?.presentationTimeOffset ?? 0,
  }
  const initialization = stringAttribute(value.initialization) ?? inherited?.initialization
  if (initialization) template.initialization = initialization
  const duration = integerAttribute(value.duration) ?? inherited?.duration
  if (duration !== undefined) template.duration = duration
  const timeline = readTimeline(value.SegmentTimeline) ?? inherited?.timeline
  if (timeline) template.timeline = timeline
  return template
}

function readTimeline(value: unknown): TimelineEntry[] | undefined {
  if (!isNode(value)) return undefined

  const entries: TimelineEntry[] = []
  for (const s of nodes(value.S)) {
    const d = integerAttribute(s.d)
    if (d === undefined || d <= 0) continue

    const entry: TimelineEntry = { d, r: signedIntegerAttribute(s.r) ?? 0 }
    const t = integerAttribute(s.t)
    if (t !== undefined) entry.t = t
    entries.push(entry)
  }
  return entries
}

/** Resolves the node's first BaseURL against `parent`; `parent` when there is none. */
function resolveBaseUrl(parent: string, node: XmlNode, warnings: string[]): string {
  const first: unknown = Array.isArray(node.BaseURL) ? node.BaseURL[0] : node.BaseURL
  const text = typeof first === 'string' ? first : isNode(first) ? first['#text'] : undefined
  if (typeof text !== 'string' || text.trim() === '') return parent

  try {
    return new URL(text.trim(), parent).href
  } catch {
    warnings.push(`invalid BaseURL "${text}" ignored`)
    return parent
  }
}

const ISO_DURATION_RE =
  /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/

/**
 * Seconds of an ISO 8601 duration such as `PT1H2M3.5S`, or undefined.
 * NOTE: years and months count as 365 and 30 days; MPDs rarely use them.
 */
export function parseIsoDuration(text: string): number | undefined {
  const match = ISO_DURATION_RE.exec(text.trim())
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined

  const [years, months, days, hours, minutes, seconds] = match
    .slice(1)
    .map((part) => Number(part ?? 0))
  const totalDays = (years ?? 0) * 365 + (months ?? 0) * 30 + (days ?? 0)
  return totalDays * 86_400 + (hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0)
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nodes(value: unknown): XmlNode[] {
  if (!Array.isArray(value)) return isNode(value) ? [value] : []

  return value.filter(isNode)
}

function stringAttribute(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

function integerAttribute(value: unknown): number | undefined {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined
}

function signedIntegerAttribute(value: unknown): number | undefined {
  return typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : undefined
}

function durationAttribute(value: unknown): number | undefined {
  return typeof value === 'string' ? parseIsoDuration(value) : undefined
}

function dateAttribute(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined

  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}
