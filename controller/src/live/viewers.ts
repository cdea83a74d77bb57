// Current viewers per stream, counted in memory from heatmap beacons as they
// arrive: a viewer is a distinct unique_id whose last beacon for the stream
// is at most `windowMs` old.

/** Separates stream id and unique id in a key; stream ids cannot contain it. */
const KEY_SEPARATOR = '\n'

export interface ViewerCounterOptions {
  windowMs: number
  /** (stream, viewer) pairs kept at once; past it the least recently seen pair is dropped. */
  maxEntries: number
  /** Monotonic clock in milliseconds. */
  now?: () => number
}

/**
 * Counts viewers per stream with one Map of (stream, viewer) keys in
 * last-seen order: a beacon moves its key to the end, so expired keys are
 * always at the front. Recording and pruning cost O(1) per key.
 */
export class ViewerCounter {
  readonly windowMs: number
  readonly maxEntries: number
  readonly #now: () => number
  /** Key of stream and viewer to the time of the last beacon, oldest first. */
  readonly #lastSeen = new Map<string, number>()
  readonly #counts = new Map<string, number>()
  #evicted = 0

  constructor(options: ViewerCounterOptions) {
    this.windowMs = options.windowMs
    this.maxEntries = options.maxEntries
    this.#now = options.now ?? (() => performance.now())
  }

  /** (stream, viewer) pairs held now, expired ones included until the next prune. */
  get size(): number {
    return this.#lastSeen.size
  }

  /** Records one heatmap beacon. */
  record(streamId: string, uniqueId: string): void {
    const key = streamId + KEY_SEPARATOR + uniqueId
    if (!this.#lastSeen.delete(key)) this.#adjust(streamId, 1)
    this.#lastSeen.set(key, this.#now())
    if (this.#lastSeen.size > this.maxEntries) {
      this.#remove(this.#lastSeen.keys().next().value!)
      this.#evicted += 1
    }
  }

  /** Removes expired viewers and returns the count of every stream that has viewers. */
  counts(): Map<string, number> {
    const oldest = this.#now() - this.windowMs
    for (const [key, seenMs] of this.#lastSeen) {
      if (seenMs > oldest) break
      this.#remove(key)
    }
    return new Map(this.#counts)
  }

  /** Returns how many viewers were dropped for room since the last call, and resets the number. */
  takeEvicted(): number {
    const evicted = this.#evicted
    this.#evicted = 0
    return evicted
  }

  #remove(key: string): void {
    this.#lastSeen.delete(key)
    this.#adjust(key.slice(0, key.indexOf(KEY_SEPARATOR)), -1)
  }

  #adjust(streamId: string, delta: number): void {
    const count = (this.#counts.get(streamId) ?? 0) + delta
    if (count > 0) this.#counts.set(streamId, count)
    else this.#counts.delete(streamId)
  }
}
