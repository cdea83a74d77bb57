import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import { analysePlaylist, PlaylistAnalyser } from '../src/analysis/playlist/analyser.ts'
import { freePort } from '../../testing/streams.ts'
import {
  liveSegments,
  masterPlaylist,
  mediaPlaylist,
  startPlaylistServer,
  type PlaylistServer,
  type SegmentSpec,
} from '../../testing/playlists.ts'

const START = Date.parse('2024-05-01T10:00:00.000Z')
const servers: PlaylistServer[] = []

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

async function server(options: { delayMs?: number } = {}): Promise<PlaylistServer> {
  const started = await startPlaylistServer(options)
  servers.push(started)
  return started
}

function live(sequence: number, count = 5, targetDuration = 6, prefix = 'seg'): string {
  const segments = liveSegments({
    firstSequence: sequence,
    count,
    duration: targetDuration,
    prefix,
  })
  return mediaPlaylist({ targetDuration, mediaSequence: sequence, segments })
}

function only<T>(items: T[]): T {
  assert.is(items.length, 1)
  return items[0]!
}

test.after(async () => {
  await Promise.all(servers.map((started) => started.stop()))
})

test('media sequence stuck at 41 is stale after 12 s', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(41) })
  http.segmentsUnder('/seg')
  const { logger, lines } = memoryLogger()
  let clock = START
  const analyser = new PlaylistAnalyser(`${http.url}/live.m3u8`, {
    streamId: 'frozen',
    logger,
    now: () => clock,
  })

  for (let elapsed = 0; elapsed <= 60_000; elapsed += 6_000) {
    clock = START + elapsed
    const report = await analyser.pass()
    const variant = only(report.variants)

    assert.is(report.ok, true, report.reason)
    assert.is(report.kind, 'media')
    assert.is(variant.playlist?.mediaSequence, 41)
    assert.is(variant.tracking?.stale, elapsed >= 12_000, `stale after ${elapsed} ms`)
    assert.is(variant.tracking?.state.sinceAdvanceMs, elapsed)
  }

  const staleLogs = lines.filter(
    (line) => line.msg === 'media playlist stale: no new segment for the stale limit',
  )
  assert.is(staleLogs.length, 1, 'the stale change is logged once')
  assert.is(staleLogs[0]!.stream_id, 'frozen')
  assert.ok(analyser.trackerFor(`${http.url}/live.m3u8`)?.isStale(), 'tracker is stale')
})

test('media sequence reset to 0 is reported', async () => {
  const http = await server()
  let sequence = 100
  http.route('/live.m3u8', () => ({ body: live(sequence) }))
  http.segmentsUnder('/seg')
  const { logger, lines } = memoryLogger()
  let clock = START
  const analyser = new PlaylistAnalyser(`${http.url}/live.m3u8`, {
    streamId: 'restart',
    logger,
    now: () => clock,
  })

  await analyser.pass()
  sequence = 0
  clock += 6_000
  const report = await analyser.pass()
  const tracking = only(report.variants).tracking

  assert.equal(tracking?.event, { kind: 'reset', from: 100, to: 0, at: START + 6_000 })
  assert.is(tracking?.state.counts.resets, 1)
  assert.is(tracking?.stale, false)
  assert.is(tracking?.missedSegments, 0)

  const warning = lines.find((line) => line.msg === 'media sequence reset')
  assert.ok(warning, 'reset is logged')
  assert.is(warning.stream_id, 'restart')
  assert.is(warning.from, 100)
  assert.is(warning.to, 0)
})

