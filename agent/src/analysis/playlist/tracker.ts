// Tracks one live media playlist across successive snapshots and reports how
// it moves: advancing, stale, reset or rewound, segments missed between
// snapshots, segment durations over the target duration, discontinuities and
// program date-time jumps. Pure: the caller passes each snapshot with its
// fetch time, and the clock is injected for checks between snapshots.
import type { MediaPlaylist, MediaSegment } from './hls.ts'

export const SEQUENCE_EVENT_KINDS = ['reset', 'rewind'] as const
/**
 * `reset`: the media sequence went back to 0, or so far back that the new
 * list shares no segment with the previous snapshot (a restarted packager).
 * `rewind`: it went back by less (typically an older cached copy).
 */
export type SequenceEventKind = (typeof SEQUENCE_EVENT_KINDS)[number]

export interface SequenceEvent {
  kind: SequenceEventKind
  /** Media sequence of the previous snapshot. */
  from: number
  /** Media sequence of this snapshot. */
  to: number
  /** Fetch time of this snapshot, Unix milliseconds. */
  at: number
}

/** A segment whose EXTINF duration, rounded, exceeds the target duration. */
export interface DurationViolation {
  sequence: number
  duration: number
  targetDuration: number
  uri: string
}

/** Consecutive segments whose program date-times do not follow from the durations. */
export interface TimestampJump {
  sequence: number
  /** Previous segment's program date-time plus its duration, Unix milliseconds. */
  expected: number
  actual: number
}

export interface TrackerOptions {
  /** Stale after this many target durations without a new segment (default 2). */
  staleTargetDurations?: number
  /** Program date-time differences up to this are not jumps (default 1000 ms). */
  timestampToleranceMs?: number
  /** Clock for stale checks between snapshots, Unix milliseconds (default Date.now). */
  now?: () => number
}

/** Changes found by one snapshot. */
export interface SnapshotResult {
  /** A segment newer than any seen before appeared (or the sequence was reset). */
  advanced: boolean
  stale: boolean
  newSegments: number
  missedSegments: number
  discontinuities: number
  durationViolations: DurationViolation[]
  timestampJumps: TimestampJump[]
  /** Segments listed before under the same sequence number with another URI or duration. */
  changedSegments: number
  event?: SequenceEvent
}

export interface TrackerCounts {
  snapshots: number
  advances: number
  segments: number
  missedSegments: number
  discontinuities: number
  durationViolations: number
  timestampJumps: number
  changedSegments: number
  gaps: number
  resets: number
  rewinds: number
}

/** Cumulative state, JSON-friendly. Sequence fields are absent before the first snapshot. */
export interface TrackerState {
  mediaSequence?: number
  /** Sequence number of the newest segment seen since the last reset. */
  newestSequence?: number
  discontinuitySequence?: number
  targetDuration?: number
  endList: boolean
  /** Fetch time of the latest snapshot, Unix milliseconds. */
  lastSnapshotAt?: number
  /** When a new segment last appeared, Unix milliseconds. */
  lastAdvanceAt?: number
  /** Time since lastAdvanceAt at the time asked about, ms. */
  sinceAdvanceMs?: number
  stale: boolean
  counts: TrackerCounts
  /** The latest resets and rewinds, oldest first. */
  events: SequenceEvent[]
  /** The latest duration violations, oldest first. */
  durationViolations: DurationViolation[]
  /** The latest program date-time jumps, oldest first. */
  timestampJumps: TimestampJump[]
}

/** Facts kept about each recent segment. */
interface KnownSegment {
  uri: string
  duration: number
  discontinuity: boolean
  discontinuitySequence: number
  programDateTime?: number
}

/** Recent segments kept for boundary and change checks. */
const KNOWN_SEGMENT_LIMIT = 2000
/** Recent events and violations kept in the state. */
const RECENT_LIMIT = 20

export class PlaylistTracker {
  private readonly staleTargetDurations: number
  private readonly timestampToleranceMs: number
  private readonly now: () => number

  private previous: MediaPlaylist | undefined
  private newestSequence = -1
  private lastSnapshotAt: number | undefined
  private lastAdvanceAt: number | undefined
  private readonly known = new Map<number, KnownSegment>()
  private readonly counts: TrackerCounts = {
    snapshots: 0,
    advances: 0,
    segments: 0,
    missedSegments: 0,
    discontinuities: 0,
    durationViolations: 0,
    timestampJumps: 0,
    changedSegments: 0,
    gaps: 0,
    resets: 0,
    rewinds: 0,
  }
  private readonly events: SequenceEvent[] = []
  private readonly violations: DurationViolation[] = []
  private readonly jumps: TimestampJump[] = []

