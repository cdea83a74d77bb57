// The player SDK in real headless Chromium. A page server on 127.0.0.1, an
// origin other than the controller's, serves a page that plays a live test
// HLS stream with hls.js from node_modules and loads the controller's
// /sdk/monit.js. The tests read what the SDK sent from chDB.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import { join, normalize, sep } from 'node:path'
import type { Page } from 'puppeteer-core'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startHlsStream, type HlsStream } from '../../testing/streams.ts'
import { startBrowser, type TestBrowser } from '../../testing/browser.ts'
import { UserAgentParser } from '../../controller/src/beacons/ua.ts'

/** Bitrate that the master playlist declares for the one level; hls.js reports it on LEVEL_SWITCHED. */
const LEVEL_BITRATE = 400_000
const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js')

let server: TestController
let stream: HlsStream
let pages: Origin
let browser: TestBrowser

interface Origin {
  url: string
  /** Method, path and response status of each request, in order. */
  log: string[]
  stop(): Promise<void>
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Origin> {
  const log: string[] = []
  const http = createServer((req, res) => {
    res.on('finish', () => log.push(`${req.method} ${req.url} ${res.statusCode}`))
    handler(req, res)
  })
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done))
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const stop = () =>
    new Promise<void>((done) => {
      http.close(() => done())
      http.closeAllConnections()
    })
  return { url, log, stop }
}

/**
 * Returns the player page. Its query string names the beacon endpoint, the
 * stream id and whether to play. The SDK script always comes from the controller.
 */
function playerPage(controllerUrl: string): string {
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><title>monit SDK test</title></head>
<body>
<video id="video" muted playsinline></video>
<script src="/hls.js"></script>
<script src="${controllerUrl}/sdk/monit.js"></script>
<script>
  const params = new URLSearchParams(location.search)
  const video = document.getElementById('video')
  window.playerState = { playing: false, errors: [] }
  video.addEventListener('playing', () => { window.playerState.playing = true })
  let hls
  if (params.get('play') === '1') {
    hls = new Hls()
    hls.on(Hls.Events.ERROR, (_event, data) => window.playerState.errors.push(data.details))
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play())
    hls.loadSource('/live/master.m3u8')
    hls.attachMedia(video)
  }
  window.monitHandle = monit.attach(video, {
    endpoint: params.get('endpoint'),
    streamId: params.get('stream'),
    app: 'sdk-e2e',
    version: '1.0.0',
    hls,
    heartbeatS: 2,
    flushMs: Number(params.get('flushMs') || 500),
  })
</script>
</body>
</html>
`
}

function masterPlaylist(): string {
  return `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=${LEVEL_BITRATE},RESOLUTION=320x180\nindex.m3u8\n`
}

/** Serves the page, hls.js from node_modules, and the test stream's playlist and segments under /live/. */
function startPageServer(controllerUrl: string, hlsDir: string): Promise<Origin> {
  const root = normalize(hlsDir)
  return listen((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body)
    }
    if (path === '/player.html') return send('text/html; charset=utf-8', playerPage(controllerUrl))
    if (path === '/live/master.m3u8') return send('application/vnd.apple.mpegurl', masterPlaylist())
    if (path === '/hls.js') {
      void readFile(HLS_JS).then((body) => send('text/javascript', body))
      return
    }
    const file = normalize(join(root, path.replace(/^\/live\//, '')))
    if (!path.startsWith('/live/') || !file.startsWith(root + sep)) return void res.writeHead(404).end()
    const type = file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t'
    readFile(file).then(
      (body) => send(type, body),
      () => res.writeHead(404).end(),
    )
  })
}

/**
 * Forwards every request to the controller, except that it replies to the
 * first heatmap POST with a 503 like the one of a controller whose buffer is full.
 */
function startFailingProxy(controllerUrl: string): Promise<Origin> {
  const target = new URL(controllerUrl)
  let failed = false
  return listen((req, res) => {
    if (!failed && req.method === 'POST' && req.url === '/api/data/heatmap/v1') {
      failed = true
      req.resume()
      res.writeHead(503, {
        'access-control-allow-origin': '*',
        'access-control-expose-headers': 'Retry-After',
        'retry-after': '1',
        'content-type': 'application/json',
      })
      res.end(JSON.stringify({ statusCode: 503, code: 'MONIT_ERR_BUFFER_FULL', error: 'Service Unavailable', message: 'full' }))
      return
    }
    const headers = { ...req.headers, host: target.host }
    const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forward.on('error', () => res.writeHead(502).end())
    req.pipe(forward)
  })
}

async function openPlayer(query: Record<string, string>): Promise<{ page: Page; output: string[] }> {
  const page = await browser.browser.newPage()
  const output: string[] = []
  page.on('console', (message) => output.push(`console.${message.type()}: ${message.text()}`))
  page.on('pageerror', (error) => output.push(`page error: ${String(error)}`))
  page.on('requestfailed', (request) => output.push(`request failed: ${request.url()} ${request.failure()?.errorText}`))
  await page.goto(`${pages.url}/player.html?${new URLSearchParams(query)}`)
  return { page, output }
}

async function rowsOf(table: 'heatmap' | 'events', streamId: string): Promise<Array<Record<string, any>>> {
  const { storage, writers } = server.controller.context
  await writers[table].flush()
  return storage.query(`SELECT * FROM ${storage.table(table)} WHERE stream_id = {stream_id:String}`, { stream_id: streamId })
}

async function waitForEvents(streamId: string, types: string[], output: string[]): Promise<Array<Record<string, any>>> {
  try {
    return await waitFor(
      `events ${types.join(', ')} of ${streamId}`,
      async () => {
        const rows = await rowsOf('events', streamId)
        return types.every((type) => rows.some((row) => row.event === type)) ? rows : undefined
      },
      90_000,
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}\npage output:\n${output.join('\n')}`)
  }
}

