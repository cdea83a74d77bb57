// Runs every *.test.ts file in its own Node process (chDB allows one data
// folder per process), a few at a time, and ends with the plain summary line
// "N passed, N failed, N skipped" that CI reads.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const searchRoots = ['protocol', 'controller', 'agent', 'test']
const jobs = Number(process.env.MONIT_TEST_JOBS ?? 2)
const fileTimeoutMs = Number(process.env.MONIT_TEST_FILE_TIMEOUT_S ?? 300) * 1000
const filters = process.argv.slice(2)

function findTests(dir: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  const found: string[] = []
  for (const entry of entries) {
    if (entry === 'node_modules') continue
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) found.push(...findTests(path))
    else if (entry.endsWith('.test.ts')) found.push(path)
  }
  return found
}

interface FileResult {
  file: string
  passed: number
  failed: number
  skipped: number
  output: string
  seconds: number
}

function readCount(output: string, label: string): number | undefined {
  const match = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output)
  return match ? Number(match[1]) : undefined
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      output += `\ntest file timed out after ${fileTimeoutMs / 1000} s; killed\n`
      killGroup(child.pid)
    }, fileTimeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      // A test file may leave children behind when it fails; its group goes with it.
      killGroup(child.pid)
      const total = readCount(output, 'Total')
      const passed = readCount(output, 'Passed') ?? 0
      const skipped = readCount(output, 'Skipped') ?? 0
      // uvu's Total leaves skipped tests out.
      let failed = total === undefined ? 0 : total - passed
      if (code !== 0 && failed === 0) failed = 1
      const name = relative(root, file)
      resolve({ file: name, passed, failed, skipped, output, seconds: (Date.now() - started) / 1000 })
    })
  })
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is already gone.
  }
}

async function main(): Promise<void> {
  const files = searchRoots
    .flatMap((dir) => findTests(join(root, dir)))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort()
  const queue = [...files]
  const results: FileResult[] = []

  async function worker(): Promise<void> {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file)
      results.push(result)
      const verdict = result.failed > 0 ? 'FAIL' : 'ok'
      console.log(`${verdict.padEnd(4)} ${result.file} (${result.passed} passed, ${result.failed} failed, ${result.seconds.toFixed(1)} s)`)
      if (result.failed > 0 || process.env.MONIT_TEST_VERBOSE) console.log(result.output)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker))

  const sum = (key: 'passed' | 'failed' | 'skipped') => results.reduce((total, r) => total + r[key], 0)
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`)
  process.exitCode = sum('failed') > 0 || files.length === 0 ? 1 : 0
}

await main()
