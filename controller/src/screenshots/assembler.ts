// Joins the `screenshot` frames of each agent back into JPEGs. A screenshot
// whose parts do not all arrive within the timeout, that grows past the size
// cap, or whose parts disagree is discarded.
import { MAX_SCREENSHOT_BYTES, type Screenshot } from '@monit/protocol'
import { isJpeg } from './jpeg.ts'

export const DEFAULT_ASSEMBLY_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_PENDING = 16

export interface AssembledScreenshot {
  agentId: string
  stream_id: string
  epoch: number
  ts_ms: number
  jpeg: Buffer
}

export type AddOutcome =
  | { status: 'pending' }
  | { status: 'complete'; screenshot: AssembledScreenshot }
  | { status: 'rejected'; reason: string }

export interface AssemblerOptions {
  /** Milliseconds from a screenshot's first part until the rest must have arrived. */
  timeoutMs?: number
  /** Largest joined screenshot, bytes. */
  maxBytes?: number
  /** Screenshots being joined at once over all agents; past it the oldest is dropped. */
  maxPending?: number
  /** Clock, for tests. */
  now?: () => number
}

interface Pending {
  agentId: string
  first: Screenshot
  parts: Array<Buffer | undefined>
  received: number
  bytes: number
  startedAt: number
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function sameScreenshot(a: Screenshot, b: Screenshot): boolean {
  return (
    a.stream_id === b.stream_id &&
    a.epoch === b.epoch &&
    a.ts_ms === b.ts_ms &&
    a.count === b.count &&
    a.content_type === b.content_type
  )
}

function decodePart(data: string): Buffer | undefined {
  if (data.length % 4 !== 0 || !BASE64.test(data)) return undefined
  return Buffer.from(data, 'base64')
}

export class ScreenshotAssembler {
  readonly timeoutMs: number
  readonly maxBytes: number
  readonly maxPending: number
  /** Screenshots discarded because their parts stopped arriving. */
  expired = 0
  private readonly now: () => number
  /** In arrival order of the first part, so the oldest comes first. */
  private readonly pending = new Map<string, Pending>()

  constructor(options: AssemblerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ASSEMBLY_TIMEOUT_MS
    this.maxBytes = Math.min(options.maxBytes ?? MAX_SCREENSHOT_BYTES, MAX_SCREENSHOT_BYTES)
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING
    this.now = options.now ?? Date.now
  }

  /** Screenshots with parts still missing. */
  get size(): number {
    return this.pending.size
  }

  /** Takes one frame; returns the whole screenshot once its last part has arrived. */
  add(agentId: string, frame: Screenshot): AddOutcome {
    this.sweep()
    if (frame.index >= frame.count) return { status: 'rejected', reason: `part ${frame.index} of a screenshot with ${frame.count} parts` }
    const key = `${agentId}\u0000${frame.id}`
    const entry = this.pending.get(key) ?? this.open(key, agentId, frame)
    const reason = this.store(entry, frame)
    if (reason !== undefined) {
      this.pending.delete(key)
      return { status: 'rejected', reason }
    }
    if (entry.received < entry.parts.length) return { status: 'pending' }
    this.pending.delete(key)
    return this.finish(entry)
  }

  /** Drops the screenshots an agent was sending, such as when it disconnects. */
  dropAgent(agentId: string): void {
    for (const [key, entry] of this.pending) {
      if (entry.agentId === agentId) this.pending.delete(key)
    }
  }

  /** Discards screenshots older than the timeout; returns how many. */
  sweep(): number {
    const limit = this.now() - this.timeoutMs
    let dropped = 0
    for (const [key, entry] of this.pending) {
      if (entry.startedAt > limit) continue
      this.pending.delete(key)
      dropped++
    }
    this.expired += dropped
    return dropped
  }

  private open(key: string, agentId: string, frame: Screenshot): Pending {
    while (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value
      if (oldest === undefined) break
      this.pending.delete(oldest)
      this.expired++
    }
    const entry: Pending = {
      agentId,
      first: frame,
      parts: new Array<Buffer | undefined>(frame.count).fill(undefined),
      received: 0,
      bytes: 0,
      startedAt: this.now(),
    }
    this.pending.set(key, entry)
    return entry
  }

  /** Stores one part; returns why the screenshot must be discarded, if it must. */
  private store(entry: Pending, frame: Screenshot): string | undefined {
    if (!sameScreenshot(entry.first, frame)) return 'parts of one screenshot disagree on stream, epoch, time or count'
    if (entry.parts[frame.index] !== undefined) return `part ${frame.index} received twice`
    const part = decodePart(frame.data)
    if (part === undefined) return `part ${frame.index} is not valid base64`
    entry.bytes += part.length
    if (entry.bytes > this.maxBytes) return `screenshot exceeds ${this.maxBytes} bytes`
    entry.parts[frame.index] = part
    entry.received++
    return undefined
  }

  private finish(entry: Pending): AddOutcome {
    const jpeg = Buffer.concat(entry.parts as Buffer[])
    if (!isJpeg(jpeg)) return { status: 'rejected', reason: 'screenshot is not a JPEG' }
    const { stream_id, epoch, ts_ms } = entry.first
    return { status: 'complete', screenshot: { agentId: entry.agentId, stream_id, epoch, ts_ms, jpeg } }
  }
}
