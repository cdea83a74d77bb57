// A bounded pool of Chromium tabs shared by every page check of an agent.
// Chromium starts at the first acquire, and a browser that crashed or
// disconnected is closed and started again at the next one.
import type { Page } from 'puppeteer-core'
import type { Logger } from 'pino'
import { Chromium } from './chromium.ts'

export const DEFAULT_POOL_SIZE = 2

export interface PagePoolOptions {
  executablePath: string
  /** Tabs open at once; a check waits for a free one (default 2). */
  size?: number
  logger: Logger
}

/** Milliseconds a tab may take to go back to about:blank before it is closed instead. */
const RESET_TIMEOUT_MS = 5000

export class PagePool {
  private readonly size: number
  private readonly log: Logger
  private chromium: Promise<Chromium> | undefined
  private ensuring: Promise<Chromium> | undefined
  private readonly idle: Page[] = []
  private leased = 0
  private readonly waiters: Array<() => void> = []
  private closed = false

  constructor(private readonly options: PagePoolOptions) {
    this.size = Math.max(1, options.size ?? DEFAULT_POOL_SIZE)
    this.log = options.logger
  }

  /** Returns the running browser when one was started and is still connected (tests). */
  async browser(): Promise<Chromium | undefined> {
    const chromium = await this.chromium?.catch(() => undefined)
    return chromium?.connected ? chromium : undefined
  }

  /** Leases a blank tab, waiting for a free one; rejects when the signal aborts or the pool closes. */
  async acquire(signal?: AbortSignal): Promise<Page> {
    while (this.leased >= this.size) await this.waitForRelease(signal)
    this.leased++
    try {
      const chromium = await this.running()
      const page = this.idle.pop()
      if (page !== undefined && !page.isClosed()) return page
      // A window of its own keeps each tab visible: Chromium defers and pauses
      // media in a background tab, which would fail concurrent checks.
      return await chromium.browser.newPage({ type: 'window' })
    } catch (error) {
      this.returnLease()
      throw error
    }
  }

  /** Resets a leased tab to about:blank and keeps it, or closes it when the reset fails. */
  async release(page: Page): Promise<void> {
    try {
      await page.goto('about:blank', { timeout: RESET_TIMEOUT_MS })
      if (this.closed || page.isClosed()) return
      this.idle.push(page)
    } catch (error) {
      this.log.warn({ err: error }, 'resetting a browser tab failed; closing it')
      await page.close().catch(() => undefined)
    } finally {
      this.returnLease()
    }
  }

  /** Closes the browser and waits until no Chromium process is left. */
  async close(): Promise<void> {
    this.closed = true
    for (const wake of this.waiters.splice(0)) wake()
    this.idle.length = 0
    const chromium = await this.chromium?.catch(() => undefined)
    this.chromium = undefined
    await chromium?.close()
  }

  /** Returns a connected browser, starting one when there is none or the last one died. */
  private running(): Promise<Chromium> {
    // One caller at a time, so concurrent checks never start two browsers.
    this.ensuring ??= this.ensureRunning().finally(() => {
      this.ensuring = undefined
    })
    return this.ensuring
  }

  private async ensureRunning(): Promise<Chromium> {
    if (this.closed) throw new Error('page pool is closed')
    const current = await this.chromium?.catch(() => undefined)
    if (current?.connected) return current
    if (current !== undefined) {
      this.log.warn({ pid: current.groupId }, 'Chromium disconnected; starting it again')
      this.idle.length = 0
      await current.close()
    }
    return this.start()
  }

  private async start(): Promise<Chromium> {
    const starting = Chromium.launch(this.options.executablePath)
    this.chromium = starting
    const chromium = await starting
    this.log.info({ pid: chromium.groupId }, 'Chromium started')
    if (this.closed) {
      await chromium.close()
      throw new Error('page pool is closed')
    }
    return chromium
  }

  private returnLease(): void {
    this.leased--
    this.waiters.shift()?.()
  }

  private waitForRelease(signal: AbortSignal | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new Error('page pool is closed'))
    if (signal?.aborted) return Promise.reject(new Error('aborted'))
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(wake)
        if (index >= 0) this.waiters.splice(index, 1)
        reject(new Error('aborted'))
      }
      const wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.waiters.push(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
