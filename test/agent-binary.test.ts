// dist/monit-agent, the single executable from scripts/build-agent.ts, runs
// from a temporary folder where neither node nor node_modules can be found
// and monitors a real HLS stream for a real controller.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PROTOCOL_VERSION } from '../protocol/src/index.ts'
import { AGENT_VERSION } from '../agent/src/version.ts'
import { waitForMetricsUrl } from '../testing/agent.ts'
import { startTestController, waitFor } from '../testing/controller.ts'
import { restClient, waitForRows } from '../testing/e2e.ts'
import { childrenNamed } from '../testing/processes.ts'
import { startHlsStream, stopAllTestStreams } from '../testing/streams.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'monit-agent-binary-'))
const binary = join(work, 'monit-agent')
const toolsDir = join(work, 'bin')

/** Builds dist/monit-agent; the build script keeps a binary whose inputs did not change. */
function buildBinary(): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-agent.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  })
  assert.is(result.status, 0, `build failed:\n${result.stdout}${result.stderr}`)
  return result.stdout
}

/** Path of a command on this machine's PATH, or undefined. */
function which(command: string, path = process.env.PATH ?? ''): string | undefined {
  // An absolute shell path: spawn looks a bare command up in env.PATH.
  const result = spawnSync('/bin/sh', ['-c', `command -v ${command}`], { encoding: 'utf8', env: { PATH: path } })
  return result.status === 0 ? result.stdout.trim() : undefined
}

/** Returns an environment with no Node.js: PATH has only ffprobe and ffmpeg, and nothing names node_modules. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: toolsDir, HOME: work, LANG: 'C.UTF-8', ...extra }
}

function runBinary(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { output(): string } {
  const child = spawn(binary, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  return Object.assign(child, { output: () => output })
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((done) => child.once('exit', (code) => done(code)))
}

test.before(() => {
  console.log(buildBinary().trim())
  copyFileSync(join(root, 'dist', 'monit-agent'), binary)
  mkdirSync(toolsDir)
  for (const tool of ['ffprobe', 'ffmpeg']) {
    const found = which(tool)
    if (found === undefined) throw new Error(`${tool} is not installed; run scripts/test-setup.sh`)
    symlinkSync(found, join(toolsDir, tool))
  }
})

test.after(async () => {
  await stopAllTestStreams()
  rmSync(work, { recursive: true, force: true })
})

test('bundle needs no native addon', () => {
  const bundle = readFileSync(join(root, 'build', 'agent', 'monit-agent.cjs'), 'utf8')
  assert.not.match(bundle, /require\(["'][^"']+\.node["']\)/)
  assert.not.match(bundle, /require\(["'](bufferutil|utf-8-validate)["']\)/)
})

test('test folder has no node or node_modules', () => {
  assert.is(which('node', toolsDir), undefined)
  assert.ok(which('ffprobe', toolsDir), 'ffprobe not found in the test PATH')
  for (let dir = work; ; dir = dirname(dir)) {
    assert.not.ok(existsSync(join(dir, 'node_modules')), `${dir}/node_modules exists`)
    if (dir === dirname(dir)) break
  }
})

test('binary prints its version', () => {
  const result = spawnSync(binary, ['--version'], { cwd: work, env: bareEnv(), encoding: 'utf8', timeout: 30_000 })
  assert.is(result.status, 0, result.stderr)
  assert.is(result.stdout.trim(), `monit-agent ${AGENT_VERSION} (protocol ${PROTOCOL_VERSION})`)
  assert.is(result.stderr, '', 'no warning on stderr')
})

test('binary rejects a missing controller', () => {
  const result = spawnSync(binary, [], { cwd: work, env: bareEnv({ MONIT_AGENT_TOKEN: 'x' }), encoding: 'utf8', timeout: 30_000 })
  assert.is(result.status, 2)
  assert.match(result.stderr, 'invalid setting --controller: missing')
})

test('binary monitors an HLS stream', async () => {
  const server = await startTestController()
  const api = restClient(server)
  const stream = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000 })
  const args = ['--controller', server.url, '--id', 'bin-1', '--name', 'bin-1', '--data-dir', join(work, 'data'), '--metrics-listen', '127.0.0.1:0']
  const agent = runBinary(args, bareEnv({ MONIT_AGENT_TOKEN: server.agentToken }))
  try {
    const registered = await waitFor('the binary agent to connect', async () => {
      const { body } = await api('GET', '/api/agents/v1')
      return body.agents.find((entry: { id: string; connected: boolean }) => entry.id === 'bin-1' && entry.connected)
    }, 30_000)
    assert.is(registered.version, AGENT_VERSION)

    const probe = { interval_s: 2, sample_s: 1, timeout_s: 10 }
    const created = await api('POST', '/api/state/streams/v1/bin-hls/create', { url: stream.url, probe })
    assert.is(created.status, 201)
    const rows = await waitForRows({ api }, 'bin-hls', 2)
    const last = rows.at(-1)!
    assert.is(last.width, 320, JSON.stringify(last))
    assert.is(last.height, 180, JSON.stringify(last))
    assert.ok(Math.abs(last.fps - 25) <= 1, JSON.stringify(last))

    const { body: state } = await api('GET', '/api/state/streams/v1/bin-hls')
    assert.is(state.status, 'up')
    assert.is(state.agent_id, 'bin-1')

    const metrics = await (await fetch(`${await waitForMetricsUrl(agent)}/metrics`)).text()
    assert.match(metrics, /^monit_agent_probes_total\{result="ok"\} [1-9]/m)
    assert.match(metrics, /^monit_agent_streams_running 1$/m)

    agent.kill('SIGTERM')
    assert.is(await exitOf(agent), 0, agent.output())
    assert.equal(childrenNamed(agent.pid!, ['ffprobe', 'ffmpeg']), [])
  } catch (error) {
    console.error(agent.output())
    throw error
  } finally {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL')
    await server.stop()
    await stream.stop()
  }
})

test.run()
