import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { analysePlaylist } from '../src/analysis/playlist/analyser.ts'
import {
  currentPeriod,
  fillTemplate,
  newestDashSegments,
} from '../src/analysis/playlist/dash-segments.ts'
import {
  MpdParseError,
  parseIsoDuration,
  parseMpd,
  type DashManifest,
} from '../src/analysis/playlist/dash.ts'
import { startPlaylistServer, type PlaylistServer } from '../../testing/playlists.ts'

const logger = pino({ level: 'silent' })
const BASE = 'http://127.0.0.1:9/live/manifest.mpd'

const STATIC_MPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT30S" minBufferTime="PT2S">
  <BaseURL>media/</BaseURL>
  <Period id="p0">
    <AdaptationSet contentType="video" mimeType="video/mp4" codecs="avc1.64001f">
      <SegmentTemplate media="$RepresentationID$/seg-$Number%05d$.m4s" initialization="$RepresentationID$/init.mp4" timescale="1000" duration="2000" startNumber="1"/>
      <Representation id="360p" bandwidth="800000" width="640" height="360"/>
      <Representation id="720p" bandwidth="2500000" width="1280" height="720"/>
      <Representation id="1080p" bandwidth="5000000" width="1920" height="1080"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4" codecs="mp4a.40.2" lang="en">
      <SegmentTemplate media="audio/$Bandwidth$/$Number$.m4s" timescale="48000" duration="96000"/>
      <Representation id="a128" bandwidth="128000"/>
    </AdaptationSet>
    <AdaptationSet mimeType="video/mp4">
      <Representation id="indexed" bandwidth="100000">
        <BaseURL>single.mp4</BaseURL>
        <SegmentBase indexRange="0-999"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`

function timelineMpd(options: {
  availabilityStart: number
  timeline: string
  media?: string
}): string {
  return `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="${new Date(options.availabilityStart).toISOString()}"
     minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT30S" maxSegmentDuration="PT2S">
  <Period id="live" start="PT0S">
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <SegmentTemplate media="${options.media ?? 'v/$RepresentationID$/$Time$.m4s'}" timescale="90000" startNumber="10">
        <SegmentTimeline>${options.timeline}</SegmentTimeline>
      </SegmentTemplate>
      <Representation id="low" bandwidth="500000" width="480" height="270"/>
      <Representation id="high" bandwidth="3000000" width="1280" height="720"/>
    </AdaptationSet>
  </Period>
