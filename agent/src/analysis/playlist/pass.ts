// Shared parts of the HLS and DASH passes: the pass context, requests that
// obey the deadline and the concurrency limit and are counted, and the
// segment download.
import type { Logger } from 'pino'
import { redactUrl } from '../../media/protocols.ts'
import { httpGet, type HttpRequest, type HttpResult } from './http.ts'
import { withDownloadFigures, type SegmentReport } from './report.ts'
import type { RequestCounter, RequestFailure, RequestKind } from './requests.ts'
import type { Limiter, PassDeadline } from './scheduling.ts'

export interface PassContext {
  streamId: string
  log: Logger
  deadline: PassDeadline
  limit: Limiter
  counter: RequestCounter
  /** Wall clock, Unix milliseconds. */
  now: () => number
  /** Newest segments downloaded per playlist. */
  segments: number
  /** Per-request timeout, ms; without it a request may take the rest of the pass. */
  requestTimeoutMs: number | undefined
  /** The pass budget was set by the caller and must not shrink to the target duration. */
  fixedBudget: boolean
  maxBudgetMs: number
  maxPlaylistBytes: number
  maxSegmentBytes: number
}

/** A playlist or manifest text already fetched, with its timings. */
export interface FetchedText {
  requestedUrl: string
  /** The URL after redirects, which relative URIs in the text resolve against. */
  url: string
  text: string
  ttfbMs: number
  totalMs: number
  bytes: number
}

/** A request that never started because the pass ran out of time; it is not counted. */
export const SKIPPED_REASON = 'pass time limit reached before the request started'

export interface RequestSpec {
  kind: RequestKind
  url: string
  range?: { offset: number; length: number }
}

/**
 * Runs one GET under the limiter and the deadline and counts it. A request
 * that cannot start in time, or that the caller's signal aborted, is not
 * counted, because neither reflects the state of the stream.
 */
export async function requestInPass(context: PassContext, spec: RequestSpec): Promise<HttpResult> {
  return context.limit(async () => {
    if (context.deadline.expired) return skipped()

    const request: HttpRequest = {
      url: spec.url,
      signal: context.deadline.signal,
      keepBody: spec.kind === 'playlist',
      maxBytes: spec.kind === 'playlist' ? context.maxPlaylistBytes : context.maxSegmentBytes,
    }
    if (spec.range) request.range = spec.range
    if (context.requestTimeoutMs !== undefined) request.timeoutMs = context.requestTimeoutMs
    const result = await httpGet(request)

    if (!result.ok && result.error === 'aborted') return result
    context.counter.record(spec.kind, result.ok ? undefined : failureOf(result))
    if (!result.ok) logFailure(context, spec, result.reason)
    return result
  })
}

function skipped(): HttpResult {
  return { ok: false, error: 'timeout', reason: SKIPPED_REASON, totalMs: 0 }
}

function failureOf(result: Extract<HttpResult, { ok: false }>): RequestFailure {
  return result.status !== undefined ? { status: result.status } : { error: result.error }
}

function logFailure(context: PassContext, spec: RequestSpec, reason: string): void {
  context.log.debug(
    { stream_id: context.streamId, url: redactUrl(spec.url), kind: spec.kind, reason },
    'playlist analysis request failed',
  )
}

export interface SegmentTarget {
  url: string
  sequence: number
  duration: number
  range?: { offset: number; length: number }
}

/** Downloads one segment and reports its timings against its duration. */
export async function downloadSegment(
  context: PassContext,
  target: SegmentTarget,
): Promise<SegmentReport> {
  const report: SegmentReport = {
    sequence: target.sequence,
    url: redactUrl(target.url),
    duration: target.duration,
    available: false,
  }
  const spec: RequestSpec = { kind: 'segment', url: target.url }
  if (target.range) spec.range = target.range

  const result = await requestInPass(context, spec)
  if (!result.ok) {
    report.reason = result.reason
    if (result.status !== undefined) report.status = result.status
    return report
  }

  report.available = true
  report.status = result.status
  report.bytes = result.bytes
  report.ttfbMs = result.ttfbMs
  report.totalMs = result.totalMs
  if (result.rangeIgnored) {
    report.reason = 'server ignored the byte range and sent the whole resource'
  }
  return withDownloadFigures(report)
}

/** Resolves a URI from a manifest; undefined unless the result is http(s). */
export function resolveHttpUrl(uri: string, base: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri, base)
  } catch {
    return undefined
  }

  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
}

/** Shrinks the pass budget to one target or segment duration unless the caller fixed it. */
export function boundPassBy(context: PassContext, durationS: number): void {
  if (context.fixedBudget || !(durationS > 0)) return

  context.deadline.shrinkTo(Math.min(durationS * 1000, context.maxBudgetMs))
}
