// The web dashboard in real headless Chromium against a real controller, two
// real agent processes and a live HLS test stream, all on 127.0.0.1. The
// test logs in, creates a stream through the form, waits for its status from
// the live feed and for its chart to fill, stops an agent and waits for the
// agents page to show it offline. It then stops the source and waits for the
// stream page to show why the stream is down and for its alert to open. It
// saves a PNG of each page under test-artifacts/dashboard/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CDPSession, Page } from 'puppeteer-core'
import { buildDashboard } from '../../scripts/build-dashboard.ts'
import { formatBitrateTicks } from '../../dashboard/src/format.ts'
import { startTestController, TEST_ADMIN_PASSWORD, testPasswordOf, waitFor, type TestController } from '../../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../../testing/agent.ts'
import { startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'
import { startBrowser, type TestBrowser } from '../../testing/browser.ts'
import { restClient, type RestClient } from '../../testing/e2e.ts'
import { Role } from '../../controller/src/auth/roles.ts'

// Browser globals of the functions that run in the page. The project's type
// check has no DOM library, so they are declared here for this file only.
declare const window: any
declare const document: any
declare const location: any
declare const sessionStorage: any
declare const localStorage: any
declare const getComputedStyle: any
declare const Image: any

type Handle = NonNullable<Awaited<ReturnType<Page['waitForSelector']>>>

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url))
const DESKTOP = { width: 1280, height: 900 }
// Without isMobile, since puppeteer reloads the page when isMobile changes.
const PHONE = { width: 375, height: 812, deviceScaleFactor: 2 }
const STREAM_ID = 'dash-demo'
/** Agent check settings that give a screenshot and a picture and sound check within seconds. */
const AGENT_CHECK_ARGS = ['--screenshot-interval', '3', '--screenshot-width', '320', '--av-interval', '6', '--av-sample', '2']

const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'

let server: TestController
let api: RestClient
let agents: Map<string, AgentProcess>
let hls: HlsStream
let browser: TestBrowser
let page: Page
let cdp: CDPSession
/** Text of every live feed frame the page received. */
const liveFrames: string[] = []
/** Console errors, failed requests and requests to other hosts, which the last test expects to be empty. */
const problems: string[] = []
const screenshots: string[] = []

async function waitForAgents(ids: string[]): Promise<void> {
  await waitFor(`agents ${ids.join(', ')} to connect`, async () => {
    const { body } = await api('GET', '/api/agents/v1')
    const connected = new Set(body.agents.filter((agent: { connected: boolean }) => agent.connected).map((agent: { id: string }) => agent.id))
    return ids.every((id) => connected.has(id)) || undefined
  }, 30_000)
}

/** Saves a PNG of the page and returns its path. */
async function capture(name: string): Promise<string> {
  // Lets charts finish their resize and images their decode.
  await new Promise((done) => setTimeout(done, 300))
  const path = join(ARTIFACTS, `${name}.png`)
  await writeFile(path, await page.screenshot({ fullPage: true, type: 'png' }))
  screenshots.push(path)
  return path
}

/** Marks the document, so that a later check can tell that the page was not reloaded. */
async function markDocument(): Promise<void> {
  await page.evaluate(() => {
    ;(window as unknown as { dashboardTestMark: boolean }).dashboardTestMark = true
  })
}

async function documentMarked(): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { dashboardTestMark?: boolean }).dashboardTestMark === true)
}

/** Waits for the selector, and on timeout fails with the text the page shows. */
async function waitShown(selector: string, timeoutMs = 15_000): Promise<Handle> {
  try {
    return (await page.waitForSelector(selector, { timeout: timeoutMs }))!
  } catch (error) {
    const text = await page.evaluate(() => `${location.hash}\n${document.body.innerText}`)
    throw new Error(`no ${selector} within ${timeoutMs} ms; the page shows:\n${text}`, { cause: error })
  }
}

async function navigate(hash: string, ready: string): Promise<void> {
  await page.evaluate((target) => {
    location.hash = target
  }, hash)
  await waitShown(ready)
}

