// Locates the newest segments of a DASH representation from its
// SegmentTemplate: from the SegmentTimeline when there is one, else from
// the template duration and, for dynamic manifests, the wall clock. Pure:
// the caller passes the time.
//
// NOTE: the local clock is trusted (UTCTiming is ignored), so on a host
// whose clock runs ahead of the packager's, duration-based live templates
// name segments that do not exist yet.
import type { DashManifest, DashPeriod, DashRepresentation, SegmentTemplate } from './dash.ts'

export interface DashSegment {
  url: string
  number: number
  /** Start time in timescale units, as $Time$ is filled. */
  time: number
  /** Seconds. */
  duration: number
}

export type DashSegmentsResult =
  { ok: true; segments: DashSegment[] } | { ok: false; reason: string }

/** A run of equal-duration segments, in timescale units. */
interface SegmentRun {
  time: number
  duration: number
  count: number
  number: number
}

/**
 * Returns the period playing at `now` (Unix ms) in a dynamic manifest, or
 * the last period of a static one.
 */
export function currentPeriod(manifest: DashManifest, now: number): DashPeriod | undefined {
  if (manifest.type === 'static' || manifest.availabilityStartTime === undefined) {
    return manifest.periods.at(-1)
  }

  const elapsedS = (now - manifest.availabilityStartTime) / 1000
  const started = manifest.periods.filter((period) => period.start <= elapsedS)
  return started.at(-1) ?? manifest.periods[0]
}

/** Locates the newest `count` segments that should be available at `now`, oldest first. */
export function newestDashSegments(
  manifest: DashManifest,
  period: DashPeriod,
  representation: DashRepresentation,
  now: number,
  count = 1,
): DashSegmentsResult {
  const template = representation.template
  if (representation.unsupported || !template) {
    return { ok: false, reason: representation.unsupported ?? 'no SegmentTemplate' }
  }

  const runs = template.timeline
    ? timelineRuns(manifest, period, template, now)
    : durationRuns(manifest, period, template, now)
  if (!Array.isArray(runs)) return { ok: false, reason: runs.reason }

  const segments = lastOfRuns(runs, count).map((run) => toSegment(representation, template, run))
  if (segments.length === 0) return { ok: false, reason: 'no segment is available yet' }
  return { ok: true, segments }
}

/** Fills in a media URL template for one segment; the result may still be relative. */
export function fillTemplate(
  template: string,
  values: { representationId: string; number: number; time: number; bandwidth: number },
): string {
  return template.replace(
    /\$(RepresentationID|Number|Time|Bandwidth)(?:%0(\d+)d)?\$|\$\$/g,
    (whole, name: string | undefined, width: string | undefined) => {
      if (whole === '$$') return '$'

      const value = {
        RepresentationID: values.representationId,
        Number: String(values.number),
        Time: String(values.time),
        Bandwidth: String(values.bandwidth),
      }[name as 'RepresentationID' | 'Number' | 'Time' | 'Bandwidth']
      return width === undefined ? value : value.padStart(Number(width), '0')
    },
  )
}

/** Returns the media time at `now` within the period, in timescale units. */
function periodMediaTime(
  manifest: DashManifest,
  period: DashPeriod,
  template: SegmentTemplate,
  now: number,
): number | undefined {
  if (manifest.availabilityStartTime === undefined) return undefined

  const elapsedS = (now - manifest.availabilityStartTime) / 1000 - period.start
  return elapsedS * template.timescale + template.presentationTimeOffset
}

function timelineRuns(
  manifest: DashManifest,
  period: DashPeriod,
  template: SegmentTemplate,
  now: number,
): SegmentRun[] | { reason: string } {
  const entries = template.timeline ?? []
  const runs: SegmentRun[] = []
  let time = entries[0]?.t ?? template.presentationTimeOffset
  let number = template.startNumber

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    if (entry.t !== undefined) time = entry.t

    const count =
      entry.r >= 0
        ? entry.r + 1
        : openRepeatCount(manifest, period, template, now, time, entry.d, entries[i + 1]?.t)
    if (count === undefined) {
      return { reason: 'SegmentTimeline repeats until the period end, but the end is unknown' }
    }
    if (count > 0) runs.push({ time, duration: entry.d, count, number })

    time += count * entry.d
    number += count
  }
  return runs
}

/** Segments of an S element with r="-1": up to the next S, the period end, or (live) now. */
function openRepeatCount(
  manifest: DashManifest,
  period: DashPeriod,
  template: SegmentTemplate,
  now: number,
  time: number,
  duration: number,
  nextTime: number | undefined,
): number | undefined {
  if (nextTime !== undefined) return Math.max(0, Math.ceil((nextTime - time) / duration))

  if (manifest.type === 'dynamic') {
    const nowTime = periodMediaTime(manifest, period, template, now)
    if (nowTime === undefined) return undefined
    return Math.max(0, Math.floor((nowTime - time) / duration))
  }

  if (period.duration === undefined) return undefined
  const end = period.duration * template.timescale + template.presentationTimeOffset
  return Math.max(0, Math.ceil((end - time) / duration))
}

function durationRuns(
  manifest: DashManifest,
  period: DashPeriod,
  template: SegmentTemplate,
  now: number,
): SegmentRun[] | { reason: string } {
  const duration = template.duration ?? 0
  if (duration <= 0) return { reason: 'SegmentTemplate duration is missing or 0' }

  const segmentS = duration / template.timescale
  const periodCount =
    period.duration === undefined ? undefined : Math.ceil(period.duration / segmentS)
  let count = periodCount
  if (manifest.type === 'dynamic') {
    const nowTime = periodMediaTime(manifest, period, template, now)
    if (nowTime === undefined) return { reason: 'dynamic MPD has no availabilityStartTime' }
    // A live segment is available once it has ended.
    const ended = Math.max(0, Math.floor((nowTime - template.presentationTimeOffset) / duration))
    count = periodCount === undefined ? ended : Math.min(ended, periodCount)
  }
  if (count === undefined) return { reason: 'static MPD without a period or presentation duration' }

  return [{ time: template.presentationTimeOffset, duration, count, number: template.startNumber }]
}

/** Splits the last `count` segments off the runs as runs of one, oldest first. */
function lastOfRuns(runs: readonly SegmentRun[], count: number): SegmentRun[] {
  const picked: SegmentRun[] = []
  for (let r = runs.length - 1; r >= 0 && picked.length < count; r--) {
    const run = runs[r]!
    for (let k = run.count - 1; k >= 0 && picked.length < count; k--) {
      picked.push({
        time: run.time + k * run.duration,
        duration: run.duration,
        count: 1,
        number: run.number + k,
      })
    }
  }
  return picked.reverse()
}

function toSegment(
  representation: DashRepresentation,
  template: SegmentTemplate,
  run: SegmentRun,
): DashSegment {
  const path = fillTemplate(template.media, {
    representationId: representation.id,
    number: run.number,
    time: run.time,
    bandwidth: representation.bandwidth,
  })
  return {
    url: new URL(path, representation.baseUrl).href,
    number: run.number,
    time: run.time,
    duration: run.duration / template.timescale,
  }
}
