import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PlaylistAnalyser } from '../src/analysis/playlist/analyser.ts'
import { parseMediaPlaylist } from '../src/analysis/playlist/hls.ts'
import type { PlaylistReport, VariantReport } from '../src/analysis/playlist/report.ts'
import { startHlsStream, stopAllTestStreams, type HlsStream } from '../../testing/streams.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let stream: HlsStream | undefined

test.before(async () => {
  stream = await startHlsStream({
    width: 320,
    height: 180,
    fps: 10,
    videoBitrate: 200_000,
    audio: false,
  })
})

test.after(async () => {
  await stopAllTestStreams()
})

function variantOf(report: PlaylistReport): VariantReport {
  assert.is(report.ok, true, report.reason)
  assert.is(report.variants.length, 1)
  return report.variants[0]!
}

test('ffmpeg playlist parses', async () => {
  const text = await readFile(join(stream!.dir, 'index.m3u8'), 'utf8')
  const playlist = parseMediaPlaylist(text)

  assert.is(playlist.targetDuration, 2)
  assert.is(playlist.endList, false)
  assert.ok(playlist.segments.length >= 3, `${playlist.segments.length} segments`)
  assert.equal(playlist.warnings, [])
  for (const segment of playlist.segments) {
    assert.match(segment.uri, /^seg\d{5}\.ts$/)
    assert.ok(segment.duration > 0, `duration ${segment.duration}`)
    assert.ok(Math.round(segment.duration) <= 2, `duration ${segment.duration}`)
  }
})

test('ffmpeg live playlist advances between passes', async () => {
  const url = stream!.url
  const analyser = new PlaylistAnalyser(url, {
    streamId: 'ffmpeg-live',
    logger: pino({ level: 'silent' }),
  })

  const first = variantOf(await analyser.pass())
  assert.is(first.available, true, first.reason)
  assert.is(first.playlist?.targetDuration, 2)
  assert.is(first.tracking?.durationViolations, 0)
  const firstNewest = first.tracking!.state.newestSequence!
  const segment = first.segments[0]!
  assert.is(segment.available, true, segment.reason)
  assert.ok(segment.bytes! > 0, 'segment has bytes')
  assert.ok(segment.downloadRatio! > 0, 'download ratio computed')

  // ffmpeg adds a 2 s segment every 2 s; poll for up to 12 s rather than assume a rate.
  let second: VariantReport | undefined
  for (let attempt = 0; attempt < 12; attempt++) {
    await sleep(1000)
    second = variantOf(await analyser.pass())
    if (second.tracking?.advanced) break
  }

  const tracking = second!.tracking!
  assert.is(tracking.advanced, true, 'a new segment appeared')
  assert.ok(
    tracking.state.newestSequence! > firstNewest,
    `newest ${tracking.state.newestSequence} after ${firstNewest}`,
  )
  assert.ok(tracking.newSegments >= 1)
  assert.is(tracking.stale, false)
  assert.is(tracking.event, undefined)
  assert.is(tracking.missedSegments, 0)
  assert.is(tracking.state.counts.durationViolations, 0)
  assert.is(second!.segments[0]!.available, true, second!.segments[0]!.reason)
  assert.is(analyser.totals().errors, 0)
})

test.run()