async function logIn(username: string, password: string): Promise<void> {
  await waitShown('input[name=username]')
  await page.type('input[name=username]', username)
  await page.type('input[name=password]', password)
  await page.click('button[type=submit]')
}

test.before(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  await buildDashboard()
  server = await startTestController()
  api = restClient(server)
  agents = new Map()
  for (const id of ['edge-1', 'edge-2']) {
    agents.set(id, startAgentProcess({ controllerUrl: server.url, token: server.agentToken, id, args: AGENT_CHECK_ARGS }))
  }
  hls = await startHlsStream({ width: 640, height: 360, fps: 25, videoBitrate: 600_000 })
  await waitForAgents(['edge-1', 'edge-2'])
  browser = await startBrowser()
  page = await browser.browser.newPage()
  await page.setViewport(DESKTOP)
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }])
  const origin = new URL(server.url).origin
  page.on('console', (message) => {
    // Chromium logs each 4xx response as an error. The test expects 401 (wrong password),
    // 404 (no screenshot yet) and 409 (duplicate stream id).
    const expected = /^Failed to load resource: the server responded with a status of 40[149]/.test(message.text())
    if (message.type() === 'error' && !expected) problems.push(`console error: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`))
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) problems.push(`request to another host: ${url}`)
    // The page names an inline icon, so the browser must not request /favicon.ico.
    if (new URL(url).pathname === '/favicon.ico') problems.push(`request for ${url}`)
  })
  // Accepts the confirm() of drain, delete and revoke.
  page.on('dialog', (dialog) => {
    dialog.accept().catch((error: unknown) => problems.push(`dialog: ${String(error)}`))
  })
  cdp = await page.createCDPSession()
  await cdp.send('Network.enable')
  cdp.on('Network.webSocketFrameReceived', (event) => liveFrames.push(event.response.payloadData))
})

test.after(async () => {
  await browser?.stop()
  for (const agent of agents?.values() ?? []) await agent.stop()
  await stopAllTestStreams()
  await server?.stop()
  if (screenshots.length > 0) console.log(`dashboard screenshots: ${ARTIFACTS}`)
})

test('root serves the page with a strict CSP', async () => {
  const response = await fetch(`${server.url}/`)
  assert.is(response.status, 200)
  const csp = response.headers.get('content-security-policy') ?? ''
  assert.match(csp, "img-src 'self' data: blob:")
  assert.match(csp, "connect-src 'self'")
  assert.not.match(csp, /https?:/)
  assert.match(await response.text(), '/ui/app.js')
})

test('login page then streams page', async () => {
  await page.goto(`${server.url}/`, { waitUntil: 'load' })
  await waitShown('.login-form')
  await capture('login-desktop-light')
  await logIn('admin', 'wrong-password')
  const failed = await waitShown('.login-form .error')
  assert.match(await failed.evaluate((element) => element.textContent ?? ''), 'invalid username or password')
  // Typing over the selected text replaces the wrong password.
  await page.click('input[name=password]', { clickCount: 3 })
  await page.type('input[name=password]', TEST_ADMIN_PASSWORD)
  await page.click('button[type=submit]')
  await waitShown('.streams-page')
  await waitShown('.live[data-live=open]', 10_000)
  const stored = await page.evaluate(() => sessionStorage.getItem('monit.session'))
  assert.ok(stored !== null, 'the token is kept in sessionStorage')
  assert.is(JSON.parse(stored!).role, 'admin')
})

test('stream created through the form', async () => {
  await page.click('a[href="#/streams/new"]')
  await waitShown('.stream-form')
  await page.type('input[name=id]', STREAM_ID)
  await page.type('input[name=url]', hls.url)
  await page.type('input[name=interval_s]', '3')
  await page.type('input[name=sample_s]', '2')
  await page.type('input[name=labels]', 'region=test, tier=gold')
  await page.click('.stream-form button[type=submit]')
  await waitShown('.stream-page')
  const { status, body } = await api('GET', `/api/state/streams/v1/${STREAM_ID}`)
  assert.is(status, 200)
  assert.is(body.url, hls.url)
  assert.is(body.probe.interval_s, 3)
  assert.is(body.probe.sample_s, 2)
  assert.equal(body.labels, { region: 'test', tier: 'gold' })
})

