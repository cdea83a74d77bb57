// The screenshot that goes with a status change: the stored one whose grab
// time is closest to the change, so that a reader sees the picture around it.
import type { ScreenshotStore } from './store.ts'

/**
 * Largest gap between a status change and the screenshot given for it, ms.
 * A screenshot further away shows another moment, so none is given.
 */
export const MAX_SCREENSHOT_DISTANCE_MS = 5 * 60_000

/** A stored screenshot, as the status routes and the live feed give it. */
export interface ScreenshotReference {
  /** Grab time as ISO 8601. */
  ts: string
  ts_ms: number
  /** The screenshot route that returns the JPEG. */
  url: string
}

/** Returns the route of one stored screenshot. */
export function screenshotUrl(streamId: string, tsMs: number): string {
  return `/api/state/streams/v1/${encodeURIComponent(streamId)}/screenshots/${tsMs}`
}

/**
 * Returns the time in `times` closest to `tsMs`, the earlier one on a tie,
 * or undefined when none lies within maxDistanceMs.
 */
export function closestTime(times: readonly number[], tsMs: number, maxDistanceMs = MAX_SCREENSHOT_DISTANCE_MS): number | undefined {
  let best: number | undefined
  for (const time of times) {
    const distance = Math.abs(time - tsMs)
    if (distance > maxDistanceMs) continue
    if (best === undefined || distance < Math.abs(best - tsMs) || (distance === Math.abs(best - tsMs) && time < best)) best = time
  }
  return best
}

function reference(streamId: string, tsMs: number): ScreenshotReference {
  return { ts: new Date(tsMs).toISOString(), ts_ms: tsMs, url: screenshotUrl(streamId, tsMs) }
}

/**
 * Finds the screenshot closest to each change. Each stream's folder is
 * listed once per call. A stream id that the store rejects, or a folder
 * that cannot be read, gives null.
 */
export async function closestScreenshots(
  store: Pick<ScreenshotStore, 'times'>,
  changes: ReadonlyArray<{ stream_id: string; ts_ms: number }>,
): Promise<Array<ScreenshotReference | null>> {
  const timesByStream = new Map<string, Promise<number[]>>()
  const timesOf = (streamId: string): Promise<number[]> => {
    let times = timesByStream.get(streamId)
    if (times === undefined) {
      times = store.times(streamId).catch(() => [])
      timesByStream.set(streamId, times)
    }
    return times
  }
  return Promise.all(
    changes.map(async ({ stream_id: streamId, ts_ms: tsMs }) => {
      const closest = closestTime(await timesOf(streamId), tsMs)
      return closest === undefined ? null : reference(streamId, closest)
    }),
  )
}

/**
 * Looks up the screenshot closest to each status change, then hands both on,
 * one change at a time so that changes keep their order.
 */
export class StatusScreenshots<T extends { stream_id: string; ts_ms: number }> {
  private queue = Promise.resolve()

  constructor(
    private readonly store: Pick<ScreenshotStore, 'times'>,
    private readonly publish: (agentId: string, status: T, screenshotUrl: string | undefined) => void,
    private readonly onError: (error: unknown, status: T) => void,
  ) {}

  add(agentId: string, status: T): void {
    this.queue = this.queue
      .then(async () => {
        const [closest] = await closestScreenshots(this.store, [status])
        this.publish(agentId, status, closest?.url)
      })
      .catch((error: unknown) => this.onError(error, status))
  }
}
