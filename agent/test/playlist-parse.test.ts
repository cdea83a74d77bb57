import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseAttributeList } from '../src/analysis/playlist/attributes.ts'
import {
  parseHlsPlaylist,
  parseMediaPlaylist,
  PlaylistParseError,
  type MasterPlaylist,
} from '../src/analysis/playlist/hls.ts'
import { RequestCounter } from '../src/analysis/playlist/requests.ts'
import {
  pickByBandwidth,
  selectRenditions,
  selectVariants,
} from '../src/analysis/playlist/select.ts'
import { masterPlaylist, mediaPlaylist } from '../../testing/playlists.ts'

const MASTER = [
  '#EXTM3U',
  '#EXT-X-VERSION:4',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en.m3u8"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,URI="audio/de.m3u8"',
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",URI="subs/en.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",FRAME-RATE=25.000,AUDIO="aac",SUBTITLES="subs"',
  'low/index.m3u8',
  '',
  '#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",AUDIO="aac"',
  'high/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aac"',
  'mid/index.m3u8',
  '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="iframes.m3u8"',
].join('\r\n')

function parseMaster(text: string): MasterPlaylist {
  const playlist = parseHlsPlaylist(text)
  if (playlist.kind !== 'master') {
    throw new Error(`expected a master playlist, got ${playlist.kind}`)
  }
  return playlist
}

test('attribute list keeps quoted commas', () => {
  const attributes = parseAttributeList(
    'BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=640x360',
  )
  assert.is(attributes.get('BANDWIDTH'), '1280000')
  assert.is(attributes.get('CODECS'), 'avc1.4d401f,mp4a.40.2')
  assert.is(attributes.get('RESOLUTION'), '640x360')
  assert.is(attributes.size, 3)
})

test('master playlist variants', () => {
  const master = parseMaster(MASTER)
  assert.is(master.version, 4)
  assert.is(master.variants.length, 3)
  assert.equal(master.warnings, [])

  const low = master.variants[0]!
  assert.is(low.bandwidth, 800_000)
  assert.is(low.averageBandwidth, 700_000)
  assert.equal(low.resolution, { width: 640, height: 360 })
  assert.equal(low.codecs, ['avc1.4d401e', 'mp4a.40.2'])
  assert.is(low.frameRate, 25)
  assert.is(low.audioGroup, 'aac')
  assert.is(low.subtitlesGroup, 'subs')
  assert.is(low.uri, 'low/index.m3u8')
  assert.is(master.variants[1]!.uri, 'high/index.m3u8')
  assert.is(master.variants[1]!.subtitlesGroup, undefined)
})

test('master playlist renditions', () => {
  const master = parseMaster(MASTER)
  assert.is(master.renditions.length, 3)

  const [english, german, subtitles] = master.renditions
  assert.equal(english, {
    type: 'AUDIO',
    groupId: 'aac',
    name: 'English',
    language: 'en',
    uri: 'audio/en.m3u8',
    default: true,
    autoselect: true,
  })
  assert.is(german!.default, false)
  assert.is(subtitles!.type, 'SUBTITLES')
  assert.is(subtitles!.uri, 'subs/en.m3u8')
})

test('master playlist variant without URI warns', () => {
  const master = parseMaster(
    '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n',
  )
  assert.is(master.variants.length, 1)
  assert.is(master.variants[0]!.bandwidth, 2)
  assert.is(master.warnings.length, 1)
  assert.match(master.warnings[0]!, /no URI line/)
})

test('media playlist header and segments', () => {
  const text = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:6',
    '#EXT-X-MEDIA-SEQUENCE:41',
    '#EXT-X-DISCONTINUITY-SEQUENCE:3',
    '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:00.000Z',
    '#EXTINF:6.000,title here',
    'seg41.ts',
    '#EXTINF:5.5,',
    'seg42.ts',
    '#EXT-X-DISCONTINUITY',
    '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T09:00:00.000Z',
    '#EXTINF:4,',
    'https://ads.example/ad1.ts',
    '#EXT-X-ENDLIST',
  ].join('\n')
  const playlist = parseMediaPlaylist(text)

  assert.is(playlist.targetDuration, 6)
  assert.is(playlist.mediaSequence, 41)
  assert.is(playlist.discontinuitySequence, 3)
  assert.is(playlist.endList, true)
  assert.equal(playlist.warnings, [])
  assert.is(playlist.segments.length, 3)

  const [first, second, ad] = playlist.segments
  assert.equal(first, {
    sequence: 41,
    duration: 6,
    uri: 'seg41.ts',
    discontinuity: false,
    discontinuitySequence: 3,
    programDateTime: Date.parse('2024-05-01T10:00:00.000Z'),
    gap: false,
  })
  assert.is(second!.sequence, 42)
  assert.is(second!.duration, 5.5)
  assert.is(second!.programDateTime, undefined)
  assert.is(ad!.discontinuity, true)
  assert.is(ad!.discontinuitySequence, 4)
  assert.is(ad!.uri, 'https://ads.example/ad1.ts')
  assert.is(ad!.programDateTime, Date.parse('2024-05-01T09:00:00.000Z'))
})

