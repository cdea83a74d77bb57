// Player page checks against real Chromium and pages served on 127.0.0.1:
// a page that plays a video, one that never starts it, one with errors.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { checkPage } from '../src/browser/page-check.ts'
import { PagePool } from '../src/browser/page-pool.ts'
import { processesInGroup } from '../src/browser/chromium.ts'
import { MonitorSet } from '../src/monitor/monitor-set.ts'
import type { GrabbedScreenshot, PageResult } from '../src/monitor/stream-checks.ts'
import type { ProbeFn } from '../src/monitor/probe.ts'

const CHROMIUM = process.env.MONIT_CHROMIUM || '/usr/bin/chromium'
const logger = pino({ level: 'silent' })

const VIDEO = '<video autoplay muted loop src="/video.webm"></video>'
const PAGES: Record<string, string> = {
  '/play.html': `<!doctype html><title>plays</title>${VIDEO}`,
  '/still.html': '<!doctype html><title>still</title><video muted src="/video.webm"></video>',
  '/errors.html': [
    '<!doctype html><title>errors</title>',
    VIDEO,
    '<img src="/missing.png">',
    "<script>console.error('player setup failed')</script>",
    "<script>throw new Error('player exploded')</script>",
  ].join(''),
}

let dir = ''
let server: Server
let base = ''
let pool: PagePool | undefined

/** Encodes a 6 s VP8 test picture, small enough to load at once. */
function makeVideo(path: string): void {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25']
  args.push('-t', '6', '-c:v', 'libvpx', '-b:v', '300k', '-y', path)
  const run = spawnSync(process.env.MONIT_FFMPEG || 'ffmpeg', args, { timeout: 60_000 })
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr?.toString()}`)
}

async function serve(video: Buffer): Promise<void> {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const page = PAGES[path]
    if (page !== undefined) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page)
    if (path === '/video.webm') return void res.writeHead(200, { 'content-type': 'video/webm' }).end(video)
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function newPool(): PagePool {
  pool = new PagePool({ executablePath: CHROMIUM, size: 2, logger })
  return pool
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'monit-page-test-'))
  makeVideo(join(dir, 'video.webm'))
  await serve(await readFile(join(dir, 'video.webm')))
})

test.after.each(async () => {
  await pool?.close()
  pool = undefined
})

test.after(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await rm(dir, { recursive: true, force: true })
})

test('page that plays is ok', async () => {
  const result = await checkPage(newPool(), `${base}/play.html`, { play_timeout_s: 15 })
  assert.equal(result.errors, [])
  assert.ok(result.playing)
  assert.ok(result.ok)
  assert.type(result.load_ms, 'number')
  assert.type(result.time_to_play_ms, 'number')
  const jpeg = result.jpeg
  assert.ok(jpeg !== undefined, 'a screenshot was taken')
  assert.equal([...jpeg.subarray(0, 2)], [0xff, 0xd8], 'screenshot starts with the JPEG SOI marker')
})

test('video that never starts fails', async () => {
  const result = await checkPage(newPool(), `${base}/still.html`, { play_timeout_s: 4 })
  assert.not.ok(result.ok)
  assert.not.ok(result.playing)
  assert.type(result.load_ms, 'number')
  assert.is(result.time_to_play_ms, null)
  assert.equal(result.errors, [{ kind: 'no_video', text: 'no video playing within 4 s' }])
  assert.ok(result.jpeg !== undefined)
})

test('page errors are reported', async () => {
  const result = await checkPage(newPool(), `${base}/errors.html`, { play_timeout_s: 15 })
  assert.ok(result.playing)
  const texts = result.errors.map((error) => `${error.kind}: ${error.text}`)
  assert.ok(texts.includes('console: player setup failed'), texts.join('\n'))
  assert.ok(texts.includes(`request: HTTP 404 ${base}/missing.png`), texts.join('\n'))
  assert.ok(texts.some((text) => text.startsWith('exception: ') && text.includes('player exploded')), texts.join('\n'))
})

test('unreachable page fails the check', async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const result = await checkPage(newPool(), `http://127.0.0.1:${port}/`, { play_timeout_s: 5 })
  assert.not.ok(result.ok)
  assert.is(result.load_ms, null)
  assert.ok(result.errors.some((error) => error.kind === 'load'), JSON.stringify(result.errors))
})

test('pool reuses one browser', async () => {
  const pages = newPool()
  await checkPage(pages, `${base}/play.html`, { play_timeout_s: 15 })
  const first = await pages.browser()
  assert.ok(first?.groupId !== undefined)
  const afterFirst = first.processes().length
  const results = await Promise.all(
    ['/play.html', '/errors.html', '/play.html'].map((path) => checkPage(pages, `${base}${path}`, { play_timeout_s: 15 })),
  )
  assert.ok(results.every((result) => result.playing))
  const again = await pages.browser()
  assert.is(again?.groupId, first.groupId)
  const afterMore = first.processes().length
  assert.ok(afterMore <= afterFirst + 1, `${afterFirst} processes after one check, ${afterMore} after four`)
})