  constructor(options: TrackerOptions = {}) {
    this.staleTargetDurations = options.staleTargetDurations ?? 2
    this.timestampToleranceMs = options.timestampToleranceMs ?? 1000
    this.now = options.now ?? Date.now
  }

  /** Adds a snapshot fetched at `fetchedAt` (Unix ms) and returns what it changed. */
  update(playlist: MediaPlaylist, fetchedAt: number = this.now()): SnapshotResult {
    const result = emptyResult()
    this.counts.snapshots++
    this.lastSnapshotAt = fetchedAt
    this.lastAdvanceAt ??= fetchedAt

    const event = this.detectSequenceEvent(playlist, fetchedAt)
    if (event) this.recordEvent(event, result)

    this.countChangedSegments(playlist, result)
    this.countMissedSegments(playlist, result)
    this.readNewSegments(playlist, result)

    if (result.newSegments > 0 || event?.kind === 'reset') {
      result.advanced = true
      this.counts.advances++
      this.lastAdvanceAt = fetchedAt
    }

    this.previous = playlist
    result.stale = this.isStale(fetchedAt)
    return result
  }

  /** Returns whether no new segment has appeared for the stale limit, at `at` (default now). */
  isStale(at: number = this.now()): boolean {
    const playlist = this.previous
    if (!playlist || playlist.endList || this.lastAdvanceAt === undefined) return false

    // A playlist without a usable target duration is judged as if it were 1 s.
    const limitMs = this.staleTargetDurations * Math.max(1, playlist.targetDuration) * 1000
    return at - this.lastAdvanceAt >= limitMs
  }

  /**
   * Returns whether a discontinuity lies between two segments of the current
   * numbering: a tag on any segment after `fromSequence` up to `toSequence`,
   * or different discontinuity sequence numbers. Checks that compare media
   * across segments (pictures, timestamps) raise no alarm across such a
   * boundary. False when either segment is not known.
   */
  isDiscontinuityBetween(fromSequence: number, toSequence: number): boolean {
    const from = this.known.get(fromSequence)
    const to = this.known.get(toSequence)
    if (!from || !to) return false
    if (from.discontinuitySequence !== to.discontinuitySequence) return true

    for (let sequence = fromSequence + 1; sequence <= toSequence; sequence++) {
      if (this.known.get(sequence)?.discontinuity) return true
    }
    return false
  }

  /** Returns the cumulative state at `at` (default now), JSON-friendly. */
  state(at: number = this.now()): TrackerState {
    const state: TrackerState = {
      endList: this.previous?.endList ?? false,
      stale: this.isStale(at),
      counts: { ...this.counts },
      events: [...this.events],
      durationViolations: [...this.violations],
      timestampJumps: [...this.jumps],
    }

    const playlist = this.previous
    if (!playlist) return state

    state.mediaSequence = playlist.mediaSequence
    state.newestSequence = this.newestSequence
    state.discontinuitySequence = playlist.discontinuitySequence
    state.targetDuration = playlist.targetDuration
    if (this.lastSnapshotAt !== undefined) state.lastSnapshotAt = this.lastSnapshotAt
    if (this.lastAdvanceAt !== undefined) {
      state.lastAdvanceAt = this.lastAdvanceAt
      state.sinceAdvanceMs = Math.max(0, at - this.lastAdvanceAt)
    }
    return state
  }

  private detectSequenceEvent(playlist: MediaPlaylist, at: number): SequenceEvent | undefined {
    const previous = this.previous
    if (!previous || playlist.mediaSequence >= previous.mediaSequence) return undefined

    const newestInList = playlist.mediaSequence + playlist.segments.length - 1
    const overlaps = newestInList >= previous.mediaSequence
    const kind = playlist.mediaSequence === 0 || !overlaps ? 'reset' : 'rewind'
    return { kind, from: previous.mediaSequence, to: playlist.mediaSequence, at }
  }