test('duplicate stream shows the server message', async () => {
  await navigate('#/streams/new', '.stream-form')
  await page.type('input[name=id]', STREAM_ID)
  await page.type('input[name=url]', hls.url)
  await page.click('.stream-form button[type=submit]')
  const error = await waitShown('.stream-form .error')
  assert.match(await error.evaluate((element) => element.textContent ?? ''), `stream "${STREAM_ID}" already exists`)
  // The message spans the form, as the button row below it does.
  const errorWidth = await error.evaluate((element) => element.getBoundingClientRect().width)
  const buttonsWidth = await page.$eval('.stream-form .actions', (element) => element.getBoundingClientRect().width)
  assert.ok(Math.abs(errorWidth - buttonsWidth) <= 1, `the error is ${errorWidth} px wide and the button row ${buttonsWidth} px`)
})

test('bitrate axis ticks differ', () => {
  assert.equal(formatBitrateTicks([2.05e6, 2.1e6, 2.15e6]), ['2.05M', '2.10M', '2.15M'])
  assert.equal(formatBitrateTicks([0, 5e5, 1e6, 1.5e6]), ['0', '0.5M', '1.0M', '1.5M'])
  assert.equal(formatBitrateTicks([600e3, 650e3, 700e3]), ['600k', '650k', '700k'])
  assert.equal(formatBitrateTicks([601e3, 601.5e3, 602e3]), ['601.0k', '601.5k', '602.0k'])
  assert.equal(formatBitrateTicks([0, 250, 500]), ['0', '250', '500'])
  assert.equal(formatBitrateTicks([2.1e6]), ['2.1M'])
})

test('status turns up from the live feed', async () => {
  await navigate('#/streams', '.streams-page')
  await markDocument()
  await waitShown(`[data-stream-id="${STREAM_ID}"] .badge[data-status=up]`, 45_000)
  assert.ok(await documentMarked(), 'the page was not reloaded')
  const statusFrames = liveFrames.filter((frame) => frame.includes('"type":"status"') && frame.includes(STREAM_ID))
  assert.ok(statusFrames.length > 0, 'the live feed sent a status message for the stream')
  // The filters: by status, label and text.
  await page.select('select[name=status-filter]', 'down')
  assert.is(await page.$(`[data-stream-id="${STREAM_ID}"]`), null)
  await page.select('select[name=status-filter]', 'up')
  assert.ok(await page.$(`[data-stream-id="${STREAM_ID}"]`))
  await page.type('input[name=label-filter]', 'region=other')
  assert.is(await page.$(`[data-stream-id="${STREAM_ID}"]`), null)
  await page.click('input[name=label-filter]', { clickCount: 3 })
  await page.type('input[name=label-filter]', 'region=test')
  assert.ok(await page.$(`[data-stream-id="${STREAM_ID}"]`))
  await page.type('input[name=text-filter]', 'no-such-stream')
  assert.is(await page.$(`[data-stream-id="${STREAM_ID}"]`), null)
  await page.click('input[name=text-filter]', { clickCount: 3 })
  await page.keyboard.press('Backspace')
  await page.select('select[name=status-filter]', 'all')
  await page.click('input[name=label-filter]', { clickCount: 3 })
  await page.keyboard.press('Backspace')
})

