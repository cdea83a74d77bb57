// Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by
// puppeteer-core, with a fresh profile in a temporary folder. Puppeteer
// starts Chromium in a process group of its own; stop() closes the browser,
// kills whatever is left in that group, and removes the profile.
import { mkdtemp, rm } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'

export const CHROMIUM = process.env.MONIT_CHROMIUM || '/usr/bin/chromium'

/** Flags that keep Chromium from reaching any host but the ones a page loads. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

export interface TestBrowser {
  browser: Browser
  profileDir: string
  /** Pids of this browser's process group that are still running. */
  processes(): number[]
  /**
   * Closes the browser and returns the pids of its group that were still
   * running 5 s later, which it then kills. Idempotent.
   */
  stop(): Promise<number[]>
}

export async function startBrowser(): Promise<TestBrowser> {
  const profileDir = await mkdtemp(join(tmpdir(), 'monit-chromium-'))
  let browser: Browser
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Talks to Chromium over a pipe rather than a debugging port.
      pipe: true,
      userDataDir: profileDir,
      args: CHROMIUM_FLAGS,
      protocolTimeout: 60_000,
    })
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true })
    throw error
  }

  const groupId = browser.process()?.pid
  const processes = () => (groupId === undefined ? [] : processesInGroup(groupId))
  let stopping: Promise<number[]> | undefined
  const stop = async (): Promise<number[]> => {
    let left: number[] = []
    try {
      await browser.close()
      left = await waitForExit(processes, 5000)
    } finally {
      if (groupId !== undefined && processes().length > 0) {
        left = processes()
        try {
          process.kill(-groupId, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
      await rm(profileDir, { recursive: true, force: true })
    }
    return left
  }
  return { browser, profileDir, processes, stop: () => (stopping ??= stop()) }
}

async function waitForExit(processes: () => number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  let left = processes()
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100))
    left = processes()
  }
  return left
}

/** Pids of live processes whose process group is groupId, from /proc/PID/stat. */
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
    if (fields[0] !== 'Z' && Number(fields[2]) === groupId) found.push(Number(entry))
  }
  return found
}
