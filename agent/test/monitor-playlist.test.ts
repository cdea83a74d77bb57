import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import type { Perform } from '@monit/protocol'
import type { PlaylistReport } from '../src/analysis/playlist/report.ts'
import { activeChildren } from '../src/media/runner.ts'
import { MonitorSet } from '../src/monitor/monitor-set.ts'
import type { ProbeFn, ProbeResult } from '../src/monitor/probe.ts'
import type { StatusUpdate } from '../src/monitor/stream-monitor.ts'
import { summarisePlaylist } from '../src/monitor/playlist-summary.ts'
import { liveSegments, mediaPlaylist, startPlaylistServer } from '../../testing/playlists.ts'
import { startHlsStream } from '../../testing/streams.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const okProbe: ProbeFn = async () =>
  ({
    ok: true,
    metrics: {
      bitrate: 2_000_000,
      frames: 25,
      fps: 25,
      width: 1280,
      height: 720,
      bytes: 250_000,
      seconds: 1,
      keyframe_interval: 25,
      codecs: 'h264',
      probe_duration_ms: 1,
    },
    packets: 100,
    durationMs: 1,
  }) satisfies ProbeResult

function perform(url: string, intervalS: number): Perform {
  return { type: 'perform', stream_id: 'cam-1', url, epoch: 1, probe: { interval_s: intervalS, sample_s: 1, timeout_s: 3 } }
}

function makeSet(probe?: ProbeFn) {
  const statuses: StatusUpdate[] = []
  const reports: PlaylistReport[] = []
  const set = new MonitorSet({
    logger: pino({ level: 'silent' }),
    onMetrics: () => {},
    onStatus: (status) => statuses.push(status),
    probe,
    random: () => 0,
    playlistChecks: true,
    onPlaylist: (report) => reports.push(report),
  })
  return { set, statuses, reports }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await sleep(50)
}

test('playlist stuck at sequence 41: degraded as stale playlist', async () => {
  const server = await startPlaylistServer()
  const segments = liveSegments({ firstSequence: 41, count: 3, duration: 1 })
  server.route('/live.m3u8', { body: mediaPlaylist({ targetDuration: 1, mediaSequence: 41, segments }) })
  server.segmentsUnder('/seg')
  const { set, statuses, reports } = makeSet(okProbe)
  try {
    set.perform(perform(`${server.url}/live.m3u8`, 0.3))
    await waitFor(() => statuses.length >= 2, 6000)
    assert.equal(
      statuses.map((s) => [s.status, s.reason]),
      [
        ['up', 'ok'],
        ['degraded', 'stale playlist'],
      ],
    )
    const last = reports.at(-1)!
    assert.is(last.ok, true)
    assert.is(last.variants[0]?.playlist?.mediaSequence, 41)
    assert.is(last.variants[0]?.tracking?.stale, true)
    const summary = summarisePlaylist(last, 1)
    assert.is(summary.stale, true)
    assert.is(summary.media_sequence, 41)
    assert.is(summary.variants_total, 1)
    assert.is(summary.variants_ok, 1)
    assert.is(summary.errors, 0)
    assert.is(summary.epoch, 1)
  } finally {
    await set.stopAll()
    await server.stop()
  }
})

test('segments answering 404: degraded as high error share', async () => {
  const server = await startPlaylistServer()
  const started = Date.now()
  // The media sequence advances every second, so only the errors degrade it.
  server.route('/live.m3u8', () => {
    const first = 41 + Math.floor((Date.now() - started) / 1000)
    const segments = liveSegments({ firstSequence: first, count: 3, duration: 1 })
    return { body: mediaPlaylist({ targetDuration: 1, mediaSequence: first, segments }) }
  })
  const { set, statuses, reports } = makeSet(okProbe)
  try {
    set.perform(perform(`${server.url}/live.m3u8`, 0.3))
    await waitFor(() => statuses.length >= 2, 4000)
    assert.equal(
      statuses.map((s) => [s.status, s.reason]),
      [
        ['up', 'ok'],
        ['degraded', 'high error share'],
      ],
    )
    const last = reports.at(-1)!
    assert.is(last.requests.alert, true)
    assert.ok((last.requests.byError['404'] ?? 0) > 0, JSON.stringify(last.requests.byError))
    const summary = summarisePlaylist(last, 1)
    assert.is(summary.variants_ok, 0)
    assert.ok(summary.error_share > 0.1, `error share ${summary.error_share}`)
  } finally {
    await set.stopAll()
    await server.stop()
  }
})

test('URL that serves no playlist: analysis turns off', async () => {
  const server = await startPlaylistServer()
  server.route('/live.ts', {})
  const { set, statuses, reports } = makeSet(okProbe)
  try {
    set.perform(perform(`${server.url}/live.ts`, 0.2))
    await sleep(900)
    assert.equal(statuses.map((s) => s.status), ['up'])
    assert.is(reports.length, 0)
    assert.is(server.requests.filter((path) => path === '/live.ts').length, 1)
  } finally {
    await set.stopAll()
    await server.stop()
  }
})

test('live ffmpeg HLS stays up with playlist checks', async () => {
  const stream = await startHlsStream()
  const { set, statuses, reports } = makeSet()
  try {
    set.perform(perform(stream.url, 1))
    await sleep(9000)
    assert.equal(statuses.map((s) => [s.status, s.reason]), [['up', 'ok']])
    assert.ok(reports.length >= 5, `reports ${reports.length}`)
    for (const report of reports) {
      assert.is(report.ok, true)
      assert.is(report.requests.errors, 0)
      assert.is(report.variants[0]?.tracking?.stale, false)
    }
  } finally {
    await set.stopAll()
    await stream.stop()
  }
  assert.is(activeChildren(), 0)
})

test.run()
