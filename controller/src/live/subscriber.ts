// One live feed connection: its stream filter and its send buffer. A client
// that reads slower than the controller sends builds up ws's bufferedAmount,
// and the limits below decide when to skip updates and when to give up.
import type { WebSocket } from 'ws'
import type { Logger } from 'pino'

export interface BackpressureLimits {
  /** Buffered bytes above which viewer updates are skipped and the stuck clock runs. */
  highWaterBytes: number
  /** Buffered bytes above which the connection is terminated at once. */
  maxBufferedBytes: number
  /** Milliseconds the buffer may stay above high water before the connection is terminated. */
  stuckTimeoutMs: number
}

export class Subscriber {
  /** Streams whose messages this client wants, or null for every stream. */
  streams: ReadonlySet<string> | null = null
  /** Viewer updates skipped because the buffer was above high water. */
  skipped = 0
  invalidMessages = 0
  readonly #socket: WebSocket
  readonly #limits: BackpressureLimits
  readonly log: Logger
  /** performance.now() when the buffer went above high water, or undefined below it. */
  #stuckSinceMs: number | undefined

  constructor(socket: WebSocket, limits: BackpressureLimits, log: Logger) {
    this.#socket = socket
    this.#limits = limits
    this.log = log
  }

  wants(streamId: string): boolean {
    return this.streams === null || this.streams.has(streamId)
  }

  /**
   * Sends a text frame. A droppable message is skipped while the buffer is
   * above high water. Returns false when the message was not sent.
   */
  send(text: string, droppable: boolean): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return false
    if (this.checkBuffer() && droppable) {
      this.skipped += 1
      return false
    }
    if (this.#socket.readyState !== this.#socket.OPEN) return false
    this.#socket.send(text)
    return true
  }

  /**
   * Updates the stuck clock and terminates the connection past a limit.
   * Returns true while the buffer is above high water or the connection is gone.
   */
  checkBuffer(nowMs = performance.now()): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return true
    const buffered = this.#socket.bufferedAmount
    if (buffered <= this.#limits.highWaterBytes) {
      this.#stuckSinceMs = undefined
      return false
    }
    this.#stuckSinceMs ??= nowMs
    const stuckMs = nowMs - this.#stuckSinceMs
    if (buffered > this.#limits.maxBufferedBytes || stuckMs >= this.#limits.stuckTimeoutMs) {
      this.log.warn(
        { buffered_bytes: buffered, stuck_ms: Math.round(stuckMs), skipped_updates: this.skipped },
        'live subscriber reads too slowly; terminating its connection',
      )
      this.#socket.terminate()
    }
    return true
  }

  close(code: number, reason: string): void {
    this.#socket.close(code, reason)
  }
}