test('media playlist byte ranges', () => {
  const text = [
    '#EXTM3U',
    '#EXT-X-TARGETDURATION:2',
    '#EXTINF:2,',
    '#EXT-X-BYTERANGE:1000@500',
    'all.ts',
    '#EXTINF:2,',
    '#EXT-X-BYTERANGE:700',
    'all.ts',
    '#EXTINF:2,',
    '#EXT-X-BYTERANGE:300',
    'other.ts',
  ].join('\n')
  const playlist = parseMediaPlaylist(text)

  assert.equal(playlist.segments[0]!.byteRange, { length: 1000, offset: 500 })
  assert.equal(playlist.segments[1]!.byteRange, { length: 700, offset: 1500 })
  assert.equal(playlist.segments[2]!.byteRange, { length: 300, offset: 0 })
  assert.is(playlist.warnings.length, 1)
  assert.match(playlist.warnings[0]!, /no offset and no previous range of other\.ts/)
})

test('media playlist gap and playlist type', () => {
  const text = mediaPlaylist({
    targetDuration: 4,
    mediaSequence: 0,
    playlistType: 'EVENT',
    segments: [
      { duration: 4, uri: 'a.ts' },
      { duration: 4, uri: 'b.ts', gap: true },
    ],
  })
  const playlist = parseMediaPlaylist(text)
  assert.is(playlist.playlistType, 'EVENT')
  assert.is(playlist.segments[0]!.gap, false)
  assert.is(playlist.segments[1]!.gap, true)
})

test('media playlist faults become warnings', () => {
  const text = ['#EXTM3U', '#EXTINF:abc,', 'bad.ts', '#EXTINF:7.2,', 'good.ts'].join('\n')
  const playlist = parseMediaPlaylist(text)

  assert.is(playlist.segments.length, 1)
  assert.is(playlist.segments[0]!.uri, 'good.ts')
  assert.is(playlist.segments[0]!.sequence, 0)
  assert.is(playlist.targetDuration, 8)
  assert.is(playlist.warnings.length, 3)
  assert.match(playlist.warnings.join('\n'), /invalid #EXTINF duration on line 2/)
  assert.match(playlist.warnings.join('\n'), /bad\.ts on line 3 has no valid #EXTINF/)
  assert.match(playlist.warnings.join('\n'), /missing #EXT-X-TARGETDURATION/)
})

test('non-playlist text is rejected', () => {
  assert.throws(
    () => parseHlsPlaylist('<html></html>'),
    (error: Error) => error instanceof PlaylistParseError,
  )
  assert.throws(
    () => parseHlsPlaylist('#EXTM3U\n#EXT-X-VERSION:3\n'),
    /neither #EXT-X-STREAM-INF nor #EXTINF/,
  )
  assert.throws(() => parseMediaPlaylist(MASTER), /expected a media playlist/)
})

test('byte order mark is tolerated', () => {
  const playlist = parseHlsPlaylist('\uFEFF#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n')
  assert.is(playlist.kind, 'media')
})

test('selection picks highest and lowest', () => {
  const master = parseMaster(MASTER)
  const chosen = selectVariants(master, 'highest-lowest')
  assert.equal(
    chosen.map((variant) => variant.uri),
    ['low/index.m3u8', 'high/index.m3u8'],
  )
  assert.is(selectVariants(master, 'highest')[0]!.uri, 'high/index.m3u8')
  assert.is(selectVariants(master, 'lowest')[0]!.uri, 'low/index.m3u8')
  assert.is(selectVariants(master, 'all').length, 3)
  assert.equal(
    selectVariants(master, { bandwidths: [2_000_000] }).map((variant) => variant.uri),
    ['mid/index.m3u8'],
  )
})

test('selection drops repeated variant URIs', () => {
  const text = masterPlaylist([
    { bandwidth: 1000, uri: 'a.m3u8', audio: 'x' },
    { bandwidth: 1000, uri: 'a.m3u8', audio: 'y' },
  ])
  const chosen = selectVariants(parseMaster(text), 'highest-lowest')
  assert.is(chosen.length, 1)
})

test('selection of one item is that item once', () => {
  assert.equal(pickByBandwidth([{ bandwidth: 5 }], 'highest-lowest'), [{ bandwidth: 5 }])
  assert.equal(pickByBandwidth([], 'all'), [])
})

test('selection adds renditions of chosen groups', () => {
  const master = parseMaster(MASTER)
  const variants = selectVariants(master, 'lowest')
  assert.equal(selectRenditions(master, variants, 'none'), [])
  assert.equal(
    selectRenditions(master, variants, 'audio').map((rendition) => rendition.uri),
    ['audio/en.m3u8', 'audio/de.m3u8'],
  )
  assert.equal(
    selectRenditions(master, variants, 'all').map((rendition) => rendition.uri),
    ['audio/en.m3u8', 'audio/de.m3u8', 'subs/en.m3u8'],
  )
})

test('request counter share and alert', () => {
  const counter = new RequestCounter(0.1)
  for (let i = 0; i < 9; i++) counter.record('segment')
  counter.record('segment', { status: 404 })
  let summary = counter.summary()
  assert.is(summary.requests, 10)
  assert.is(summary.errors, 1)
  assert.is(summary.errorShare, 0.1)
  assert.is(summary.alert, false, 'exactly the alert share is not above it')

  counter.record('playlist', { status: 404 })
  counter.record('playlist', { error: 'timeout' })
  summary = counter.summary()
  assert.is(summary.errors, 3)
  assert.is(summary.errorShare, 0.25)
  assert.is(summary.alert, true)
  assert.equal(summary.byKind, {
    playlist: { requests: 2, errors: 2 },
    segment: { requests: 10, errors: 1 },
  })
  assert.equal(summary.byError, { '404': 2, timeout: 1 })
})

test.run()
