// Child processes for the benchmarks: a controller on a loopback port, and
// readings of a process's peak memory and CPU time.
import { execSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const clockTicks = Number(execSync('getconf CLK_TCK').toString().trim()) || 100

/** CPU seconds (user + system) a running process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name in brackets may contain spaces, so the fields are counted after its closing bracket.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the line (counting from 1), so indexes 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

export interface ControllerProcess {
  url: string
  dataDir: string
  child: ChildProcess
  stop(): Promise<void>
}

/** Starts `monit-controller serve` on 127.0.0.1:port with a fresh data folder. */
export async function startControllerProcess(port: number, env: Record<string, string> = {}): Promise<ControllerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'monit-bench-'))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'controller/src/main.ts'), '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    {
      cwd: root,
      env: { ...process.env, MONIT_LOG_LEVEL: 'warn', MONIT_ADMIN_PASSWORD: 'bench-admin-password', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/healthz`, 60_000)

  return {
    url,
    dataDir,
    child,
    stop: () => stopProcess(child),
  }
}

export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 200))
  }
  throw new Error(`${url} did not respond within ${timeoutMs} ms`)
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', () => {
      clearTimeout(timer)
      done()
    })
    child.kill('SIGTERM')
  })
}

/** Peak resident memory (VmHWM) of a running process, in MiB. */
export function peakMemoryMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status)
  return match ? Number(match[1]) / 1024 : NaN
}

/** Runs a TypeScript helper in its own process and parses the JSON line it prints last. */
export function runHelper<T>(file: string, args: string[] = []): Promise<T> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, file), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => {
      const last = output.trim().split('\n').at(-1) ?? ''
      if (code !== 0) return fail(new Error(`${file} exited with ${code}: ${last}`))
      done(JSON.parse(last) as T)
    })
  })
}

/** Prints one figure beside its baseline, with the ratio. */
export function report(name: string, value: number, unit: string, baseline?: { name: string; value: number }, goal?: string): void {
  const figure = `${name}: ${format(value)} ${unit}`
  if (baseline === undefined) {
    console.log(figure)
    return
  }
  const ratio = value / baseline.value
  console.log(`${figure}; baseline ${baseline.name}: ${format(baseline.value)} ${unit}; ratio ${ratio.toFixed(2)}x${goal ? ` (goal ${goal})` : ''}`)
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)
}