test('segment answering 404 is counted', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(41, 4) })
  http.segmentsUnder('/seg')
  http.route('/seg43.ts', { status: 404 })
  const analyser = new PlaylistAnalyser(`${http.url}/live.m3u8`, {
    streamId: 'holes',
    logger: pino({ level: 'silent' }),
    segments: 3,
  })

  const report = await analyser.pass()
  const variant = only(report.variants)
  assert.equal(
    variant.segments.map((segment) => [segment.sequence, segment.available, segment.status]),
    [
      [42, true, 200],
      [43, false, 404],
      [44, true, 200],
    ],
  )
  assert.is(variant.segments[1]!.reason, 'HTTP 404')
  assert.is(variant.available, true, 'other segments downloaded')

  assert.is(report.requests.requests, 4)
  assert.is(report.requests.errors, 1)
  assert.is(report.requests.errorShare, 0.25)
  assert.is(report.requests.alert, true)
  assert.equal(report.requests.byKind.segment, { requests: 3, errors: 1 })
  assert.equal(report.requests.byError, { '404': 1 })

  await analyser.pass()
  const totals = analyser.totals()
  assert.is(totals.requests, 8)
  assert.is(totals.errors, 2, 'each 404 counts')
  assert.equal(totals.byError, { '404': 2 })
})

test('error share at or below the alert share', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(0, 10) })
  http.segmentsUnder('/seg')
  http.route('/seg9.ts', { status: 404 })
  const options = { streamId: 'share', logger: pino({ level: 'silent' }), segments: 9 }

  // 1 playlist + 9 segments, one of them missing: exactly 10 %.
  const atLimit = await analysePlaylist(`${http.url}/live.m3u8`, options)
  assert.is(atLimit.requests.errorShare, 0.1)
  assert.is(atLimit.requests.alert, false)

  const lowered = await analysePlaylist(`${http.url}/live.m3u8`, {
    ...options,
    errorShareAlert: 0.05,
  })
  assert.is(lowered.requests.alert, true)
  assert.is(lowered.requests.alertShare, 0.05)
})

test('ad break behind discontinuity tags raises no violation', async () => {
  const http = await server()
  const ad = Date.parse('2000-01-01T00:00:00.000Z')
  const segments: SegmentSpec[] = [
    { duration: 6, uri: 'seg20.ts', programDateTime: START },
    { duration: 6, uri: 'seg21.ts', programDateTime: START + 6_000 },
    { duration: 5, uri: 'ad0.ts', programDateTime: ad, discontinuity: true },
    { duration: 5, uri: 'ad1.ts', programDateTime: ad + 5_000 },
    { duration: 6, uri: 'seg22.ts', programDateTime: START + 12_000, discontinuity: true },
  ]
  http.route('/live.m3u8', {
    body: mediaPlaylist({
      targetDuration: 6,
      mediaSequence: 20,
      discontinuitySequence: 7,
      segments,
    }),
  })
  http.segmentsUnder('/seg')
  const url = `${http.url}/live.m3u8`
  const analyser = new PlaylistAnalyser(url, { streamId: 'ads', logger: pino({ level: 'silent' }) })

  const report = await analyser.pass()
  const variant = only(report.variants)
  assert.is(variant.available, true, variant.reason)
  assert.is(variant.playlist?.discontinuitySequence, 7)
  assert.is(variant.tracking?.discontinuities, 2)
  assert.is(variant.tracking?.timestampJumps, 0)
  assert.is(variant.tracking?.durationViolations, 0)

  const tracker = analyser.trackerFor(url)
  assert.is(tracker?.isDiscontinuityBetween(21, 22), true)
  assert.is(tracker?.isDiscontinuityBetween(23, 24), true)
  assert.is(tracker?.isDiscontinuityBetween(20, 21), false)
})