test('stream page chart fills', async () => {
  await page.click(`[data-stream-id="${STREAM_ID}"]`)
  await waitShown('.stream-page')
  await page.waitForFunction(
    () => Number(document.querySelector('.chart-plot[aria-label^="bitrate"]')?.getAttribute('data-points') ?? 0) >= 2,
    { timeout: 60_000, polling: 1000 },
  )
  await waitShown('.details img.latest', 30_000)
  const grabbed = await page.$eval('.details .grab-time', (element) => Date.parse(element.getAttribute('data-grabbed-at') ?? ''))
  assert.ok(Math.abs(Date.now() - grabbed) < 120_000, `the latest screenshot's grab time is ${new Date(grabbed).toISOString()}`)
  await waitShown('.shots img', 30_000)
  const canvases = await page.$$eval('.chart-plot canvas', (elements) => elements.length)
  assert.ok(canvases >= 7, `${canvases} uPlot canvases`)
  const band = await page.$eval('.status-band', (element) => Number(element.getAttribute('data-segments')))
  assert.ok(band >= 1, 'the status band shows the up period')
  await capture('stream-desktop-light')
})

test('streams page at desktop and phone width', async () => {
  await navigate('#/streams', `[data-stream-id="${STREAM_ID}"] img.thumb`)
  await waitShown(`[data-stream-id="${STREAM_ID}"] svg.sparkline`, 60_000)
  await capture('streams-desktop-light')
  await page.setViewport(PHONE)
  await capture('streams-phone-light')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 375 px screen`)
  await navigate(`#/streams/${STREAM_ID}`, '.stream-page .chart-plot')
  await capture('stream-phone-light')
  await page.setViewport(DESKTOP)
})

test('dark theme from the system and the toggle', async () => {
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }])
  await navigate(`#/streams/${STREAM_ID}`, '.stream-page .chart-plot')
  // matchMedia change listeners run after the emulation call returns.
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', { timeout: 5000 })
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  assert.is(background, 'rgb(18, 22, 28)')
  await capture('stream-desktop-dark')
  await page.click('.theme-toggle')
  assert.is(await page.evaluate(() => document.documentElement.dataset.theme), 'light')
  await page.click('.theme-toggle')
  assert.is(await page.evaluate(() => document.documentElement.dataset.theme), 'dark')
  await page.setViewport(PHONE)
  await navigate('#/streams', `[data-stream-id="${STREAM_ID}"]`)
  await capture('streams-phone-dark')
  await page.setViewport(DESKTOP)
  await page.evaluate(() => localStorage.removeItem('monit.theme'))
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }])
})

