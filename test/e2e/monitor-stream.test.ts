// A real controller and agent monitor real ffmpeg streams on 127.0.0.1:
// 1280x720, 25 fps, 2 Mbit/s video plus 48 kbit/s audio, 2 s GOP.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startHlsStream, startRtmpStream, startSrtStream, startUdpStream, stopAllTestStreams, type TestStream } from '../../testing/streams.ts'
import { assertTestStreamRow, startE2E, waitForNoProbes, waitForRows, type E2E } from '../../testing/e2e.ts'

// The RTMP and SRT test sources are ffmpeg listeners that serve one client
// at a time, so picture, sound and screenshot checks, which open their own
// connections, are turned off there: they would collide with the probe.
// Real RTMP and SRT servers take many clients.
const oneClientChecks = { av_interval_s: 0, screenshot_interval_s: 0 }
const protocols: Array<[string, () => Promise<TestStream>, object]> = [
  ['hls', () => startHlsStream(), {}],
  ['rtmp', () => startRtmpStream(), oneClientChecks],
  ['udp', () => startUdpStream(), {}],
  ['srt', () => startSrtStream(), oneClientChecks],
]
const only = process.env.MONIT_E2E_PROTOCOLS?.split(',')

const e2eSuite = suite<{ e2e?: E2E }>('monitor stream')

e2eSuite.before(async (context) => {
  context.e2e = await startE2E()
})

e2eSuite.after(async (context) => {
  await context.e2e?.stop()
  await stopAllTestStreams()
})

for (const [name, start, checks] of protocols) {
  if (only !== undefined && !only.includes(name)) continue

  e2eSuite(`${name} stream gives metrics, then down stops probing`, async ({ e2e }) => {
    const stream = await start()
    const streamId = `e2e-${name}`
    try {
      const created = await e2e!.api('POST', `/api/state/streams/v1/${streamId}/create`, {
        url: stream.url,
        probe: { interval_s: 10, sample_s: 5, timeout_s: 10, ...checks },
      })
      assert.is(created.status, 201)

      const rows = await waitForRows(e2e!, streamId, 2)
      assertTestStreamRow(rows.at(-1)!)
      const { body: state } = await e2e!.api('GET', `/api/state/streams/v1/${streamId}`)
      assert.is(state.status, 'up')
      assert.is(state.agent_id, 'edge-1')

      const down = await e2e!.api('POST', `/api/state/streams/v1/${streamId}/down`)
      assert.is(down.body.desired_state, 'down')
      await waitForNoProbes(e2e!)
      const { body: after } = await e2e!.api('GET', `/api/state/streams/v1/${streamId}`)
      assert.is(after.agent_id, null)
    } finally {
      await stream.stop()
    }
  })
}

e2eSuite.run()
