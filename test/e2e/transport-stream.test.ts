// A real controller and agent process probe three edited MPEG-TS inputs,
// served as HLS on 127.0.0.1: one with continuity errors, one with four
// programmes (two empty) and an SCTE-35 PID, and one whose first PMT lists
// audio only. The agent reads the segments itself, and the TR 101 290
// counts and the programme list land in ClickHouse (chDB) beside the metrics.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { TsProgram } from '@monit/protocol'
import { startE2E, type E2E } from '../../testing/e2e.ts'
import { waitFor } from '../../testing/controller.ts'
import { startStaticServer, type TestHttpServer } from '../../testing/http-server.ts'
import { removeTempFolder } from '../../agent/test/mpegts-helpers.ts'
import { DROPPED_PACKETS, SCTE35_PID, writeTsInputs } from '../../agent/test/ts-inputs.ts'

interface TsRow {
  stream_id: string
  width: number
  height: number
  codecs: string
  ts_sync_loss: number | null
  ts_pat_error: number | null
  ts_pmt_error: number | null
  ts_cc_error: number | null
  ts_pid_error: number | null
  ts_pcr: number | null
  ts_programs: string
}

const e2eSuite = suite<{ e2e?: E2E; server?: TestHttpServer; dir?: string }>('transport stream analysis')

e2eSuite.before(async (context) => {
  context.dir = mkdtempSync(join(tmpdir(), 'monit-e2e-ts-'))
  writeTsInputs(context.dir)
  context.server = await startStaticServer(context.dir)
  context.e2e = await startE2E()
})

e2eSuite.after(async (context) => {
  await context.e2e?.stop()
  await context.server?.stop()
  if (context.dir) rmSync(context.dir, { recursive: true, force: true })
  removeTempFolder()
})

/** Creates a stream probed every 3 s; the inputs never change, so the test ends before the 30 s stale rule. */
async function createStream(e2e: E2E, server: TestHttpServer, streamId: string, name: string): Promise<void> {
  const created = await e2e.api('POST', `/api/state/streams/v1/${streamId}/create`, {
    url: `http://127.0.0.1:${server.port}/${name}.m3u8`,
    probe: { interval_s: 3, sample_s: 2, timeout_s: 10 },
  })
  assert.is(created.status, 201, JSON.stringify(created.body))
}

function waitForTsRow(e2e: E2E, streamId: string): Promise<TsRow> {
  const storage = e2e.server.controller.context.storage
  return waitFor(`a metrics row with TS counts of ${streamId}`, async () => {
    const rows = await storage.query<TsRow>(
      `SELECT stream_id, width, height, codecs, ts_sync_loss, ts_pat_error, ts_pmt_error, ts_cc_error, ts_pid_error, ts_pcr, ts_programs
       FROM ${storage.table('metrics')} WHERE stream_id = {stream:String} AND ts_cc_error IS NOT NULL ORDER BY insert_ts DESC LIMIT 1`,
      { stream: streamId },
    )
    return rows[0]
  }, 60_000, 1000)
}

function streamsOf(row: TsRow): string[][] {
  const programs = JSON.parse(row.ts_programs) as TsProgram[]
  return programs.map((program) => program.streams.map((stream) => `${stream.pid}:${stream.kind}:${stream.codec}`))
}

e2eSuite('continuity errors stored, stream degraded', async ({ e2e, server }) => {
  await createStream(e2e!, server!, 'ts-cc', 'cc-errors')
  const row = await waitForTsRow(e2e!, 'ts-cc')
  assert.is(row.ts_cc_error, DROPPED_PACKETS)
  assert.is(row.ts_sync_loss, 0)
  assert.is(row.ts_pat_error, 0)
  assert.is(row.ts_pmt_error, 0)
  assert.is(row.ts_pid_error, 0)
  assert.is(row.ts_pcr, 1)
  assert.equal(streamsOf(row), [['512:video:h264', '513:audio:aac']])

  const state = await waitFor('ts-cc to be degraded', async () => {
    const { body } = await e2e!.api('GET', '/api/state/streams/v1/ts-cc')
    return body.status === 'degraded' ? body : undefined
  }, 30_000)
  assert.match(state.status_reason ?? '', 'continuity errors')
})

e2eSuite('programmes and SCTE-35 stored, stream up', async ({ e2e, server }) => {
  await createStream(e2e!, server!, 'ts-programs', 'programs')
  const row = await waitForTsRow(e2e!, 'ts-programs')
  assert.is(row.ts_cc_error, 0)
  assert.is(row.ts_pid_error, 0)
  assert.equal(streamsOf(row), [['256:video:h264', '257:audio:aac', `${SCTE35_PID}:scte35:scte_35`], ['258:audio:aac'], [], []])
  const programs = JSON.parse(row.ts_programs) as TsProgram[]
  assert.equal(programs.map((program) => program.program_number), [1, 2, 3, 4])
  assert.is(row.codecs, 'h264,aac')
  assert.is(row.width, 160)

  const state = await waitFor('ts-programs to have a status', async () => {
    const { body } = await e2e!.api('GET', '/api/state/streams/v1/ts-programs')
    return body.status ?? undefined
  }, 30_000)
  assert.is(state, 'up')
})

e2eSuite('PMT adding video followed', async ({ e2e, server }) => {
  await createStream(e2e!, server!, 'ts-late-video', 'late-video')
  const row = await waitForTsRow(e2e!, 'ts-late-video')
  assert.equal(streamsOf(row), [['512:video:h264', '513:audio:aac']])
  assert.is(row.ts_cc_error, 0)
  assert.is(row.width, 160)
  assert.is(row.height, 90)
  assert.is(row.codecs, 'h264,aac')
})

e2eSuite.run()