/** Player beacons of three viewers: two on Chrome for Linux and one on Firefox for Windows. */
async function sendViewerBeacons(): Promise<void> {
  const agents = [
    ['viewer-a', CHROME_LINUX],
    ['viewer-b', CHROME_LINUX],
    ['viewer-c', FIREFOX_WINDOWS],
  ] as const
  for (const [uniqueId, userAgent] of agents) {
    const response = await fetch(`${server.url}/api/data/heatmap/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify([{ stream_id: STREAM_ID, unique_id: uniqueId, app: 'dashboard-test', version: '1.0.0', host: '127.0.0.1' }]),
    })
    assert.ok(response.ok, `beacon of ${uniqueId}: ${response.status} ${await response.text()}`)
  }
}

test('viewers and settings pages', async () => {
  await sendViewerBeacons()
  await waitFor('the beacons to be stored', async () => {
    const { body } = await api('GET', `/api/query/unique/v1?stream_id=${STREAM_ID}`)
    return body.streams[0]?.unique_viewers === 3 || undefined
  }, 20_000)
  await navigate('#/viewers', '.viewers-page .breakdowns')
  assert.is(await page.$eval('[data-stat=unique] .stat-value', (element) => element.textContent), '3')
  const browsers = await page.$$eval('.breakdown', (elements) =>
    elements.map((element) => element.textContent ?? '').find((text) => text.startsWith('browsers')),
  )
  assert.match(browsers ?? '', 'Chrome')
  assert.match(browsers ?? '', 'Firefox')
  await capture('viewers-desktop-light')
  await navigate('#/settings', '.settings-page table.users')
  await page.type('input[name=token-name]', 'edge-9')
  await page.click('form.inline-form:has(input[name=token-name]) button[type=submit]')
  const token = await waitShown('[data-new-token]')
  const shown = await token.evaluate((element) => element.textContent ?? '')
  assert.ok(shown.length >= 20, 'the new token is shown once')
  const { body } = await api('GET', '/api/config/agent-tokens/v1')
  assert.ok(body.tokens.some((entry: { name: string }) => entry.name === 'edge-9'))
  await waitShown('table.users [data-user-id=admin]')

  const channel = await api('POST', '/api/config/alerts/v1/channels/ops-hook/create', {
    type: 'webhook',
    config: { url: 'http://127.0.0.1:9/hook', secret: 'dashboard-test-webhook-secret-0123' },
  })
  assert.is(channel.status, 201, JSON.stringify(channel.body))
  await page.reload({ waitUntil: 'load' })
  await waitShown('select[name=rule-channels] option[value=ops-hook]')
  await page.type('input[name=rule-id]', 'dash-down')
  await page.type('input[name=rule-streams]', STREAM_ID)
  await page.select('select[name=rule-channels]', 'ops-hook')
  // With for_s 0 the rule fires at once, so the stream-down test finds its alert open.
  await page.click('input[name=rule-for]', { clickCount: 3 })
  await page.type('input[name=rule-for]', '0')
  await page.click('form.rule-form button[type=submit]')
  await waitShown('table.rules tbody tr')
  const rule = await api('GET', '/api/config/alerts/v1/rules/dash-down')
  assert.is(rule.status, 200)
  assert.equal(rule.body.stream_ids, [STREAM_ID])
  assert.equal(rule.body.channels, ['ops-hook'])
  assert.is(rule.body.for_s, 0)
  await capture('settings-desktop-light')
})

test('agent going offline shows without reload', async () => {
  const { body } = await api('GET', `/api/state/streams/v1/${STREAM_ID}`)
  const idle = body.agent_id === 'edge-1' ? 'edge-2' : 'edge-1'
  await navigate('#/agents', `[data-agent-id="${idle}"][data-connected=true]`)
  await waitShown(`[data-agent-id="${body.agent_id}"] a[href="#/streams/${STREAM_ID}"]`)
  await capture('agents-desktop-light')

  await page.click(`[data-agent-id="${idle}"] button`)
  await waitShown(`[data-agent-id="${idle}"] .badge-degraded`)
  assert.is((await api('GET', `/api/agents/v1/${idle}`)).body.draining, true)
  await page.click(`[data-agent-id="${idle}"] button`)
  await page.waitForFunction((id: string) => !document.querySelector(`[data-agent-id="${id}"] .badge-degraded`), {}, idle)
  assert.is((await api('GET', `/api/agents/v1/${idle}`)).body.draining, false)

  await markDocument()
  await agents.get(idle)!.stop()
  await waitShown(`[data-agent-id="${idle}"][data-connected=false]`, 20_000)
  assert.ok(await documentMarked(), 'the page was not reloaded')
  const offline = await page.$eval('[data-stat=fleet-offline] .stat-value', (element) => element.textContent)
  assert.is(offline, '1')
  assert.ok(liveFrames.some((frame) => frame.includes('"type":"agent"') && frame.includes(idle) && frame.includes('"connected":false')))
  await capture('agents-offline-desktop-light')
})

test('stream edit, pause and start', async () => {
  await navigate(`#/streams/${STREAM_ID}/edit`, '.stream-form input[name=url]')
  await page.waitForFunction(() => document.querySelector('input[name=labels]')?.value !== '')
  await page.click('input[name=labels]', { clickCount: 3 })
  await page.type('input[name=labels]', 'region=test, tier=silver')
  await page.click('.stream-form button[type=submit]')
  await waitShown('.stream-page .details')
  await page.waitForFunction(() => document.querySelector('.details')?.textContent?.includes('tier=silver'))
  assert.equal((await api('GET', `/api/state/streams/v1/${STREAM_ID}`)).body.labels, { region: 'test', tier: 'silver' })

  await page.click('.stream-page .actions button:not(.danger)')
  await waitShown('.page-head .badge[data-status=paused]')
  assert.is((await api('GET', `/api/state/streams/v1/${STREAM_ID}`)).body.desired_state, 'down')
  await page.click('.stream-page .actions button:not(.danger)')
  await page.waitForFunction(() => !document.querySelector('.page-head .badge[data-status=paused]'))
  assert.is((await api('GET', `/api/state/streams/v1/${STREAM_ID}`)).body.desired_state, 'up')
})

test('viewer role sees no write controls', async () => {
  await server.tokenFor(Role.viewer)
  await page.click('header.top button:last-of-type')
  await logIn(`test-${Role.viewer}`, testPasswordOf(Role.viewer))
  await waitShown('header .who')
  assert.match(await page.$eval('.who', (element) => element.textContent ?? ''), 'test-viewer')
  await navigate('#/streams', `[data-stream-id="${STREAM_ID}"]`)
  assert.is(await page.$('a[href="#/streams/new"]'), null)
  await navigate(`#/streams/${STREAM_ID}`, '.stream-page .details')
  assert.is(await page.$('.stream-page .actions'), null)
  await navigate('#/agents', '.agent')
  assert.is(await page.$('.agent button'), null)
  await navigate('#/settings', '.settings-page')
  assert.is(await page.$('table.users'), null)
  assert.is(await page.$('input[name=token-name]'), null)
})

test('stream down shows error output and alert', async () => {
  await navigate(`#/streams/${STREAM_ID}`, '.stream-page .details')
  assert.is(await page.$('.failure'), null)
  await hls.stop()
  const output = await waitShown('.failure[data-status=down] pre.error-output', 45_000)
  const text = await output.evaluate((element) => element.textContent ?? '')
  assert.match(text, 'Connection refused')
  const overflow = await output.evaluate((element) => getComputedStyle(element).overflowY)
  assert.is(overflow, 'auto')
  await waitShown('.failure .failure-screenshot img', 10_000)
  const caption = await page.$eval('.failure .failure-screenshot figcaption', (element) => element.textContent ?? '')
  assert.match(caption, 'grabbed at')
  await capture('stream-down-desktop-light')

  // The dash-down rule of the settings test opens an alert for this stream.
  await navigate('#/streams', '.streams-page')
  const alert = await waitShown('.open-alerts tr[data-alert-id]', 30_000)
  assert.match(await alert.evaluate((element) => element.textContent ?? ''), STREAM_ID)
  await capture('streams-alert-desktop-light')
})

test('every screenshot has content', async () => {
  const checker = await browser.browser.newPage()
  try {
    for (const path of screenshots) {
      const base64 = (await readFile(path)).toString('base64')
      const stats = await checker.evaluate(async (data: string) => {
        const image = new Image()
        image.src = `data:image/png;base64,${data}`
        await image.decode()
        const canvas = document.createElement('canvas')
        canvas.width = image.naturalWidth
        canvas.height = image.naturalHeight
        const context = canvas.getContext('2d')!
        context.drawImage(image, 0, 0)
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data
        const counts = new Map<number, number>()
        for (let i = 0; i < pixels.length; i += 4) {
          // Colours quantized to 4 bits per channel.
          const key = ((pixels[i]! >> 4) << 8) | ((pixels[i + 1]! >> 4) << 4) | (pixels[i + 2]! >> 4)
          counts.set(key, (counts.get(key) ?? 0) + 1)
        }
        const total = pixels.length / 4
        const top = Math.max(...counts.values())
        return { width: canvas.width, colours: counts.size, otherShare: 1 - top / total }
      }, base64)
      assert.ok(stats.width >= 375, `${path}: ${stats.width} px wide`)
      assert.ok(stats.colours >= 8, `${path}: only ${stats.colours} distinct colours`)
      assert.ok(stats.otherShare >= 0.01, `${path}: ${(stats.otherShare * 100).toFixed(2)}% of pixels differ from the background`)
    }
  } finally {
    await checker.close()
  }
  assert.ok(screenshots.length >= 10, `${screenshots.length} screenshots`)
})

test('no console errors or outside requests', () => {
  assert.equal(problems, [])
})

test.run()
