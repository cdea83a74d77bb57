import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseMediaPlaylist, type MediaPlaylist } from '../src/analysis/playlist/hls.ts'
import { PlaylistTracker } from '../src/analysis/playlist/tracker.ts'
import { liveSegments, mediaPlaylist, type SegmentSpec } from '../../testing/playlists.ts'

const START = Date.parse('2024-05-01T10:00:00.000Z')

/** Builds a live window of `count` 6 s segments starting at `sequence`. */
function live(sequence: number, count = 5, targetDuration = 6): MediaPlaylist {
  const segments = liveSegments({
    firstSequence: sequence,
    count,
    duration: 6,
    startTime: START + sequence * 6000,
  })
  return parseMediaPlaylist(mediaPlaylist({ targetDuration, mediaSequence: sequence, segments }))
}

function playlistOf(
  mediaSequence: number,
  segments: SegmentSpec[],
  extra: { discontinuitySequence?: number } = {},
): MediaPlaylist {
  return parseMediaPlaylist(mediaPlaylist({ targetDuration: 6, mediaSequence, segments, ...extra }))
}

test('tracker: sequence stuck at 41 goes stale after 12 s', () => {
  let clock = 0
  const tracker = new PlaylistTracker({ now: () => clock })
  const frozen = live(41)

  for (clock = 0; clock <= 60_000; clock += 6_000) {
    const result = tracker.update(frozen, clock)
    assert.is(result.stale, clock >= 12_000, `stale at ${clock} ms`)
    assert.is(result.advanced, clock === 0, `advanced at ${clock} ms`)
  }

  const state = tracker.state(60_000)
  assert.is(state.stale, true)
  assert.is(state.mediaSequence, 41)
  assert.is(state.sinceAdvanceMs, 60_000)
  assert.is(state.counts.snapshots, 11)
  assert.is(state.counts.advances, 1)
  assert.is(state.counts.segments, 5)
})

test('tracker: stale between snapshots follows the clock', () => {
  let clock = 1_000
  const tracker = new PlaylistTracker({ now: () => clock })
  tracker.update(live(41))

  clock = 12_999
  assert.is(tracker.isStale(), false)
  clock = 13_000
  assert.is(tracker.isStale(), true)
  assert.is(tracker.state().stale, true)
})

test('tracker: advancing playlist is not stale', () => {
  const tracker = new PlaylistTracker()
  for (let i = 0; i <= 10; i++) {
    const result = tracker.update(live(41 + i), i * 6_000)
    assert.is(result.advanced, true)
    assert.is(result.stale, false)
    assert.is(result.missedSegments, 0)
    if (i > 0) assert.is(result.newSegments, 1)
  }

  const state = tracker.state(60_000)
  assert.is(state.mediaSequence, 51)
  assert.is(state.newestSequence, 55)
  assert.is(state.counts.advances, 11)
  assert.is(state.counts.segments, 15)
  assert.is(state.counts.durationViolations, 0)
  assert.is(state.counts.timestampJumps, 0)
})

test('tracker: stale limit uses the configured target durations', () => {
  const tracker = new PlaylistTracker({ staleTargetDurations: 3 })
  tracker.update(live(41), 0)
  assert.is(tracker.update(live(41), 12_000).stale, false)
  assert.is(tracker.update(live(41), 18_000).stale, true)
})

test('tracker: reset to 0 is an event', () => {
  const tracker = new PlaylistTracker()
  tracker.update(live(100), 0)
  const result = tracker.update(live(0), 6_000)

  assert.equal(result.event, { kind: 'reset', from: 100, to: 0, at: 6_000 })
  assert.is(result.advanced, true)
  assert.is(result.newSegments, 5)
  assert.is(result.missedSegments, 0)

  const state = tracker.state(6_000)
  assert.is(state.counts.resets, 1)
  assert.is(state.counts.rewinds, 0)
  assert.is(state.newestSequence, 4)
  assert.equal(state.events, [{ kind: 'reset', from: 100, to: 0, at: 6_000 }])

  const next = tracker.update(live(1), 12_000)
  assert.is(next.event, undefined)
  assert.is(next.newSegments, 1)
})

test('tracker: reset to a low non-zero sequence', () => {
  const tracker = new PlaylistTracker()
  tracker.update(live(500), 0)
  const result = tracker.update(live(7), 6_000)
  assert.equal(result.event, { kind: 'reset', from: 500, to: 7, at: 6_000 })
})

test('tracker: older cached copy is a rewind', () => {
  const tracker = new PlaylistTracker()
  tracker.update(live(100), 0)
  tracker.update(live(101), 6_000)
  const rewound = tracker.update(live(99), 7_000)

  assert.equal(rewound.event, { kind: 'rewind', from: 101, to: 99, at: 7_000 })
  assert.is(rewound.advanced, false)
  assert.is(rewound.newSegments, 0)

  const fresh = tracker.update(live(102), 12_000)
  assert.is(fresh.event, undefined)
  assert.is(fresh.newSegments, 1, 'segments seen before the rewind are not counted again')
  assert.is(fresh.missedSegments, 0)

  const state = tracker.state(12_000)
  assert.is(state.counts.rewinds, 1)
  assert.is(state.counts.resets, 0)
  assert.is(state.counts.segments, 7)
})

test('tracker: rewinds do not keep a frozen playlist fresh', () => {
  const tracker = new PlaylistTracker()
  tracker.update(live(100), 0)
  tracker.update(live(98), 6_000)
  assert.is(tracker.update(live(100), 12_000).stale, true)
})

