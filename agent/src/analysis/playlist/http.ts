// One HTTP GET with Node's fetch, timed: time to the response headers and
// to the last body byte. Never rejects; failures resolve with a reason.
import type { RequestFailure } from './requests.ts'

export interface HttpRequest {
  url: string
  /** Aborts the request, e.g. at the pass deadline. */
  signal: AbortSignal
  /** Timeout of this request alone, ms; without it only `signal` ends the request. */
  timeoutMs?: number
  /** Request only these bytes (an HLS byte-range segment). */
  range?: { offset: number; length: number }
  /** Keep the body (playlists) or only count its bytes (segments). */
  keepBody: boolean
  /** Larger bodies are cut off and reported as `too-large`. */
  maxBytes: number
}

export interface HttpTimings {
  /** Time until the response headers arrived, ms. */
  ttfbMs: number
  /** Time until the last body byte arrived, ms. */
  totalMs: number
}

export type HttpResult =
  | (HttpTimings & {
      ok: true
      status: number
      /** The URL after redirects, which relative URIs resolve against. */
      url: string
      contentType?: string
      body?: Buffer
      bytes: number
      /** A range was requested but the server sent the whole resource (status 200). */
      rangeIgnored?: boolean
    })
  | (RequestFailure & {
      ok: false
      error: 'http' | 'timeout' | 'network' | 'too-large' | 'aborted'
      reason: string
      ttfbMs?: number
      totalMs: number
    })

/** Fetches one URL; resolves with timings or a failure, never rejects. */
export async function httpGet(request: HttpRequest): Promise<HttpResult> {
  const started = performance.now()
  const timeout =
    request.timeoutMs === undefined
      ? undefined
      : AbortSignal.timeout(Math.max(1, Math.ceil(request.timeoutMs)))
  const signal = timeout ? AbortSignal.any([request.signal, timeout]) : request.signal
  const elapsed = () => Math.round(performance.now() - started)

  let response: Response
  try {
    response = await fetch(request.url, {
      signal,
      headers: requestHeaders(request),
      redirect: 'follow',
    })
  } catch (error) {
    return failure(error, request, timeout, elapsed(), undefined)
  }

  const ttfbMs = elapsed()
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    return {
      ok: false,
      status: response.status,
      error: 'http',
      reason: `HTTP ${response.status}`,
      ttfbMs,
      totalMs: elapsed(),
    }
  }

  const rangeIgnored = request.range !== undefined && response.status === 200
  const limit = rangeIgnored && request.range ? request.range.length : request.maxBytes
  try {
    const read = await readBody(response, request.keepBody, limit, rangeIgnored)
    if (read.tooLarge) {
      return {
        ok: false,
        error: 'too-large',
        reason: `body larger than ${limit} bytes`,
        ttfbMs,
        totalMs: elapsed(),
      }
    }
    return success(response, read, { ttfbMs, totalMs: elapsed() }, rangeIgnored)
  } catch (error) {
    return failure(error, request, timeout, elapsed(), ttfbMs)
  }
}

function requestHeaders(request: HttpRequest): Record<string, string> {
  if (!request.range) return {}

  const { offset, length } = request.range
  return { range: `bytes=${offset}-${offset + length - 1}` }
}

interface BodyRead {
  bytes: number
  chunks: Buffer[]
  tooLarge: boolean
}

/**
 * Reads the body up to `limit` bytes. With `truncate`, reaching the limit
 * ends the read normally; otherwise it marks the body too large.
 */
async function readBody(
  response: Response,
  keepBody: boolean,
  limit: number,
  truncate: boolean,
): Promise<BodyRead> {
  const read: BodyRead = { bytes: 0, chunks: [], tooLarge: false }
  if (!response.body) return read

  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return read

    read.bytes += value.byteLength
    if (keepBody) read.chunks.push(Buffer.from(value))

    const full = truncate ? read.bytes >= limit : read.bytes > limit
    if (full) {
      read.tooLarge = !truncate
      await reader.cancel().catch(() => {})
      return read
    }
  }
}

function success(
  response: Response,
  read: BodyRead,
  timings: HttpTimings,
  rangeIgnored: boolean,
): HttpResult {
  const result: HttpResult = {
    ok: true,
    status: response.status,
    url: response.url,
    bytes: read.bytes,
    ...timings,
  }
  const contentType = response.headers.get('content-type')
  if (contentType) result.contentType = contentType
  if (read.chunks.length > 0) result.body = Buffer.concat(read.chunks)
  if (rangeIgnored) result.rangeIgnored = true

  return result
}

function failure(
  error: unknown,
  request: HttpRequest,
  timeout: AbortSignal | undefined,
  totalMs: number,
  ttfbMs: number | undefined,
): HttpResult {
  const base = ttfbMs === undefined ? { totalMs } : { totalMs, ttfbMs }
  if (timeout?.aborted) {
    return {
      ok: false,
      error: 'timeout',
      reason: `timed out after ${Math.ceil(request.timeoutMs ?? 0)} ms`,
      ...base,
    }
  }

  if (request.signal.aborted) {
    // The pass deadline aborts with a TimeoutError; any other reason is the caller stopping.
    const reason: unknown = request.signal.reason
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
    const message = reason instanceof Error ? reason.message : 'request aborted'
    return { ok: false, error: timedOut ? 'timeout' : 'aborted', reason: message, ...base }
  }

  return { ok: false, error: 'network', reason: networkReason(error), ...base }
}

/** fetch rejects with "fetch failed" and puts the socket error in `cause`. */
function networkReason(error: unknown): string {
  const cause =
    error instanceof Error
      ? (error.cause as { code?: string; message?: string } | undefined)
      : undefined
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`
  if (cause?.message) return cause.message

  return error instanceof Error ? error.message : String(error)
}