test('closing leaves no Chromium process', async () => {
  const pages = newPool()
  await checkPage(pages, `${base}/play.html`, { play_timeout_s: 15 })
  const chromium = await pages.browser()
  const groupId = chromium?.groupId
  assert.ok(groupId !== undefined)
  assert.ok(processesInGroup(groupId).length > 0)
  await pages.close()
  assert.equal(processesInGroup(groupId), [], 'no process left in the group, zombies included')
})

test('crashed browser is restarted', async () => {
  const pages = newPool()
  await checkPage(pages, `${base}/play.html`, { play_timeout_s: 15 })
  const crashed = (await pages.browser())?.groupId
  assert.ok(crashed !== undefined)
  process.kill(-crashed, 'SIGKILL')
  const deadline = Date.now() + 10_000
  while (processesInGroup(crashed).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const result = await checkPage(pages, `${base}/play.html`, { play_timeout_s: 15 })
  assert.ok(result.ok, JSON.stringify(result.errors))
  const restarted = (await pages.browser())?.groupId
  assert.ok(restarted !== undefined)
  assert.is.not(restarted, crashed)
  assert.equal(processesInGroup(crashed), [])
})

test('crash during a check fails it', async () => {
  const pages = newPool()
  const running = checkPage(pages, `${base}/still.html`, { play_timeout_s: 60 })
  let chromium = await pages.browser()
  while (chromium === undefined) {
    await new Promise((r) => setTimeout(r, 50))
    chromium = await pages.browser()
  }
  await new Promise((r) => setTimeout(r, 1500))
  const groupId = chromium.groupId
  assert.ok(groupId !== undefined)
  process.kill(-groupId, 'SIGKILL')
  const result = await running
  assert.not.ok(result.ok)
  assert.ok(
    result.errors.some((error) => error.text === 'Chromium disconnected during the check'),
    JSON.stringify(result.errors),
  )
  const next = await checkPage(pages, `${base}/play.html`, { play_timeout_s: 15 })
  assert.ok(next.ok, JSON.stringify(next.errors))
})

test('profile folder is removed at close', async () => {
  const pages = newPool()
  await checkPage(pages, `${base}/still.html`, { play_timeout_s: 1 })
  const chromium = await pages.browser()
  const profile = (chromium as unknown as { profileDir: string }).profileDir
  assert.ok(existsSync(profile))
  await pages.close()
  assert.not.ok(existsSync(profile))
})

const metrics = { bitrate: 1, frames: 1, fps: 1, width: 1, height: 1, bytes: 1, seconds: 1 }
const probeOk: ProbeFn = async () => ({
  ok: true,
  metrics: { ...metrics, keyframe_interval: 0, codecs: 'h264', probe_duration_ms: 1 },
  packets: 1,
  durationMs: 1,
})

function perform(streamId: string, pagePath: string) {
  const probe = { interval_s: 0.2, sample_s: 1, timeout_s: 4, av_interval_s: 0, screenshot_interval_s: 0 }
  const page = { page_url: `${base}${pagePath}`, page_interval_s: 0.5 }
  return { stream_id: streamId, url: 'http://127.0.0.1:1/live.m3u8', epoch: 1, probe: { ...probe, ...page } }
}

test('monitor set runs page checks', async () => {
  const pages = newPool()
  const results: PageResult[] = []
  const shots: GrabbedScreenshot[] = []
  let probes = 0
  const set = new MonitorSet({
    logger,
    onMetrics: () => {},
    onStatus: () => {},
    probe: async (...args) => {
      probes++
      return probeOk(...args)
    },
    random: () => 0,
    onAv: () => {},
    onScreenshot: (shot) => shots.push(shot),
    pageCheck: (url, settings, options) => checkPage(pages, url, { ...settings, play_timeout_s: 8 }, options),
    onPage: (result) => results.push(result),
  })
  set.perform(perform('plays', '/play.html'))
  set.perform(perform('still', '/still.html'))
  const deadline = Date.now() + 30_000
  const seen = () => new Set(results.map((result) => result.stream_id)).size
  while (seen() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  const groupId = (await pages.browser())?.groupId
  await set.stopAll()
  await pages.close()

  const plays = results.find((result) => result.stream_id === 'plays')
  const still = results.find((result) => result.stream_id === 'still')
  assert.ok(plays?.ok, JSON.stringify(plays))
  assert.is(plays.epoch, 1)
  assert.not.ok(still?.ok, JSON.stringify(still))
  assert.equal(still?.errors, [{ kind: 'no_video', text: 'no video playing within 8 s' }])
  assert.ok(shots.some((shot) => shot.stream_id === 'plays' && shot.source === 'page'))
  assert.ok(probes >= 4, `probes ran ${probes} times beside the page checks`)
  assert.ok(groupId !== undefined)
  assert.equal(processesInGroup(groupId), [])
})

test.run()