test('tracker: missed segments when the window jumps', () => {
  const tracker = new PlaylistTracker()
  tracker.update(live(10), 0)
  const result = tracker.update(live(30), 6_000)

  // Newest seen was 14; the new list starts at 30, so 15..29 were never listed.
  assert.is(result.missedSegments, 15)
  assert.is(result.newSegments, 5)
  assert.is(tracker.state().counts.missedSegments, 15)
})

test('tracker: segment durations over the target duration', () => {
  const tracker = new PlaylistTracker()
  const segments: SegmentSpec[] = [
    { duration: 6, uri: 'a.ts' },
    { duration: 6.4, uri: 'b.ts' },
    { duration: 6.6, uri: 'c.ts' },
    { duration: 9, uri: 'd.ts' },
  ]
  const first = tracker.update(playlistOf(0, segments), 0)

  assert.equal(
    first.durationViolations.map((violation) => violation.uri),
    ['c.ts', 'd.ts'],
  )
  assert.equal(first.durationViolations[0], {
    sequence: 2,
    duration: 6.6,
    targetDuration: 6,
    uri: 'c.ts',
  })

  const again = tracker.update(playlistOf(0, segments), 6_000)
  assert.is(again.durationViolations.length, 0, 'a segment is judged once')
  assert.is(tracker.state().counts.durationViolations, 2)
  assert.is(tracker.state().durationViolations.length, 2)
})

test('tracker: ad break behind discontinuity tags', () => {
  const tracker = new PlaylistTracker()
  const content = START
  const ad = Date.parse('2000-01-01T00:00:00.000Z')
  const segments: SegmentSpec[] = [
    { duration: 6, uri: 'c1.ts', programDateTime: content },
    { duration: 6, uri: 'c2.ts', programDateTime: content + 6_000 },
    { duration: 5, uri: 'ad1.ts', programDateTime: ad, discontinuity: true },
    { duration: 5, uri: 'ad2.ts', programDateTime: ad + 5_000 },
    { duration: 6, uri: 'c3.ts', programDateTime: content + 12_000, discontinuity: true },
    { duration: 6, uri: 'c4.ts', programDateTime: content + 18_000 },
  ]
  const result = tracker.update(playlistOf(10, segments, { discontinuitySequence: 2 }), 0)

  assert.is(result.discontinuities, 2)
  assert.is(result.timestampJumps.length, 0)
  assert.is(result.durationViolations.length, 0)
  assert.is(tracker.isDiscontinuityBetween(11, 12), true, 'content to ad')
  assert.is(tracker.isDiscontinuityBetween(13, 14), true, 'ad to content')
  assert.is(tracker.isDiscontinuityBetween(10, 11), false, 'within content')
  assert.is(tracker.isDiscontinuityBetween(12, 13), false, 'within the ad')
  assert.is(tracker.isDiscontinuityBetween(10, 15), true, 'across the whole break')
  assert.is(tracker.isDiscontinuityBetween(15, 99), false, 'unknown segment')

  const state = tracker.state(0)
  assert.is(state.counts.discontinuities, 2)
  assert.is(state.counts.timestampJumps, 0)
  assert.is(state.discontinuitySequence, 2)
})

test('tracker: untagged timestamp restart is a jump', () => {
  const tracker = new PlaylistTracker()
  const segments: SegmentSpec[] = [
    { duration: 6, uri: 'c1.ts', programDateTime: START },
    { duration: 6, uri: 'c2.ts', programDateTime: START + 6_000 },
    { duration: 6, uri: 'c3.ts', programDateTime: START - 3_600_000 },
  ]
  const result = tracker.update(playlistOf(0, segments), 0)

  assert.is(result.discontinuities, 0)
  assert.equal(result.timestampJumps, [
    { sequence: 2, expected: START + 12_000, actual: START - 3_600_000 },
  ])
  assert.is(tracker.isDiscontinuityBetween(1, 2), false)
})

test('tracker: discontinuities on missed segments', () => {
  const tracker = new PlaylistTracker()
  tracker.update(playlistOf(0, [{ duration: 6, uri: 'a.ts' }], { discontinuitySequence: 0 }), 0)
  // Segments 1..9 were never seen, and the discontinuity sequence rose by 3 meanwhile.
  const result = tracker.update(
    playlistOf(10, [{ duration: 6, uri: 'k.ts' }], { discontinuitySequence: 3 }),
    6_000,
  )

  assert.is(result.missedSegments, 9)
  assert.is(result.discontinuities, 3)
})

test('tracker: changed segment under the same sequence', () => {
  const tracker = new PlaylistTracker()
  tracker.update(
    playlistOf(0, [
      { duration: 6, uri: 'a.ts' },
      { duration: 6, uri: 'b.ts' },
    ]),
    0,
  )
  const result = tracker.update(
    playlistOf(0, [
      { duration: 6, uri: 'a.ts' },
      { duration: 4, uri: 'b2.ts' },
    ]),
    6_000,
  )

  assert.is(result.changedSegments, 1)
  assert.is(tracker.state().counts.changedSegments, 1)
})

test('tracker: ended playlist is never stale', () => {
  const tracker = new PlaylistTracker()
  const vod = parseMediaPlaylist(
    mediaPlaylist({
      targetDuration: 6,
      mediaSequence: 0,
      segments: liveSegments({ firstSequence: 0, count: 3, duration: 6 }),
      endList: true,
    }),
  )
  tracker.update(vod, 0)
  assert.is(tracker.update(vod, 600_000).stale, false)
  assert.is(tracker.state(600_000).endList, true)
})

test('tracker: state before any snapshot', () => {
  const state = new PlaylistTracker({ now: () => 5 }).state()
  assert.is(state.stale, false)
  assert.is(state.mediaSequence, undefined)
  assert.is(state.counts.snapshots, 0)
  assert.is(JSON.parse(JSON.stringify(state)).counts.resets, 0)
})

test.run()
