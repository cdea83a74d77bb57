// Player page checks end to end: a real controller, a real agent process
// driving Debian's Chromium, a live HLS test stream, and player pages served
// by this test on 127.0.0.1. The stream's own page_url and page_interval_s
// choose the page. Each result is stored in page_checks and served by
// /api/query/page-checks/v1. A failing page degrades the stream, and a
// working page makes it recover.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FFMPEG, startHlsStream, stopAllTestStreams } from '../../testing/streams.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { restClient, type RestClient } from '../../testing/e2e.ts'
import { childrenNamed } from '../../testing/processes.ts'

const PLAY_TIMEOUT_S = 8
const base = '/api/state/streams/v1'
const VIDEO = '<video autoplay muted loop src="/video.webm"></video>'
const PAGES: Record<string, string> = {
  '/play.html': `<!doctype html><title>plays</title>${VIDEO}`,
  '/still.html': '<!doctype html><title>still</title><video muted src="/video.webm"></video>',
  '/errors.html': [
    '<!doctype html><title>errors</title>',
    VIDEO,
    "<script>console.error('player setup failed')</script>",
    "<script>throw new Error('player exploded')</script>",
  ].join(''),
}

interface PageRow {
  ts: string
  ok: boolean
  playing: boolean
  load_ms: number | null
  time_to_play_ms: number | null
  errors: Array<{ kind: string; text: string }>
}

let server: TestController
let agent: AgentProcess
let api: RestClient
let pages: Server
let pagesUrl = ''
let dir = ''

/** Encodes a 6 s VP8 test picture, small enough to load at once. */
function makeVideo(path: string): void {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25']
  args.push('-t', '6', '-c:v', 'libvpx', '-b:v', '300k', '-y', path)
  const run = spawnSync(FFMPEG, args, { timeout: 60_000 })
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr?.toString()}`)
}

async function servePages(video: Buffer): Promise<void> {
  pages = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const page = PAGES[path]
    if (page !== undefined) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page)
    if (path === '/video.webm') return void res.writeHead(200, { 'content-type': 'video/webm' }).end(video)
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve))
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`
}

async function pageRows(since = 0): Promise<PageRow[]> {
  const { status, body } = await api('GET', '/api/query/page-checks/v1?stream_id=player')
  assert.is(status, 200, JSON.stringify(body))
  return (body.rows as PageRow[]).filter((row) => Date.parse(row.ts) >= since)
}

