import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { activeChildren, configureMediaTools, killAll, MediaToolError, runMediaTool } from '../src/media/runner.ts'
import { inputArgs } from '../src/media/protocols.ts'
import { probeStream } from '../src/monitor/probe.ts'
import { processesMatching, startSilentTcpServer, stopAllTestStreams } from '../../testing/streams.ts'

const marker = () => `m${randomBytes(6).toString('hex')}`
/** A unique sleep length, so the test can find exactly its own processes. */
const uniqueSleep = () => `${300 + Math.floor(Math.random() * 600)}.${Math.floor(Math.random() * 1e6)}`

test.after.each(() => {
  configureMediaTools({ ffprobe: undefined, ffmpeg: undefined })
})
test.after(async () => {
  await killAll()
  await stopAllTestStreams()
})

test('real ffprobe runs and exits 0', async () => {
  const run = await runMediaTool('ffprobe', ['-hide_banner', '-version'], { deadlineMs: 10_000 })
  assert.is(run.code, 0)
  assert.match(run.stdout, /ffprobe version/)
  assert.is(run.timedOut, false)
  assert.is(activeChildren(), 0)
})

test('ffprobe on a silent TCP source is killed at the deadline and leaves no process', async () => {
  const silent = await startSilentTcpServer()
  const tag = marker()
  const url = `http://127.0.0.1:${silent.port}/${tag}.m3u8`
  const started = Date.now()
  const pending = runMediaTool('ffprobe', ['-v', 'error', ...inputArgs(url, 60)], { deadlineMs: 1500 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.is(activeChildren(), 1)
  assert.is(processesMatching(tag).length, 1)
  const run = await pending
  const elapsed = Date.now() - started
  assert.ok(run.timedOut)
  assert.is(run.signal, 'SIGKILL')
  assert.ok(elapsed >= 1400, `elapsed ${elapsed} ms`)
  assert.ok(elapsed < 4000, `elapsed ${elapsed} ms`)
  assert.is(activeChildren(), 0)
  assert.equal(processesMatching(tag), [])
  assert.ok(silent.accepted >= 1)
  await silent.stop()
})

test('the deadline kills the whole process group, grandchildren too', async () => {
  configureMediaTools({ ffprobe: '/bin/sh' })
  const sleep = uniqueSleep()
  const run = await runMediaTool('ffprobe', ['-c', `sleep ${sleep} & sleep ${sleep}; echo never`], { deadlineMs: 500 })
  assert.ok(run.timedOut)
  assert.not.match(run.stdout, /never/)
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(processesMatching(`sleep${'\0'}${sleep}`), [])
  assert.is(activeChildren(), 0)
})

test('abort signal kills the run', async () => {
  configureMediaTools({ ffprobe: '/bin/sh' })
  const sleep = uniqueSleep()
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 200)
  const started = Date.now()
  const run = await runMediaTool('ffprobe', ['-c', `sleep ${sleep}`], { deadlineMs: 60_000, signal: controller.signal })
  assert.ok(run.aborted)
  assert.not.ok(run.timedOut)
  assert.ok(Date.now() - started < 3000)
  assert.equal(processesMatching(`sleep${'\0'}${sleep}`), [])
})

test('an already aborted signal does not spawn', async () => {
  const controller = new AbortController()
  controller.abort()
  const run = await runMediaTool('ffprobe', ['-version'], { deadlineMs: 1000, signal: controller.signal })
  assert.ok(run.aborted)
  assert.is(activeChildren(), 0)
})

test('exit code and stderr tail are reported', async () => {
  configureMediaTools({ ffprobe: '/bin/sh' })
  const run = await runMediaTool('ffprobe', ['-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line $i" >&2; done; exit 3'], {
    deadlineMs: 20_000,
    stderrTailBytes: 1024,
  })
  assert.is(run.code, 3)
  assert.ok(run.stderr.length <= 1024)
  assert.match(run.stderr, /line 3000\n$/)
  assert.not.match(run.stderr, /line 1\n/)
})

test('stdout is bounded: the run is killed past maxStdoutBytes', async () => {
  configureMediaTools({ ffprobe: '/bin/sh' })
  const run = await runMediaTool('ffprobe', ['-c', 'exec yes monit-overflow'], { deadlineMs: 20_000, maxStdoutBytes: 10_000 })
  assert.ok(run.stdoutOverflow)
  assert.is(run.stdout.length, 10_000)
  assert.is(run.signal, 'SIGKILL')
  assert.is(activeChildren(), 0)
})

test('a missing binary is a clear error, not a crash', async () => {
  configureMediaTools({ ffprobe: '/nonexistent/bin/ffprobe' })
  let error: unknown
  try {
    await runMediaTool('ffprobe', ['-version'], { deadlineMs: 1000 })
  } catch (e) {
    error = e
  }
  assert.instance(error, MediaToolError)
  assert.is((error as MediaToolError).code, 'ENOENT')
  assert.match((error as Error).message, /ffprobe not found \(\/nonexistent\/bin\/ffprobe\)/)
  assert.is(activeChildren(), 0)

  const result = await probeStream('http://127.0.0.1:1/x.m3u8', { sample_s: 1, timeout_s: 1 })
  assert.is(result.ok, false)
  if (!result.ok) {
    assert.match(result.reason, /ffprobe not found/)
    assert.is(result.retryable, false)
  }
})

test('MONIT_FFPROBE selects the binary', async () => {
  process.env.MONIT_FFPROBE = '/nonexistent/ffprobe-from-env'
  try {
    await runMediaTool('ffprobe', ['-version'], { deadlineMs: 1000 })
    assert.unreachable('should have failed')
  } catch (error) {
    assert.match((error as Error).message, /ffprobe-from-env/)
  } finally {
    delete process.env.MONIT_FFPROBE
  }
})

test('activeChildren counts live runs and killAll ends them all', async () => {
  configureMediaTools({ ffprobe: '/bin/sh' })
  const sleep = uniqueSleep()
  const runs = [1, 2, 3].map(() => runMediaTool('ffprobe', ['-c', `sleep ${sleep}`], { deadlineMs: 60_000 }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.is(activeChildren(), 3)
  await killAll()
  assert.is(activeChildren(), 0)
  const results = await Promise.all(runs)
  for (const run of results) assert.ok(run.aborted)
  assert.equal(processesMatching(`sleep${'\0'}${sleep}`), [])
})

test.run()
