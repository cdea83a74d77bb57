// One headless Chromium driven by puppeteer-core, with a fresh profile in a
// temporary folder. Puppeteer starts Chromium detached, so the browser and
// its helpers (zygote, renderers, GPU and network services) share a process
// group whose id is the browser's pid. close() ends that whole group.
import { mkdtemp, rm } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'

export const DEFAULT_CHROMIUM = '/usr/bin/chromium'

/** Flags that keep Chromium from reaching any host but the ones a page loads. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Player pages often start muted videos on their own; no user gesture exists here.
  '--autoplay-policy=no-user-gesture-required',
  // Pooled tabs load pages side by side, and a tab in the background must
  // still run its player as a foreground one would.
  '--disable-background-media-suspend',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  // A tab reset to about:blank would otherwise keep the checked page alive in
  // the back-forward cache, one renderer process per check.
  '--disable-back-forward-cache',
  '--disable-features=BackForwardCache',
]

/** Milliseconds browser.close() may take before the process group is killed. */
const CLOSE_GRACE_MS = 5000

export class Chromium {
  readonly browser: Browser
  /** Process group of the browser and its helpers (the browser's pid). */
  readonly groupId: number | undefined
  private readonly profileDir: string
  private closing: Promise<void> | undefined

  private constructor(browser: Browser, profileDir: string) {
    this.browser = browser
    this.profileDir = profileDir
    this.groupId = browser.process()?.pid
  }

  /** Starts Chromium at `executablePath`; removes the profile again when the start fails. */
  static async launch(executablePath: string): Promise<Chromium> {
    const profileDir = await mkdtemp(join(tmpdir(), 'monit-page-'))
    try {
      const browser = await puppeteer.launch({
        executablePath,
        headless: true,
        // Talks to Chromium over a pipe, so no debugging port is opened.
        pipe: true,
        userDataDir: profileDir,
        args: CHROMIUM_FLAGS,
        protocolTimeout: 30_000,
      })
      return new Chromium(browser, profileDir)
    } catch (error) {
      await rm(profileDir, { recursive: true, force: true })
      throw error
    }
  }

  get connected(): boolean {
    return this.browser.connected
  }

  /** Pids in the browser's process group, zombies included. */
  processes(): number[] {
    return this.groupId === undefined ? [] : processesInGroup(this.groupId)
  }

  /**
   * Closes the browser, kills what is left of its process group after
   * CLOSE_GRACE_MS and removes the profile. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce(): Promise<void> {
    const closed = this.browser.close().catch(() => undefined)
    await Promise.race([closed, delay(CLOSE_GRACE_MS)])
    await this.waitForGroupExit(CLOSE_GRACE_MS)
    if (this.groupId !== undefined && this.processes().length > 0) {
      try {
        process.kill(-this.groupId, 'SIGKILL')
      } catch {
        // The group ended meanwhile.
      }
      await this.waitForGroupExit(CLOSE_GRACE_MS)
    }
    await rm(this.profileDir, { recursive: true, force: true })
  }

  /** Waits until no process of the group is left, zombies included, or the time is up. */
  private async waitForGroupExit(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.processes().length > 0 && Date.now() < deadline) await delay(50)
  }
}

/** Pids whose process group is groupId, from /proc/PID/stat; zombies included. */
export function processesInGroup(groupId: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // Exited meanwhile.
    }
    // The fields after the command name in parentheses: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === groupId) found.push(Number(entry))
  }
  return found
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
