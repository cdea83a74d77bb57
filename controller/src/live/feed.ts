// The live feed: pushes stream statuses, agent connects and disconnects,
// and viewer counts to the WebSocket clients of GET /api/live/v1/ws. Each
// controller process serves its own clients and sends only the statuses and
// agents of its own hub and the beacons it receives itself.
import type { RawData, WebSocket } from 'ws'
import type { Logger } from 'pino'
import { Compile } from 'typebox/compile'
import { keepAlive, type Status } from '@monit/protocol'
import { LiveSubscribe, type LiveServerMessage, type StreamViewers } from './messages.ts'
import { Subscriber, type BackpressureLimits } from './subscriber.ts'
import { ViewerCounter } from './viewers.ts'

/** WebSocket close codes the feed uses. */
export const LiveCloseCode = {
  goingAway: 1001,
  policyViolation: 1008,
  /** "Try Again Later": the feed has its maximum of subscribers. */
  tryAgainLater: 1013,
} as const

/** Invalid client messages tolerated on one connection before it is closed. */
const MAX_INVALID_MESSAGES = 20
/** At most one warning a minute about viewers dropped from a full counter. */
const EVICTION_LOG_INTERVAL_MS = 60_000

export interface LiveFeedOptions {
  logger: Logger
  /** Connections served at once; more are rejected. */
  maxSubscribers: number
  /** Milliseconds between two viewers messages. */
  viewersIntervalMs: number
  /** Milliseconds a heatmap beacon keeps its viewer counted. */
  viewerWindowMs: number
  /** (stream, viewer) pairs the viewer counter holds. */
  maxViewers: number
  /** Milliseconds between pings; a client that misses two pongs is terminated. Default 30 s. */
  pingIntervalMs?: number
  limits?: Partial<BackpressureLimits>
}

const DEFAULT_LIMITS: BackpressureLimits = {
  highWaterBytes: 256 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  stuckTimeoutMs: 30_000,
}

const checkSubscribe = Compile(LiveSubscribe)

export class LiveFeed {
  readonly viewers: ViewerCounter
  readonly #options: LiveFeedOptions
  readonly #limits: BackpressureLimits
  readonly #log: Logger
  readonly #subscribers = new Set<Subscriber>()
  /** Streams of the last viewers message with a count above 0. */
  #reported = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #nextId = 1
  #lastEvictionLogMs = Number.NEGATIVE_INFINITY

  constructor(options: LiveFeedOptions) {
    this.#options = options
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.#log = options.logger
    this.viewers = new ViewerCounter({ windowMs: options.viewerWindowMs, maxEntries: options.maxViewers })
  }

  get size(): number {
    return this.#subscribers.size
  }

  /** True when a new connection would exceed maxSubscribers. */
  get full(): boolean {
    return this.#subscribers.size >= this.#options.maxSubscribers
  }

  /** Starts the viewers timer. */
  start(): void {
    this.#timer ??= setInterval(() => this.#sendViewers(), this.#options.viewersIntervalMs)
    this.#timer.unref()
  }