test('master with slow variants checks highest and lowest', async () => {
  const http = await server({ delayMs: 1000 })
  const variants = Array.from({ length: 10 }, (_, i) => ({
    bandwidth: 200_000 * (i + 1),
    resolution: `${160 * (i + 1)}x${90 * (i + 1)}`,
    codecs: 'avc1.64001f,mp4a.40.2',
    uri: `v${i}/index.m3u8`,
  }))
  http.route('/master.m3u8', { body: masterPlaylist(variants) })
  for (let i = 0; i < 10; i++) http.route(`/v${i}/index.m3u8`, { body: live(100) })
  http.segmentsUnder('/v')

  const report = await analysePlaylist(`${http.url}/master.m3u8`, {
    streamId: 'ladder',
    logger: pino({ level: 'silent' }),
  })

  assert.is(report.ok, true, report.reason)
  assert.is(report.kind, 'master')
  assert.is(report.manifest?.variants, 10)
  assert.equal(
    report.variants.map((variant) => [variant.id, variant.bandwidth, variant.resolution]),
    [
      ['variant-0', 200_000, '160x90'],
      ['variant-9', 2_000_000, '1600x900'],
    ],
  )
  assert.equal([...http.requests].sort(), [
    '/master.m3u8',
    '/v0/index.m3u8',
    '/v0/seg104.ts',
    '/v9/index.m3u8',
    '/v9/seg104.ts',
  ])

  // The budget is the target duration (6 s), below the 10 s maximum.
  assert.is(report.budgetMs, 6_000)
  assert.is(report.deadlineHit, false)
  assert.ok(report.elapsedMs <= report.budgetMs, `elapsed ${report.elapsedMs} ms`)

  // The server waits 1000 ms before each response; 990 allows for timer rounding.
  assert.ok(report.manifest!.ttfbMs >= 990, `master ttfb ${report.manifest!.ttfbMs} ms`)
  for (const variant of report.variants) {
    assert.ok(variant.playlist!.ttfbMs! >= 990, `playlist ttfb ${variant.playlist!.ttfbMs} ms`)
    const segment = only(variant.segments)
    assert.is(segment.available, true, segment.reason)
    assert.is(segment.duration, 6)
    assert.ok(segment.ttfbMs! >= 990, `segment ttfb ${segment.ttfbMs} ms`)
    assert.ok(segment.totalMs! >= segment.ttfbMs!, 'total includes ttfb')
    assert.is(segment.downloadRatio, Math.round((segment.totalMs! / 6000) * 1000) / 1000)
    assert.ok(segment.downloadRatio! >= 0.165, `ratio ${segment.downloadRatio}`)
    assert.is(variant.maxDownloadRatio, segment.downloadRatio)
  }
})

test('pass stops at its time limit', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(0, 3, 2) })
  http.route('/seg2.ts', { delayMs: 3000 })

  const report = await analysePlaylist(`${http.url}/live.m3u8`, {
    streamId: 'slow',
    logger: pino({ level: 'silent' }),
  })
  const segment = only(only(report.variants).segments)

  assert.is(report.budgetMs, 2_000)
  assert.is(report.deadlineHit, true)
  assert.ok(
    report.elapsedMs < 3_000,
    `the pass ended before the segment arrived (${report.elapsedMs} ms)`,
  )
  assert.is(segment.available, false)
  assert.match(segment.reason ?? '', /pass time limit of 2000 ms reached/)
  assert.equal(report.requests.byError, { timeout: 1 })
})

test('fixed pass budget and request timeout', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(0, 3, 6) })
  http.route('/seg2.ts', { delayMs: 2000 })

  const report = await analysePlaylist(`${http.url}/live.m3u8`, {
    streamId: 'timeouts',
    logger: pino({ level: 'silent' }),
    passTimeoutMs: 8_000,
    requestTimeoutMs: 300,
  })
  const segment = only(only(report.variants).segments)

  assert.is(report.budgetMs, 8_000, 'a fixed budget does not shrink to the target duration')
  assert.is(report.deadlineHit, false)
  assert.is(segment.reason, 'timed out after 300 ms')
})

