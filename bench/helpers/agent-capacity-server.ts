// The HLS origin of the agent capacity benchmark, in its own process on
// 127.0.0.1. It serves one folder of pre-encoded 2 s MPEG-TS segments
// (seg0.ts, seg1.ts, ...) as live streams under any number of URLs:
//
//   GET /c<channel>/s<stream>/index.m3u8   a live media playlist of the 6 newest segments
//   GET /c<channel>/s<stream>/seg<n>.ts    segment n modulo the folder's segment count
//   GET /healthz                           200 once the segments are loaded
//
// The playlists advance by one segment every 2 s of wall time from the
// server's start. Each channel starts 7 segments after the previous one, so
// channels show different pictures at the same moment.
//
//   node --import tsx bench/helpers/agent-capacity-server.ts DIR PORT
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'

const SEGMENT_S = 2
const LIST_SIZE = 6
const CHANNEL_STEP = 7

const [dir, portText] = process.argv.slice(2)
if (dir === undefined || portText === undefined) {
  console.error('usage: agent-capacity-server.ts DIR PORT')
  process.exit(2)
}

const names = readdirSync(dir).filter((name) => /^seg\d+\.ts$/.test(name))
const segments: Buffer[] = []
for (const name of names) segments[Number(name.slice(3, -3))] = readFileSync(join(dir, name))
if (segments.length === 0 || segments.some((segment) => segment === undefined)) {
  console.error(`no numbered segments seg0.ts ... in ${dir}`)
  process.exit(2)
}
// EXTINF of each segment: its PES span is not read here, so every segment
// counts as SEGMENT_S, which ffmpeg's -hls_time gives up to a frame.
const startedAt = Date.now()
let requests = 0

function playlist(channel: number): string {
  const newest = Math.floor((Date.now() - startedAt) / (SEGMENT_S * 1000)) + LIST_SIZE + channel * CHANNEL_STEP
  const first = newest - LIST_SIZE + 1
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEGMENT_S}`, `#EXT-X-MEDIA-SEQUENCE:${first}`]
  for (let sequence = first; sequence <= newest; sequence++) {
    if (sequence % segments.length === 0 && sequence > first) lines.push('#EXT-X-DISCONTINUITY')
    lines.push(`#EXTINF:${SEGMENT_S}.000,`, `seg${sequence}.ts`)
  }
  return `${lines.join('\n')}\n`
}

const server = createServer((req, res) => {
  requests += 1
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ segments: segments.length, requests }))
    return
  }
  const match = /^\/c(\d+)\/s\d+\/(index\.m3u8|seg(\d+)\.ts)$/.exec(path)
  if (match === null) {
    res.writeHead(404).end()
    return
  }
  if (match[2] === 'index.m3u8') {
    const body = playlist(Number(match[1]))
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' }).end(body)
    return
  }
  const segment = segments[Number(match[3]) % segments.length]!
  res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': segment.length }).end(segment)
})
server.keepAliveTimeout = 30_000
server.listen(Number(portText), '127.0.0.1', () => {
  console.error(`agent capacity origin: ${segments.length} segments from ${dir} on 127.0.0.1:${portText}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
