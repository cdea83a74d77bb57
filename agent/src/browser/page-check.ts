// One player page check: load the page in a pooled Chromium tab, wait for a
// <video> element to play, take a JPEG screenshot and list what went wrong
// (console errors, failed requests, uncaught exceptions, no playback).
import type { ConsoleMessage, HTTPRequest, HTTPResponse, Page } from 'puppeteer-core'
import type { PageError } from '@monit/protocol'
import { MAX_SCREENSHOT_BYTES } from '@monit/protocol'
import type { PagePool } from './page-pool.ts'

export const DEFAULT_PLAY_TIMEOUT_S = 20
/** Milliseconds a video's currentTime must keep advancing to count as playing. */
export const PLAY_WINDOW_MS = 2000
const POLL_MS = 250
const MAX_ERRORS = 100
const MAX_TEXT = 2048
const VIEWPORT = { width: 1280, height: 720 }
const JPEG_QUALITY = 70

export interface PageCheckSettings {
  /** Seconds from the start of the load until a video must play (default 20). */
  play_timeout_s?: number
}

export interface PageCheckResult {
  /** The page loaded and a video played. */
  ok: boolean
  playing: boolean
  errors: PageError[]
  load_ms: number | null
  time_to_play_ms: number | null
  /** Screenshot of the page at the end of the check, when one could be taken. */
  jpeg: Buffer | undefined
}

/** Checks one page. Never rejects: a failure is listed in `errors` and makes ok false. */
export async function checkPage(
  pool: PagePool,
  url: string,
  settings: PageCheckSettings = {},
  options: { signal?: AbortSignal } = {},
): Promise<PageCheckResult> {
  const timeoutMs = (settings.play_timeout_s ?? DEFAULT_PLAY_TIMEOUT_S) * 1000
  let page: Page
  try {
    page = await pool.acquire(options.signal)
  } catch (error) {
    const text = `browser unavailable: ${(error as Error).message}`
    return failed([{ kind: 'load', text: clip(text) }])
  }
  try {
    return await inspect(page, url, timeoutMs, options.signal)
  } finally {
    await pool.release(page)
  }
}

function failed(errors: PageError[]): PageCheckResult {
  return { ok: false, playing: false, errors, load_ms: null, time_to_play_ms: null, jpeg: undefined }
}

async function inspect(page: Page, url: string, timeoutMs: number, signal?: AbortSignal): Promise<PageCheckResult> {
  const errors = new ErrorList()
  const detach = watchPage(page, errors)
  try {
    await page.setViewport(VIEWPORT)
    const started = Date.now()
    const loadMs = await load(page, url, timeoutMs, errors, signal)
    let playedAt: number | undefined
    if (loadMs !== null) {
      const remainingMs = Math.max(0, started + timeoutMs - Date.now())
      playedAt = await waitForPlayback(page, remainingMs, signal)
      if (!page.browser().connected) {
        errors.add('load', 'Chromium disconnected during the check')
      } else if (playedAt === undefined && !signal?.aborted) {
        errors.add('no_video', `no video playing within ${timeoutMs / 1000} s`)
      }
    }
    const skipScreenshot = signal?.aborted === true || !page.browser().connected
    const jpeg = skipScreenshot ? undefined : await screenshot(page, errors)
    const playing = playedAt !== undefined
    const timeToPlay = playedAt === undefined || loadMs === null ? null : Math.max(0, playedAt - started - loadMs)
    return { ok: loadMs !== null && playing, playing, errors: errors.list, load_ms: loadMs, time_to_play_ms: timeToPlay, jpeg }
  } finally {
    detach()
  }
}

/** Navigates to the page; returns ms until the load event, or null when it failed. */
async function load(page: Page, url: string, timeoutMs: number, errors: ErrorList, signal?: AbortSignal): Promise<number | null> {
  const started = Date.now()
  try {
    const navigation = page.goto(url, { waitUntil: 'load', timeout: timeoutMs })
    const response = await raceAbort(navigation, signal)
    if (response !== null && response.status() >= 400) {
      errors.add('load', `page returned HTTP ${response.status()}`)
      return null
    }
    return Date.now() - started
  } catch (error) {
    errors.add('load', `page load failed: ${(error as Error).message}`)
    return null
  }
}

/**
 * Polls the currentTime of every <video> element. Returns the wall-clock time
 * at which one started advancing, once it kept advancing for PLAY_WINDOW_MS;
 * undefined when none did within timeoutMs.
 */
async function waitForPlayback(page: Page, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs
  // Per video index: when its current run of advancing samples began, and the last currentTime.
  const runs = new Map<number, { since: number; last: number }>()
  while (!signal?.aborted && page.browser().connected) {
    const now = Date.now()
    const times = await readVideoTimes(page)
    for (const [index, time] of times.entries()) {
      const run = runs.get(index)
      if (run === undefined || time <= run.last) {
        runs.set(index, { since: now, last: time })
        continue
      }
      run.last = time
      if (now - run.since >= PLAY_WINDOW_MS) return run.since
    }
    if (Date.now() + POLL_MS > deadline) return undefined
    await sleep(POLL_MS, signal)
  }
  return undefined
}

/** Returns the currentTime of each <video> element, in document order. */
async function readVideoTimes(page: Page): Promise<number[]> {
  // A string, because the agent is compiled without the DOM types.
  const script = "[...document.querySelectorAll('video')].map((video) => video.currentTime)"
  try {
    const times: unknown = await page.evaluate(script)
    return Array.isArray(times) ? times.filter((time): time is number => typeof time === 'number') : []
  } catch {
    return [] // The page may be navigating itself; the next poll reads the new document.
  }
}

async function screenshot(page: Page, errors: ErrorList): Promise<Buffer | undefined> {
  try {
    const data = await page.screenshot({ type: 'jpeg', quality: JPEG_QUALITY })
    const jpeg = Buffer.from(data)
    if (jpeg.length > MAX_SCREENSHOT_BYTES) return undefined
    return jpeg
  } catch (error) {
    errors.add('load', `page screenshot failed: ${(error as Error).message}`)
    return undefined
  }
}

/** Collects console errors, failed requests and uncaught exceptions; returns the function that stops it. */
function watchPage(page: Page, errors: ErrorList): () => void {
  const onConsole = (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.add('console', message.text())
  }
  const onException = (error: unknown) => {
    errors.add('exception', error instanceof Error ? error.message : String(error))
  }
  const onRequestFailed = (request: HTTPRequest) => {
    const reason = request.failure()?.errorText ?? 'failed'
    errors.add('request', `${reason} ${request.url()}`)
  }
  const onResponse = (response: HTTPResponse) => {
    if (response.status() >= 400) errors.add('request', `HTTP ${response.status()} ${response.url()}`)
  }
  page.on('console', onConsole)
  page.on('pageerror', onException)
  page.on('requestfailed', onRequestFailed)
  page.on('response', onResponse)
  return () => {
    page.off('console', onConsole)
    page.off('pageerror', onException)
    page.off('requestfailed', onRequestFailed)
    page.off('response', onResponse)
  }
}

class ErrorList {
  readonly list: PageError[] = []

  add(kind: PageError['kind'], text: string): void {
    if (this.list.length < MAX_ERRORS) this.list.push({ kind, text: clip(text) })
  }
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text
}

function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise
  promise.catch(() => undefined)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}
