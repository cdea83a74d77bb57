// The CLI's check setting flags of `streams create|update`, run as a child
// process against a real test controller.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, TEST_ADMIN_PASSWORD, type TestController } from '../testing/controller.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

let server: TestController
let configDir: string

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `monit ARGS` with this file's config folder and collects its exit code and output. */
function monit(args: string[], stdin = ''): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, MONIT_CONFIG_DIR: configDir }
  delete env.MONIT_PASSWORD
  delete env.MONIT_CONTROLLER
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/src/main.ts', ...args], { cwd: root, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.stdin.end(stdin)
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })))
}

async function ok(args: string[]): Promise<RunResult> {
  const result = await monit(args)
  assert.is(result.code, 0, `monit ${args.join(' ')}: ${result.stderr}`)
  return result
}

test.before(async () => {
  server = await startTestController(['--login-rate-limit', '1000'])
  configDir = await mkdtemp(join(tmpdir(), 'monit-cli-settings-'))
  const login = await monit(['login', '--controller', server.url, '--username', 'admin', '--password-stdin'], `${TEST_ADMIN_PASSWORD}\n`)
  assert.is(login.code, 0, login.stderr)
})

test.after(async () => {
  await server?.stop()
  await rm(configDir, { recursive: true, force: true })
})

test('create sets the check settings', async () => {
  const flags = ['--av-interval', '30', '--av-sample', '8', '--screenshot-interval', '15']
  flags.push('--page-url', 'http://127.0.0.1:9/player.html', '--page-interval', '45', '--min-bitrate', '500000')
  const created = await ok(['streams', 'create', 'cam-1', '--url', 'http://127.0.0.1:9/live.m3u8', ...flags, '--json'])
  const body = JSON.parse(created.stdout)
  assert.equal(body.probe, {
    interval_s: 10,
    sample_s: 5,
    timeout_s: 10,
    av_interval_s: 30,
    av_sample_s: 8,
    screenshot_interval_s: 15,
    page_url: 'http://127.0.0.1:9/player.html',
    page_interval_s: 45,
    min_bitrate: 500_000,
  })
})

test('show prints the check settings', async () => {
  const shown = await ok(['streams', 'show', 'cam-1'])
  assert.match(shown.stdout, /^av check:\s+every 30 s, sample 8 s$/m)
  assert.match(shown.stdout, /^screenshots:\s+every 15 s$/m)
  assert.match(shown.stdout, /^player page:\s+http:\/\/127\.0\.0\.1:9\/player\.html \(every 45 s\)$/m)
  assert.match(shown.stdout, /^min bitrate:\s+500000 bit\/s$/m)
})

test('update changes and clears settings', async () => {
  const updated = await ok(['streams', 'update', 'cam-1', '--screenshot-interval', '0', '--page-url', '', '--min-bitrate', '', '--json'])
  const body = JSON.parse(updated.stdout)
  assert.is(body.probe.screenshot_interval_s, 0)
  assert.not.ok('page_url' in body.probe)
  assert.not.ok('min_bitrate' in body.probe)
  assert.is(body.probe.av_interval_s, 30, 'other settings unchanged')

  const shown = await ok(['streams', 'show', 'cam-1'])
  assert.match(shown.stdout, /^screenshots:\s+off$/m)
  assert.match(shown.stdout, /^player page:\s+-$/m)
})

test('invalid page URL exits 2 with the API error', async () => {
  const result = await monit(['streams', 'update', 'cam-1', '--page-url', 'ftp://127.0.0.1/player.html'])
  assert.is(result.code, 2, result.stderr)
  assert.match(result.stderr, 'body/probe/page_url')
})

test('non-numeric interval is a usage error', async () => {
  const result = await monit(['streams', 'update', 'cam-1', '--av-interval', 'often'])
  assert.is(result.code, 2)
  assert.match(result.stderr, '--av-interval: expected a whole number, got "often"')
})

test('help lists the check flags', async () => {
  const help = await ok(['streams', 'create', '--help'])
  for (const flag of ['--av-interval', '--av-sample', '--screenshot-interval', '--page-url', '--page-interval', '--min-bitrate']) {
    assert.match(help.stdout, flag)
  }
})

test.run()