async function waitForStatus(status: string, reason: RegExp, timeoutMs = 90_000): Promise<Record<string, any>> {
  let last = 'no status'
  try {
    return await waitFor(`player to be ${status} (${reason})`, async () => {
      const { body } = await api('GET', `${base}/player`)
      last = `${body.status} (${body.status_reason})`
      return body.status === status && reason.test(body.status_reason) ? body : undefined
    }, timeoutMs, 500)
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${last}`)
  }
}

async function usePage(path: string): Promise<number> {
  const since = Date.now()
  const { status, body } = await api('POST', `${base}/player/update`, { probe: { page_url: `${pagesUrl}${path}` } })
  assert.is(status, 200, JSON.stringify(body))
  return since
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'monit-page-e2e-'))
  makeVideo(join(dir, 'video.webm'))
  await servePages(await readFile(join(dir, 'video.webm')))
  server = await startTestController()
  api = restClient(server)
  agent = startAgentProcess({
    controllerUrl: server.url,
    token: server.agentToken,
    id: 'edge-1',
    args: ['--page-timeout', String(PLAY_TIMEOUT_S), '--av-interval', '0', '--screenshot-interval', '0'],
  })
  await waitFor('the agent to connect', async () => {
    const { body } = await api('GET', '/api/agents/v1')
    return body.agents.some((entry: { id: string; connected: boolean }) => entry.connected) || undefined
  }, 30_000)
})

test.after(async () => {
  await agent?.stop()
  await server?.stop()
  await stopAllTestStreams()
  await new Promise<void>((resolve) => {
    if (pages === undefined) return resolve()
    pages.close(() => resolve())
    pages.closeAllConnections()
  })
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('playing page is stored and up', async () => {
  const hls = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000 })
  const probe = { interval_s: 3, sample_s: 2, timeout_s: 3, page_url: `${pagesUrl}/play.html`, page_interval_s: 3 }
  const created = await api('POST', `${base}/player/create`, { url: hls.url, probe })
  assert.is(created.status, 201, JSON.stringify(created.body))
  const row = await waitFor('a page_checks row', async () => (await pageRows())[0], 60_000, 1000)
  assert.ok(row.ok)
  assert.ok(row.playing)
  assert.type(row.load_ms, 'number')
  assert.type(row.time_to_play_ms, 'number')
  assert.equal(row.errors, [])
  await waitForStatus('up', /^ok$/)
})

test('video that never starts degrades', async () => {
  const since = await usePage('/still.html')
  // Under load a check may also fail at the load; the one that waited for the video is the one to look at.
  const waited = (entry: PageRow) => entry.errors.some((error) => error.kind === 'no_video')
  const row = await waitFor('a page_checks row without video', async () => (await pageRows(since)).find(waited), 60_000, 1000)
  assert.not.ok(row.ok)
  assert.not.ok(row.playing)
  assert.is(row.time_to_play_ms, null)
  assert.equal(row.errors, [{ kind: 'no_video', text: `no video playing within ${PLAY_TIMEOUT_S} s` }])
  await waitForStatus('degraded', /page: no video/)

  // The statuses row is written in the next flush of its buffer, a little after the stream's state.
  const degraded = await waitFor('the degraded statuses row', async () => {
    const { body } = await api('GET', '/api/query/statuses/v1?stream_id=player')
    const rows = body.rows as Array<{ status: string; reason: string; error_output: string }>
    return rows.filter((entry) => entry.status === 'degraded' && entry.reason.includes('page: no video')).at(-1)
  }, 15_000, 500)
  assert.is(degraded.error_output, `no_video: no video playing within ${PLAY_TIMEOUT_S} s`)
})

test('script errors degrade a playing page', async () => {
  const since = await usePage('/errors.html')
  const row = await waitFor('a page_checks row with errors', async () => (await pageRows(since)).find((entry) => entry.errors.length > 0), 60_000, 1000)
  assert.ok(row.playing)
  const texts = row.errors.map((error) => `${error.kind}: ${error.text}`)
  assert.ok(texts.includes('console: player setup failed'), texts.join('\n'))
  assert.ok(texts.some((text) => text.startsWith('exception: ') && text.includes('player exploded')), texts.join('\n'))
  const state = await waitForStatus('degraded', /page: script error/)
  assert.not.match(state.status_reason, /no video/)
})

test('working page recovers', async () => {
  await usePage('/play.html')
  await waitForStatus('up', /^ok$/)
})

const invalidQueries: Array<[string, string, RegExp]> = [
  ['missing stream_id', '', /stream_id/],
  ['invalid stream_id', 'stream_id=a%20b', /stream_id/],
  ['invalid from', 'stream_id=player&from=yesterday', /from/],
  ['from after to', 'stream_id=player&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', /from/],
  ['limit of 0', 'stream_id=player&limit=0', /limit/],
]

for (const [name, query, pattern] of invalidQueries) {
  test(`page-checks query rejects ${name}`, async () => {
    const { status, body } = await api('GET', `/api/query/page-checks/v1?${query}`)
    assert.is(status, 400, JSON.stringify(body))
    assert.match(body.message, pattern)
  })
}

test('deleting the stream leaves no ffmpeg', async () => {
  await api('DELETE', `${base}/player/delete`)
  await waitFor('no ffmpeg or ffprobe child of the agent', () => (childrenNamed(agent.child.pid!, ['ffmpeg', 'ffprobe']).length === 0 ? true : undefined), 30_000, 250)
})

test.run()