test.before(async () => {
  server = await startTestController()
  stream = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000, audioBitrate: 32_000, minSegments: 2 })
  pages = await startPageServer(server.url, stream.dir)
  browser = await startBrowser()
})

test.after(async () => {
  const left = browser === undefined ? [] : await browser.stop()
  await pages?.stop()
  await stream?.stop()
  await server?.stop()
  assert.equal(left, [], 'Chromium processes left after the browser closed')
})

test('sdk reports a playing hls.js player', async () => {
  const { page, output } = await openPlayer({ endpoint: server.url, stream: 'sdk-play', play: '1' })
  try {
    await page.waitForFunction('window.playerState.playing === true', { timeout: 60_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\npage output:\n${output.join('\n')}`)
    })
    const events = await waitForEvents('sdk-play', ['play', 'heartbeat', 'bitrate_switch'], output)
    const heatmap = await rowsOf('heatmap', 'sdk-play')
    const viewerId = await page.evaluate('window.monitHandle.viewerId')
    const userAgent = await page.evaluate('navigator.userAgent')
    const expected = new UserAgentParser().parse(String(userAgent))

    assert.ok(heatmap.length >= 1, 'no heatmap row')
    assert.is(heatmap[0]!.uniq_id, viewerId)
    assert.is(heatmap[0]!.app, 'sdk-e2e')
    assert.is(heatmap[0]!.host, '127.0.0.1')
    const switched = events.find((row) => row.event === 'bitrate_switch')!
    assert.is(Number(switched.value), LEVEL_BITRATE)
    const play = events.find((row) => row.event === 'play')!
    assert.is(play.uniq_id, viewerId)
    assert.ok(expected.browser !== '', `no browser found in User-Agent ${userAgent}`)
    assert.ok(expected.os !== '', `no OS found in User-Agent ${userAgent}`)
    assert.is(play.browser, expected.browser)
    assert.is(play.os, expected.os)
    assert.is(heatmap[0]!.browser, expected.browser)
    assert.is(await page.evaluate(`localStorage.getItem('monit.viewer_id')`), viewerId)
  } finally {
    await page.close()
  }
})

test('sdk retries a beacon after a 503', async () => {
  const proxy = await startFailingProxy(server.url)
  const { page, output } = await openPlayer({ endpoint: proxy.url, stream: 'sdk-retry', play: '0', flushMs: '100' })
  try {
    await waitFor('the retried heatmap beacon in chDB', async () => {
      const rows = await rowsOf('heatmap', 'sdk-retry')
      return rows.length > 0 ? rows : undefined
    }, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\nproxy: ${proxy.log.join(', ')}\npage output:\n${output.join('\n')}`)
    })
    const posts = proxy.log.filter((line) => line.startsWith('POST /api/data/heatmap/v1'))
    assert.is(posts[0], 'POST /api/data/heatmap/v1 503')
    assert.is(posts[1], 'POST /api/data/heatmap/v1 202')
    const stats = (await page.evaluate('window.monitHandle.stats()')) as { heatmap: { retries: number; sent: number } }
    assert.is(stats.heatmap.retries, 1)
    assert.is(stats.heatmap.sent, 1)
  } finally {
    await page.close()
    await proxy.stop()
  }
})

test('sdk sends its queue with sendBeacon on pagehide', async () => {
  // flushMs of 10 minutes: only the pagehide handler can send the beacon.
  const { page } = await openPlayer({ endpoint: server.url, stream: 'sdk-pagehide', play: '0', flushMs: '600000' })
  try {
    const queued = (await page.evaluate('window.monitHandle.stats().heatmap.queued')) as number
    assert.is(queued, 1)
    await page.goto('about:blank')
    const rows = await waitFor('the heatmap beacon sent on pagehide', async () => {
      const found = await rowsOf('heatmap', 'sdk-pagehide')
      return found.length > 0 ? found : undefined
    }, 30_000)
    assert.is(rows.length, 1)
  } finally {
    await page.close()
  }
})

test.run()