  /** Serves one authenticated socket until it closes. */
  accept(socket: WebSocket, client: { userId: string; remoteAddress: string }): void {
    const log = this.#log.child({ live_id: this.#nextId++, user_id: client.userId, remote_address: client.remoteAddress })
    if (this.full) {
      log.warn({ max_subscribers: this.#options.maxSubscribers }, 'live feed full; closing a new connection')
      socket.close(LiveCloseCode.tryAgainLater, 'live feed full; retry later')
      return
    }
    const subscriber = new Subscriber(socket, this.#limits, log)
    this.#subscribers.add(subscriber)
    keepAlive(socket, this.#options.pingIntervalMs ?? 30_000, () => {
      log.info('live subscriber stopped responding to pings; dropping its connection')
    })
    socket.on('message', (data, isBinary) => this.#receive(subscriber, data, isBinary))
    socket.on('close', (code: number) => {
      this.#subscribers.delete(subscriber)
      log.info({ code, skipped_updates: subscriber.skipped }, 'live subscriber disconnected')
    })
    socket.on('error', (error: Error) => log.warn({ err: error }, 'live subscriber socket error'))

    log.info({ subscribers: this.#subscribers.size }, 'live subscriber connected')
    this.#send(subscriber, {
      type: 'hello',
      server_time: new Date().toISOString(),
      user_id: client.userId,
      viewers_interval_s: this.#options.viewersIntervalMs / 1000,
      viewer_window_s: this.#options.viewerWindowMs / 1000,
    })
  }

  /** Sends a status that an agent reported to the subscribers of its stream. */
  /** Sends a status change to the subscribers, with its error output and the route of the screenshot closest to it. */
  publishStatus(agentId: string, status: Status, screenshotUrl?: string): void {
    if (this.#subscribers.size === 0) return
    const message: LiveServerMessage = {
      type: 'status',
      stream_id: status.stream_id,
      agent_id: agentId,
      status: status.status,
      reason: status.reason,
      at: new Date(status.ts_ms).toISOString(),
    }
    if (status.error_output) message.error_output = status.error_output
    if (screenshotUrl !== undefined) message.screenshot_url = screenshotUrl
    this.#broadcast(JSON.stringify(message), status.stream_id)
  }

  publishAgent(agentId: string, connected: boolean): void {
    if (this.#subscribers.size === 0) return
    const message: LiveServerMessage = { type: 'agent', agent_id: agentId, connected, at: new Date().toISOString() }
    this.#broadcast(JSON.stringify(message), undefined)
  }

  /** Counts a heatmap beacon's viewer. */
  recordViewer(streamId: string, uniqueId: string): void {
    this.viewers.record(streamId, uniqueId)
  }

  /** Stops the timer and closes every connection. */
  close(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    for (const subscriber of this.#subscribers) subscriber.close(LiveCloseCode.goingAway, 'controller shutting down')
  }

  #send(subscriber: Subscriber, message: LiveServerMessage): void {
    subscriber.send(JSON.stringify(message), false)
  }

  /** Sends to every subscriber, or with a stream id to those that want the stream. */
  #broadcast(text: string, streamId: string | undefined): void {
    for (const subscriber of this.#subscribers) {
      if (streamId === undefined || subscriber.wants(streamId)) subscriber.send(text, false)
    }
  }

  #receive(subscriber: Subscriber, data: RawData, isBinary: boolean): void {
    let value: unknown
    try {
      value = isBinary ? undefined : JSON.parse(data.toString())
    } catch {
      value = undefined
    }
    if (!checkSubscribe.Check(value)) {
      this.#rejectMessage(subscriber, value)
      return
    }
    const ids = value.stream_ids
    subscriber.streams = ids === null ? null : new Set(ids)
    subscriber.log.debug({ streams: ids?.length ?? 'all' }, 'live subscriber changed its subscription')
    this.#send(subscriber, { type: 'subscribed', stream_ids: ids === null ? null : [...new Set(ids)] })
  }

  #rejectMessage(subscriber: Subscriber, value: unknown): void {
    subscriber.invalidMessages += 1
    const [first] = value === undefined ? [] : checkSubscribe.Errors(value)
    const detail = first === undefined ? 'not a JSON text message' : `${first.instancePath || '(message)'}: ${first.message}`
    const message = `invalid message: ${detail}; send {"type":"subscribe","stream_ids":[...] or null}`
    subscriber.log.info({ err_message: detail }, 'invalid message from live subscriber')
    this.#send(subscriber, { type: 'error', message })
    if (subscriber.invalidMessages > MAX_INVALID_MESSAGES) {
      subscriber.close(LiveCloseCode.policyViolation, 'too many invalid messages')
    }
  }

  /** The viewers tick: counts once, then sends each subscriber the streams it wants. */
  #sendViewers(): void {
    const counts = this.#viewerCounts()
    this.#logEvictions()
    const all = [...counts.values()]
    const at = new Date().toISOString()
    const windowS = this.#options.viewerWindowMs / 1000
    const encode = (streams: StreamViewers[]): string => {
      const message: LiveServerMessage = { type: 'viewers', at, window_s: windowS, streams }
      return JSON.stringify(message)
    }
    let textForAll: string | undefined

    for (const subscriber of this.#subscribers) {
      const streams = subscriber.streams === null ? all : pick(counts, subscriber.streams)
      if (streams.length === 0) {
        // Checked on every tick, so a stuck connection is closed even when nothing is sent to it.
        subscriber.checkBuffer()
        continue
      }
      const text = subscriber.streams === null ? (textForAll ??= encode(all)) : encode(streams)
      subscriber.send(text, true)
    }
  }

  /** Current counts, plus a 0 for each stream that had viewers in the last message. */
  #viewerCounts(): Map<string, StreamViewers> {
    const counts = new Map<string, StreamViewers>()
    for (const [streamId, viewers] of this.viewers.counts()) counts.set(streamId, { stream_id: streamId, viewers })
    for (const streamId of this.#reported) {
      if (!counts.has(streamId)) counts.set(streamId, { stream_id: streamId, viewers: 0 })
    }
    this.#reported = new Set([...counts.values()].filter((entry) => entry.viewers > 0).map((entry) => entry.stream_id))
    return counts
  }

  #logEvictions(): void {
    const now = performance.now()
    if (now - this.#lastEvictionLogMs < EVICTION_LOG_INTERVAL_MS) return
    const evicted = this.viewers.takeEvicted()
    if (evicted === 0) return
    this.#lastEvictionLogMs = now
    this.#log.warn(
      { evicted, max_viewers: this.#options.maxViewers },
      'viewer counter full; dropped the least recently seen viewers, so viewer counts are low',
    )
  }
}

function pick(counts: ReadonlyMap<string, StreamViewers>, subscribed: ReadonlySet<string>): StreamViewers[] {
  const found: StreamViewers[] = []
  if (subscribed.size < counts.size) {
    for (const streamId of subscribed) {
      const entry = counts.get(streamId)
      if (entry !== undefined) found.push(entry)
    }
    return found
  }
  for (const entry of counts.values()) {
    if (subscribed.has(entry.stream_id)) found.push(entry)
  }
  return found
}
