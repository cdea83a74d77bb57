// Sources that never answer properly: each probe ends at its timeout, the
// stream is reported down with a reason, and no ffprobe is left behind.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startNotFoundServer, startSilentTcpServer, stopAllTestStreams } from '../../testing/streams.ts'
import { startE2E, waitForNoProbes, type E2E } from '../../testing/e2e.ts'
import { waitFor } from '../../testing/controller.ts'
import { childrenNamed } from '../../testing/processes.ts'

const dead = suite<{ e2e?: E2E }>('dead sources')

dead.before(async (context) => {
  context.e2e = await startE2E()
})

dead.after(async (context) => {
  await context.e2e?.stop()
  await stopAllTestStreams()
})

async function expectDown(e2e: E2E, streamId: string, url: string, reason: RegExp): Promise<void> {
  const created = await e2e.api('POST', `/api/state/streams/v1/${streamId}/create`, {
    url,
    probe: { interval_s: 5, sample_s: 2, timeout_s: 3 },
  })
  assert.is(created.status, 201)

  const state = await waitFor(`${streamId} to be reported down`, async () => {
    const { body } = await e2e.api('GET', `/api/state/streams/v1/${streamId}`)
    return body.status === 'down' ? body : undefined
  }, 40_000)
  assert.match(state.status_reason, reason)

  // Probing goes on at the interval, one probe at a time per stream.
  const probes = childrenNamed(e2e.agent.child.pid!, ['ffprobe'])
  assert.ok(probes.length <= 1, `more than one ffprobe running: ${JSON.stringify(probes)}`)

  await e2e.api('POST', `/api/state/streams/v1/${streamId}/down`)
  await waitForNoProbes(e2e)
}

dead('silent TCP source is down with a timeout', async ({ e2e }) => {
  const silent = await startSilentTcpServer()
  await expectDown(e2e!, 'silent', silent.url('http'), /timed out|timeout|no data/i)
  assert.ok(silent.accepted >= 1)
  await silent.stop()
})

dead('404 playlist is down as not found', async ({ e2e }) => {
  const notFound = await startNotFoundServer()
  await expectDown(e2e!, 'missing', notFound.playlistUrl, /404|not found/i)
  await notFound.stop()
})

dead('unreachable port is down as refused', async ({ e2e }) => {
  await expectDown(e2e!, 'refused', 'http://127.0.0.1:9/live/index.m3u8', /refused/i)
})

dead('agent stays up through dead sources', async ({ e2e }) => {
  const { body } = await e2e!.api('GET', '/api/agents/v1')
  assert.is(body.agents[0].connected, true)
  assert.is(e2e!.agent.child.exitCode, null)
})

dead.run()