test('unavailable variant is reported with its reason', async () => {
  const http = await server()
  http.route('/master.m3u8', {
    body: masterPlaylist([
      { bandwidth: 500_000, uri: 'gone/index.m3u8' },
      { bandwidth: 900_000, uri: 'nested.m3u8' },
      { bandwidth: 3_000_000, uri: 'hd/index.m3u8' },
    ]),
  })
  http.route('/nested.m3u8', { body: masterPlaylist([{ bandwidth: 1, uri: 'x.m3u8' }]) })
  http.route('/hd/index.m3u8', { body: live(5) })
  http.segmentsUnder('/hd/')

  const report = await analysePlaylist(`${http.url}/master.m3u8`, {
    streamId: 'partial',
    logger: pino({ level: 'silent' }),
    variants: 'all',
  })

  assert.is(report.ok, true)
  const [gone, nested, hd] = report.variants
  assert.is(gone!.available, false)
  assert.is(gone!.reason, 'media playlist: HTTP 404')
  assert.is(nested!.available, false)
  assert.match(nested!.reason ?? '', /expected a media playlist/)
  assert.is(hd!.available, true)
  assert.equal(report.requests.byKind.playlist, { requests: 4, errors: 1 })
})

test('stream faults never reject the pass', async () => {
  const http = await server()
  http.route('/page.m3u8', { body: '<html>not a playlist</html>', contentType: 'text/html' })
  const logger = pino({ level: 'silent' })

  const html = await analysePlaylist(`${http.url}/page.m3u8`, { streamId: 'html', logger })
  assert.is(html.ok, false)
  assert.match(html.reason ?? '', /neither an HLS playlist/)

  const missing = await analysePlaylist(`${http.url}/missing.m3u8`, { streamId: 'missing', logger })
  assert.is(missing.ok, false)
  assert.is(missing.reason, 'manifest: HTTP 404')
  assert.is(missing.requests.errors, 1)

  const port = await freePort()
  const refused = await analysePlaylist(`http://127.0.0.1:${port}/live.m3u8`, {
    streamId: 'refused',
    logger,
  })
  assert.is(refused.ok, false)
  assert.match(refused.reason ?? '', /ECONNREFUSED/)
  assert.equal(refused.requests.byError, { network: 1 })

  const rtmp = await analysePlaylist('rtmp://127.0.0.1/live/stream', { streamId: 'rtmp', logger })
  assert.is(rtmp.ok, false)
  assert.match(rtmp.reason ?? '', /needs an http\(s\) URL/)
  assert.is(rtmp.requests.requests, 0)
})

test('byte-range segment request', async () => {
  const http = await server()
  const segments: SegmentSpec[] = [
    { duration: 2, uri: 'all.ts', byteRange: { length: 100, offset: 0 } },
    { duration: 2, uri: 'all.ts', byteRange: { length: 50 } },
  ]
  http.route('/live.m3u8', {
    body: mediaPlaylist({ targetDuration: 2, mediaSequence: 0, segments }),
  })
  http.route('/all.ts', {})
  const options = { streamId: 'ranges', logger: pino({ level: 'silent' }), segments: 2 }

  const report = await analysePlaylist(`${http.url}/live.m3u8`, options)
  const [first, second] = only(report.variants).segments
  assert.is(first!.status, 206)
  assert.is(first!.bytes, 100)
  assert.is(first!.reason, undefined)
  assert.is(second!.status, 206)
  assert.is(second!.bytes, 50, 'bytes 100-149 of the 188')

  http.route('/all.ts', { ignoreRange: true })
  const ignored = await analysePlaylist(`${http.url}/live.m3u8`, options)
  const whole = only(ignored.variants).segments[0]!
  assert.is(whole.status, 200)
  assert.is(whole.available, true)
  assert.match(whole.reason ?? '', /ignored the byte range/)
})

test('report is JSON-friendly', async () => {
  const http = await server()
  http.route('/live.m3u8', { body: live(3) })
  http.segmentsUnder('/seg')

  const report = await analysePlaylist(`${http.url}/live.m3u8`, {
    streamId: 'json',
    logger: pino({ level: 'silent' }),
  })
  const copy = JSON.parse(JSON.stringify(report))
  assert.equal(copy, report)
})

test.run()
