// The parent side of the fleet benchmark's load processes
// (fleet-agents.ts), and a process's CPU over a window.
import { execSync, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AgentsReport, ParentRequest } from './fleet-agents.ts'
import { cpuSeconds } from './processes.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** CPU seconds a process uses over `seconds` of wall time. */
export async function cpuOver(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid)
  await sleep(seconds * 1000)
  return cpuSeconds(pid) - before
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

/** Returns the soft limit of open files of this process, which the children it starts inherit. */
export function openFileLimit(): number {
  return Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim())
}

/** One fleet-agents.ts process and the latest of each report it sent. */
export class LoadProcess {
  readonly child: ChildProcess
  welcomed: Extract<AgentsReport, { type: 'welcomed' }> | undefined
  progress: Extract<AgentsReport, { type: 'progress' }> = { type: 'progress', welcomed: 0, streams: 0, lastPerformAt: 0 }
  metrics: Extract<AgentsReport, { type: 'metrics' }> | undefined
  failure: string | undefined

  constructor(wsUrl: string, token: string, firstIndex: number, count: number, capacity: number, heartbeatS: number) {
    const entry = join(root, 'bench/helpers/fleet-agents.ts')
    const args = [wsUrl, token, String(firstIndex), String(count), String(capacity), String(heartbeatS)]
    this.child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (report: AgentsReport) => {
      if (report.type === 'welcomed') this.welcomed = report
      else if (report.type === 'progress') this.progress = report
      else if (report.type === 'metrics') this.metrics = report
      else this.failure = report.message
    })
    this.child.once('exit', (code) => {
      if (code !== 0 && code !== null) this.failure ??= `load process exited with code ${code}`
    })
  }

  request(message: ParentRequest): void {
    this.child.send(message)
  }

  /** Asks the agents to close their sockets and waits for the process to end, killing it after 10 s. */
  stop(): Promise<void> {
    return new Promise((done) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return done()
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
      this.child.once('exit', () => {
        clearTimeout(timer)
        done()
      })
      if (this.child.connected) this.request({ type: 'stop' })
      else this.child.kill('SIGTERM')
    })
  }
}

/** Polls `check` every 100 ms until it returns true; throws after timeoutMs or when a load process failed. */
export async function waitFor(what: string, loads: readonly LoadProcess[], timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    const failed = loads.find((load) => load.failure !== undefined)
    if (failed !== undefined) throw new Error(`${what}: ${failed.failure}`)
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${timeoutMs / 1000} s`)
    await sleep(100)
  }
}
