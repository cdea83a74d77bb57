// Per-stream check settings and status evidence end to end: a real
// controller, a real agent process and a live HLS test stream on 127.0.0.1.
// The stream's own settings turn on screenshots every 2 s and set a bitrate
// floor; when the source dies, its `down` status carries ffprobe's error
// output and names a screenshot taken before the change.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'
import { waitFor } from '../../testing/controller.ts'
import { startE2E, type E2E } from '../../testing/e2e.ts'

const base = '/api/state/streams/v1'
/** Far above the test stream's 300 kbit/s video. */
const HIGH_FLOOR = 50_000_000

let e2e: E2E
let hls: HlsStream

interface StatusRow {
  ts: string
  status: string
  reason: string
  error_output: string
  screenshot: { ts: string; ts_ms: number; url: string } | null
}

async function waitForStatus(status: string, reason: RegExp, timeoutMs = 45_000): Promise<Record<string, any>> {
  let last = 'no status'
  try {
    return await waitFor(`cam to be ${status} (${reason})`, async () => {
      const { body } = await e2e.api('GET', `${base}/cam`)
      last = `${body.status} (${body.status_reason})`
      return body.status === status && reason.test(body.status_reason) ? body : undefined
    }, timeoutMs, 500)
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${last}`)
  }
}

async function statusRows(): Promise<StatusRow[]> {
  const { status, body } = await e2e.api('GET', '/api/query/statuses/v1?stream_id=cam')
  assert.is(status, 200, JSON.stringify(body))
  return body.rows as StatusRow[]
}

test.before(async () => {
  e2e = await startE2E()
  hls = await startHlsStream({ width: 320, height: 180, videoBitrate: 300_000 })
})

test.after(async () => {
  await e2e?.stop()
  await stopAllTestStreams()
})

test('stream settings reach the agent', async () => {
  const probe = { interval_s: 3, sample_s: 2, timeout_s: 3, av_interval_s: 0, screenshot_interval_s: 2 }
  const created = await e2e.api('POST', `${base}/cam/create`, { url: hls.url, probe })
  assert.is(created.status, 201, JSON.stringify(created.body))
  await waitForStatus('up', /^ok$/)
  const shots = await waitFor('a screenshot of cam', async () => {
    const { body } = await e2e.api('GET', `${base}/cam/screenshots`)
    return body.screenshots.length > 0 ? body.screenshots : undefined
  }, 45_000, 500)
  assert.ok(shots[0].size > 0)
})

test('bitrate floor degrades, clearing it recovers', async () => {
  const before = (await e2e.api('GET', `${base}/cam`)).body
  const raised = await e2e.api('POST', `${base}/cam/update`, { probe: { min_bitrate: HIGH_FLOOR } })
  assert.is(raised.status, 200, JSON.stringify(raised.body))
  const degraded = await waitForStatus('degraded', /low bitrate/)
  assert.is(degraded.epoch, before.epoch, 'a settings change keeps the assignment')

  const cleared = await e2e.api('POST', `${base}/cam/update`, { probe: { min_bitrate: null } })
  assert.is(cleared.status, 200)
  await waitForStatus('up', /^ok$/)
})

test('dead source is down with evidence', async () => {
  const stoppedAt = Date.now()
  await hls.stop()
  const state = await waitForStatus('down', /refused/i)

  const rows = await waitFor('the down row in statuses', async () => {
    const found = (await statusRows()).filter((row) => row.status === 'down')
    return found.length > 0 ? found : undefined
  }, 30_000, 500)
  const down = rows.at(-1)!
  assert.match(down.reason, /refused/i)
  assert.match(down.error_output, /Connection refused/)
  assert.ok(down.error_output.length <= 2048, `${down.error_output.length} characters of error output`)
  assert.match(down.error_output, `${hls.url}: Connection refused`)

  assert.ok(down.screenshot !== null, 'the down row names a screenshot')
  // A grab already running when the source stopped may finish just after stoppedAt, but before the change.
  assert.ok(down.screenshot!.ts_ms < Date.parse(down.ts), 'the screenshot was taken before the change')
  assert.ok(down.screenshot!.ts_ms < stoppedAt + 5000, 'the screenshot was taken while the source ran')
  const image = await fetch(`${e2e.server.url}${down.screenshot!.url}`, { headers: await e2e.server.authHeaders() })
  assert.is(image.status, 200)
  assert.is(image.headers.get('content-type'), 'image/jpeg')

  assert.equal(state.status_screenshot, down.screenshot)
  const up = (await statusRows()).find((row) => row.status === 'up')
  assert.is(up?.error_output, '')
})

test.run()