</MPD>`
}

function newestUrls(
  manifest: DashManifest,
  representationId: string,
  now: number,
  count = 1,
): string[] {
  const period = currentPeriod(manifest, now)
  const representation = period?.representations.find(
    (candidate) => candidate.id === representationId,
  )
  if (!period || !representation) throw new Error(`representation ${representationId} not found`)

  const result = newestDashSegments(manifest, period, representation, now, count)
  if (!result.ok) throw new Error(result.reason)
  return result.segments.map((segment) => segment.url)
}

test('ISO 8601 durations', () => {
  assert.is(parseIsoDuration('PT1H2M3.5S'), 3723.5)
  assert.is(parseIsoDuration('P1DT1S'), 86_401)
  assert.is(parseIsoDuration('PT0S'), 0)
  assert.is(parseIsoDuration('PT'), undefined)
  assert.is(parseIsoDuration('P'), undefined)
  assert.is(parseIsoDuration('10s'), undefined)
})

test('template filling', () => {
  const values = { representationId: 'v1', number: 7, time: 180000, bandwidth: 800000 }
  assert.is(fillTemplate('$RepresentationID$/$Number%05d$.m4s', values), 'v1/00007.m4s')
  assert.is(fillTemplate('$Bandwidth$-$Time$.m4s', values), '800000-180000.m4s')
  assert.is(fillTemplate('a$$b-$Number$', values), 'a$b-7')
})

test('static MPD representations', () => {
  const manifest = parseMpd(STATIC_MPD, BASE)
  assert.is(manifest.type, 'static')
  assert.is(manifest.mediaPresentationDuration, 30)
  assert.is(manifest.periods.length, 1)
  assert.equal(manifest.warnings, [])

  const period = manifest.periods[0]!
  assert.is(period.id, 'p0')
  assert.is(period.duration, 30, 'the last period ends with the presentation')
  assert.equal(
    period.representations.map((representation) => representation.id),
    ['360p', '720p', '1080p', 'a128', 'indexed'],
  )

  const hd = period.representations[1]!
  assert.is(hd.contentType, 'video')
  assert.is(hd.bandwidth, 2_500_000)
  assert.is(hd.width, 1280)
  assert.is(hd.height, 720)
  assert.is(hd.codecs, 'avc1.64001f')
  assert.is(hd.baseUrl, 'http://127.0.0.1:9/live/media/')
  assert.is(hd.template?.duration, 2000)
  assert.is(hd.unsupported, undefined)

  const indexed = period.representations[4]!
  assert.is(indexed.contentType, 'video', 'from mimeType')
  assert.is(indexed.baseUrl, 'http://127.0.0.1:9/live/media/single.mp4')
  assert.is(indexed.unsupported, 'SegmentBase is not supported')
})

test('static MPD newest segment by number', () => {
  const manifest = parseMpd(STATIC_MPD, BASE)
  assert.equal(newestUrls(manifest, '720p', Date.now(), 2), [
    'http://127.0.0.1:9/live/media/720p/seg-00014.m4s',
    'http://127.0.0.1:9/live/media/720p/seg-00015.m4s',
  ])
  assert.equal(newestUrls(manifest, 'a128', Date.now()), [
    'http://127.0.0.1:9/live/media/audio/128000/15.m4s',
  ])
})

test('unsupported representation has a reason', () => {
  const manifest = parseMpd(STATIC_MPD, BASE)
  const period = manifest.periods[0]!
  const result = newestDashSegments(manifest, period, period.representations[4]!, Date.now())
  assert.equal(result, { ok: false, reason: 'SegmentBase is not supported' })
})

test('dynamic MPD timeline with repeats', () => {
  const timeline = '<S t="9000000" d="180000" r="2"/><S d="180000"/>'
  const manifest = parseMpd(
    timelineMpd({ availabilityStart: Date.now() - 3_600_000, timeline }),
    BASE,
  )
  assert.is(manifest.type, 'dynamic')
  assert.is(manifest.maxSegmentDuration, 2)

  const period = manifest.periods[0]!
  const result = newestDashSegments(manifest, period, period.representations[1]!, Date.now(), 2)
  assert.equal(result, {
    ok: true,
    segments: [
      {
        url: 'http://127.0.0.1:9/live/v/high/9360000.m4s',
        number: 12,
        time: 9_360_000,
        duration: 2,
      },
      {
        url: 'http://127.0.0.1:9/live/v/high/9540000.m4s',
        number: 13,
        time: 9_540_000,
        duration: 2,
      },
    ],
  })
})

test('dynamic MPD open timeline follows the clock', () => {
  const now = Date.parse('2024-05-01T10:01:00.500Z')
  const timeline = '<S t="0" d="180000" r="-1"/>'
  const xml = timelineMpd({
    availabilityStart: now - 60_500,
    timeline,
    media: 'v/$RepresentationID$/$Number$.m4s',
  })
  const manifest = parseMpd(xml, BASE)

  // 60.5 s after the start, 30 segments of 2 s have ended: numbers 10..39.
  assert.equal(newestUrls(manifest, 'low', now), ['http://127.0.0.1:9/live/v/low/39.m4s'])
  assert.equal(newestUrls(manifest, 'low', now + 2_000), ['http://127.0.0.1:9/live/v/low/40.m4s'])
})

test('dynamic MPD duration template follows the clock', () => {
  const now = Date.parse('2024-05-01T10:00:00.000Z')
  const xml = `<MPD type="dynamic" availabilityStartTime="${new Date(now - 61_000).toISOString()}">
    <Period start="PT0S"><AdaptationSet contentType="video">
      <SegmentTemplate media="$Number$.ts" duration="2" startNumber="0"/>
      <Representation id="only" bandwidth="1"/>
    </AdaptationSet></Period></MPD>`
  const manifest = parseMpd(xml, BASE)
  assert.equal(newestUrls(manifest, 'only', now), ['http://127.0.0.1:9/live/29.ts'])

  const early = parseMpd(
    xml.replace(
      /availabilityStartTime="[^"]+"/,
      `availabilityStartTime="${new Date(now).toISOString()}"`,
    ),
    BASE,
  )
  const period = early.periods[0]!
  assert.equal(newestDashSegments(early, period, period.representations[0]!, now + 1_000), {
    ok: false,
    reason: 'no segment is available yet',
  })
})

test('current period of a multi-period live MPD', () => {
  const now = Date.parse('2024-05-01T10:00:00.000Z')
  const xml = `<MPD type="dynamic" availabilityStartTime="${new Date(now - 100_000).toISOString()}">
    <Period id="a" start="PT0S"/><Period id="b" start="PT90S"/><Period id="c" start="PT200S"/></MPD>`
  const manifest = parseMpd(xml, BASE)
  assert.is(currentPeriod(manifest, now)?.id, 'b')
})

test('invalid MPD text is rejected', () => {
  assert.throws(
    () => parseMpd('#EXTM3U', BASE),
    (error: Error) => error instanceof MpdParseError,
  )
  assert.throws(() => parseMpd('<MPD><Period></MPD>', BASE), /invalid MPD XML/)
  assert.throws(() => parseMpd('<html></html>', BASE), /root element is not <MPD>/)
})

let server: PlaylistServer | undefined

test.after(async () => {
  await server?.stop()
})

test('DASH pass checks highest and lowest video', async () => {
  server = await startPlaylistServer()
  server.route('/live/manifest.mpd', { body: STATIC_MPD })
  server.segmentsUnder('/live/media/360p/')
  server.segmentsUnder('/live/media/1080p/')

  const report = await analysePlaylist(`${server.url}/live/manifest.mpd`, {
    streamId: 'dash-1',
    logger,
  })

  assert.is(report.ok, true, report.reason)
  assert.is(report.format, 'dash')
  assert.is(report.kind, 'mpd')
  assert.is(report.manifest?.type, 'static')
  assert.is(report.manifest?.variants, 5)
  assert.equal(
    report.variants.map((variant) => variant.id),
    ['360p', '1080p'],
  )

  for (const variant of report.variants) {
    assert.is(variant.available, true, variant.reason)
    assert.is(variant.segments.length, 1)
    assert.is(variant.segments[0]!.available, true)
    assert.is(variant.segments[0]!.bytes, 188)
    assert.is(variant.segments[0]!.duration, 2)
  }
  assert.ok(server.requests.includes('/live/media/1080p/seg-00015.m4s'))
  assert.is(report.requests.requests, 3)
  assert.is(report.requests.errors, 0)
})

test('DASH pass reports a missing segment', async () => {
  server = server ?? (await startPlaylistServer())
  const report = await analysePlaylist(`${server.url}/live/manifest.mpd`, {
    streamId: 'dash-2',
    logger,
    variants: { bandwidths: [2_500_000] },
    renditions: 'audio',
  })

  assert.is(report.ok, true, report.reason)
  assert.equal(
    report.variants.map((variant) => variant.id),
    ['720p', 'a128'],
  )
  for (const variant of report.variants) {
    assert.is(variant.available, false)
    assert.match(variant.reason ?? '', /HTTP 404/)
    assert.is(variant.segments[0]!.status, 404)
  }
  assert.is(report.requests.errors, 2)
  assert.is(report.requests.errorShare, 0.6667)
  assert.equal(report.requests.byError, { '404': 2 })
})

test.run()