  private recordEvent(event: SequenceEvent, result: SnapshotResult): void {
    result.event = event
    pushRecent(this.events, event)

    if (event.kind === 'rewind') {
      this.counts.rewinds++
      return
    }

    // A new numbering: what was known under the old one no longer applies.
    this.counts.resets++
    this.newestSequence = -1
    this.known.clear()
  }

  private countChangedSegments(playlist: MediaPlaylist, result: SnapshotResult): void {
    if (result.event?.kind === 'reset') return

    for (const segment of playlist.segments) {
      const known = this.known.get(segment.sequence)
      if (!known) continue
      if (known.uri !== segment.uri || known.duration !== segment.duration) result.changedSegments++
    }
    this.counts.changedSegments += result.changedSegments
  }

  /** Counts the segments numbered between the newest seen and this list's first one. */
  private countMissedSegments(playlist: MediaPlaylist, result: SnapshotResult): void {
    if (this.newestSequence < 0 || playlist.segments.length === 0) return

    const missed = playlist.mediaSequence - (this.newestSequence + 1)
    if (missed <= 0) return

    result.missedSegments = missed
    this.counts.missedSegments += missed
  }

  private readNewSegments(playlist: MediaPlaylist, result: SnapshotResult): void {
    for (const segment of playlist.segments) {
      if (segment.sequence <= this.newestSequence) continue

      this.checkNewSegment(playlist, segment, result)
      this.remember(segment)
      this.newestSequence = segment.sequence
      result.newSegments++
    }
    this.counts.segments += result.newSegments
  }

  private checkNewSegment(
    playlist: MediaPlaylist,
    segment: MediaSegment,
    result: SnapshotResult,
  ): void {
    if (segment.gap) this.counts.gaps++

    if (Math.round(segment.duration) > playlist.targetDuration) {
      const violation = {
        sequence: segment.sequence,
        duration: segment.duration,
        targetDuration: playlist.targetDuration,
        uri: segment.uri,
      }
      result.durationViolations.push(violation)
      pushRecent(this.violations, violation)
      this.counts.durationViolations++
    }

    this.checkDiscontinuity(segment, result)
    this.checkTimestamp(segment, result)
  }

  /**
   * Counts the discontinuities since the newest segment seen: the increase in
   * discontinuity sequence, which also covers tags on missed segments, or the
   * tag itself when the previous segment is unknown.
   */
  private checkDiscontinuity(segment: MediaSegment, result: SnapshotResult): void {
    const previous = this.known.get(this.newestSequence)
    let count = segment.discontinuity ? 1 : 0
    if (previous) {
      count = Math.max(count, segment.discontinuitySequence - previous.discontinuitySequence)
    }

    result.discontinuities += count
    this.counts.discontinuities += count
  }

  private checkTimestamp(segment: MediaSegment, result: SnapshotResult): void {
    const previous = this.known.get(segment.sequence - 1)
    if (previous?.programDateTime === undefined || segment.programDateTime === undefined) return
    if (previous.discontinuitySequence !== segment.discontinuitySequence || segment.discontinuity) {
      return
    }

    const expected = previous.programDateTime + previous.duration * 1000
    if (Math.abs(segment.programDateTime - expected) <= this.timestampToleranceMs) return

    const jump = {
      sequence: segment.sequence,
      expected: Math.round(expected),
      actual: segment.programDateTime,
    }
    result.timestampJumps.push(jump)
    pushRecent(this.jumps, jump)
    this.counts.timestampJumps++
  }

  private remember(segment: MediaSegment): void {
    const known: KnownSegment = {
      uri: segment.uri,
      duration: segment.duration,
      discontinuity: segment.discontinuity,
      discontinuitySequence: segment.discontinuitySequence,
    }
    if (segment.programDateTime !== undefined) known.programDateTime = segment.programDateTime
    this.known.set(segment.sequence, known)

    // Map keys iterate in insertion order, which is sequence order here.
    for (const sequence of this.known.keys()) {
      if (this.known.size <= KNOWN_SEGMENT_LIMIT) break
      this.known.delete(sequence)
    }
  }
}

function emptyResult(): SnapshotResult {
  return {
    advanced: false,
    stale: false,
    newSegments: 0,
    missedSegments: 0,
    discontinuities: 0,
    durationViolations: [],
    timestampJumps: [],
    changedSegments: 0,
  }
}

function pushRecent<T>(list: T[], item: T): void {
  list.push(item)
  if (list.length > RECENT_LIMIT) list.shift()
}
