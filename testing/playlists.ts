// Generated HLS playlists for tests, and a small HTTP server on 127.0.0.1
// that serves them (or DASH manifests a test writes) from a route table the
// test changes between requests. Segments are dummy bytes unless a test sets
// a body.
//
//   const server = await startPlaylistServer({ delayMs: 1000 })
//   const body = mediaPlaylist({ targetDuration: 6, mediaSequence: 41, segments })
//   server.route('/live.m3u8', { body })
//   server.route('/seg41.ts', { status: 404 })
//   ...
//   await server.stop()
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Route {
  /** Default 200. */
  status?: number
  /** Default: 188 dummy bytes (one MPEG-TS packet size). */
  body?: string | Buffer
  contentType?: string
  /** Wait before the response headers, ms (default: the server's delayMs). */
  delayMs?: number
  /** Respond to a `Range: bytes=A-B` request with 200 and the whole body instead of 206. */
  ignoreRange?: boolean
}

export interface PlaylistServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string
  /** Request paths in the order they arrived. */
  readonly requests: string[]
  /** Sets what a path serves; a function is called on each request. */
  route(path: string, route: Route | (() => Route)): void
  /** Serves 200 with dummy bytes for every path under `prefix` that has no route. */
  segmentsUnder(prefix: string): void
  /** Closes the listener, open connections and pending delays. Idempotent. */
  stop(): Promise<void>
}

const DUMMY_SEGMENT = Buffer.alloc(188, 0x47)

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
}

/** Starts the server; `delayMs` delays every response (default 0). */
export async function startPlaylistServer(
  options: { delayMs?: number } = {},
): Promise<PlaylistServer> {
  const routes = new Map<string, Route | (() => Route)>()
  const segmentPrefixes: string[] = []
  const requests: string[] = []
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    requests.push(path)
    const found =
      routes.get(path) ??
      (segmentPrefixes.some((prefix) => path.startsWith(prefix)) ? {} : { status: 404 })
    const route = typeof found === 'function' ? found() : found
    respondLater(request, response, route, route.delayMs ?? options.delayMs ?? 0, timers)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })

  let stopping: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    route: (path, route) => routes.set(path, route),
    segmentsUnder: (prefix) => segmentPrefixes.push(prefix),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })),
  }
}

function respondLater(
  request: IncomingMessage,
  response: ServerResponse,
  route: Route,
  delayMs: number,
  timers: Set<NodeJS.Timeout>,
): void {
  const send = () => {
    const full =
      (route.status ?? 200) >= 400 ? Buffer.alloc(0) : Buffer.from(route.body ?? DUMMY_SEGMENT)
    const range = route.ignoreRange ? undefined : requestedRange(request, full.length)
    const status = range ? 206 : (route.status ?? 200)
    const body = range ? full.subarray(range.start, range.end + 1) : full
    const extension = /\.([a-z0-9]+)$/.exec(request.url?.split('?')[0] ?? '')?.[1] ?? ''
    response.writeHead(status, {
      'content-type': route.contentType ?? CONTENT_TYPES[extension] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${full.length}` } : {}),
    })
    response.end(request.method === 'HEAD' ? undefined : body)
  }

  if (delayMs <= 0) {
    send()
    return
  }
  const timer = setTimeout(() => {
    timers.delete(timer)
    send()
  }, delayMs)
  timers.add(timer)
}

/** Returns the satisfiable single `bytes=A-B` range of a body of `size` bytes, or undefined. */
function requestedRange(
  request: IncomingMessage,
  size: number,
): { start: number; end: number } | undefined {
  const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '')
  if (!match) return undefined

  const start = Number(match[1])
  const end = Math.min(Number(match[2]), size - 1)
  return start <= end ? { start, end } : undefined
}

export interface SegmentSpec {
  /** Seconds. */
  duration: number
  uri: string
  discontinuity?: boolean
  /** Unix milliseconds, written as EXT-X-PROGRAM-DATE-TIME. */
  programDateTime?: number
  byteRange?: { length: number; offset?: number }
  gap?: boolean
}

export interface MediaPlaylistSpec {
  targetDuration: number
  mediaSequence: number
  discontinuitySequence?: number
  segments: SegmentSpec[]
  endList?: boolean
  playlistType?: 'EVENT' | 'VOD'
}

/** Writes the text of an HLS media playlist. */
export function mediaPlaylist(spec: MediaPlaylistSpec): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${spec.targetDuration}`]
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${spec.mediaSequence}`)
  if (spec.discontinuitySequence !== undefined) {
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${spec.discontinuitySequence}`)
  }
  if (spec.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${spec.playlistType}`)

  for (const segment of spec.segments) {
    if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY')
    if (segment.programDateTime !== undefined) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`)
    }
    if (segment.byteRange) {
      const { length, offset } = segment.byteRange
      lines.push(`#EXT-X-BYTERANGE:${length}${offset === undefined ? '' : `@${offset}`}`)
    }
    if (segment.gap) lines.push('#EXT-X-GAP')
    lines.push(`#EXTINF:${segment.duration.toFixed(3)},`, segment.uri)
  }

  if (spec.endList) lines.push('#EXT-X-ENDLIST')
  return `${lines.join('\n')}\n`
}

/**
 * Builds `count` consecutive segments named PREFIX<sequence>.ts, starting at
 * `firstSequence`, with program date-times that follow from the durations
 * when `startTime` (Unix ms) is given.
 */
export function liveSegments(options: {
  firstSequence: number
  count: number
  duration: number
  prefix?: string
  startTime?: number
}): SegmentSpec[] {
  const prefix = options.prefix ?? 'seg'
  return Array.from({ length: options.count }, (_, i) => {
    const segment: SegmentSpec = {
      duration: options.duration,
      uri: `${prefix}${options.firstSequence + i}.ts`,
    }
    if (options.startTime !== undefined) {
      segment.programDateTime = options.startTime + i * options.duration * 1000
    }
    return segment
  })
}

export interface VariantSpec {
  bandwidth: number
  uri: string
  resolution?: string
  codecs?: string
  audio?: string
}

export interface RenditionSpec {
  type: 'AUDIO' | 'SUBTITLES'
  groupId: string
  name: string
  uri: string
  language?: string
  default?: boolean
}

/** Writes the text of an HLS master playlist. */
export function masterPlaylist(variants: VariantSpec[], renditions: RenditionSpec[] = []): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6']
  for (const rendition of renditions) {
    const attributes = [
      `TYPE=${rendition.type}`,
      `GROUP-ID="${rendition.groupId}"`,
      `NAME="${rendition.name}"`,
    ]
    if (rendition.language) attributes.push(`LANGUAGE="${rendition.language}"`)
    attributes.push(
      `DEFAULT=${rendition.default ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `URI="${rendition.uri}"`,
    )
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`)
  }

  for (const variant of variants) {
    const attributes = [`BANDWIDTH=${variant.bandwidth}`]
    if (variant.resolution) attributes.push(`RESOLUTION=${variant.resolution}`)
    if (variant.codecs) attributes.push(`CODECS="${variant.codecs}"`)
    if (variant.audio) attributes.push(`AUDIO="${variant.audio}"`)
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, variant.uri)
  }
  return `${lines.join('\n')}\n`
}
