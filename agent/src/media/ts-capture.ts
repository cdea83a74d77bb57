// Reads the MPEG-TS bytes of a live UDP or SRT stream for one sample window
// and hands them to the caller as they arrive, with their arrival time.
//
// - UDP: a dgram socket bound to the URL's port, so the agent reads the
//   datagrams itself. It sets SO_REUSEADDR, but for unicast Linux still
//   delivers each datagram to one socket only, so another reader of the same
//   port (an ffmpeg picture and sound check) and this one take turns.
// - SRT: ffmpeg through the runner, copying the bytes unchanged
//   (`-f data ... -c copy -f data pipe:1`), so continuity counters and
//   tables are the sender's, not a remuxer's.
import { createSocket, type Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import { classifyFailure } from './ffprobe.ts'
import { protocolWhitelist, streamScheme } from './protocols.ts'
import { MediaToolError, runMediaTool } from './runner.ts'

export type CaptureOutcome = { ok: true } | { ok: false; reason: string; retryable: boolean; stderr: string }

export interface CaptureOptions {
  /** Seconds of the stream to read, counted from the first byte. */
  sampleS: number
  /** Seconds to wait for the first byte. */
  timeoutS: number
  signal?: AbortSignal
  onChunk: (chunk: Buffer, atMs: number) => void
}

function seconds(value: number): string {
  return Number.isInteger(value) ? `${value} s` : `${value.toFixed(1)} s`
}

/** Returns whether captureTs reads a URL itself: udp:// and srt://. */
export function captureApplies(url: string): boolean {
  return /^(udp|srt):\/\//i.test(url)
}

/** Reads one sample window of a udp:// or srt:// stream; never rejects. */
export function captureTs(url: string, options: CaptureOptions): Promise<CaptureOutcome> {
  return /^udp:/i.test(url) ? captureUdp(url, options) : captureSrt(url, options)
}

function captureUdp(url: string, options: CaptureOptions): Promise<CaptureOutcome> {
  let parsed: URL
  try {
    streamScheme(url)
    parsed = new URL(url)
  } catch (error) {
    return Promise.resolve({ ok: false, reason: (error as Error).message, retryable: false, stderr: '' })
  }
  const port = Number(parsed.port)
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '0.0.0.0'
  if (!(port > 0) || !isIPv4(host)) {
    return Promise.resolve({ ok: false, reason: `UDP URL needs an IPv4 address and a port: ${parsed.host}`, retryable: false, stderr: '' })
  }
  const multicast = Number(host.split('.')[0]) >= 224 && Number(host.split('.')[0]) <= 239

  return new Promise((resolve) => {
    const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true })
    let firstAt: number | undefined
    let settled = false
    const finish = (outcome: CaptureOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(noData)
      clearTimeout(windowEnd)
      options.signal?.removeEventListener('abort', onAbort)
      try {
        socket.close()
      } catch {
        // The socket is closed already (a failed bind).
      }
      resolve(outcome)
    }
    const onAbort = () => finish({ ok: false, reason: 'aborted', retryable: false, stderr: '' })
    const noData = setTimeout(() => finish({ ok: false, reason: `timeout: no data within ${seconds(options.timeoutS)}`, retryable: true, stderr: '' }), options.timeoutS * 1000)
    let windowEnd: NodeJS.Timeout | undefined

    socket.on('error', (error) => finish({ ok: false, reason: `UDP socket failed: ${error.message}`, retryable: true, stderr: '' }))
    socket.on('message', (datagram) => {
      if (settled) return
      const now = Date.now()
      if (firstAt === undefined) {
        firstAt = now
        clearTimeout(noData)
        windowEnd = setTimeout(() => finish({ ok: true }), options.sampleS * 1000)
      }
      options.onChunk(datagram, now)
    })
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.bind(port, multicast ? undefined : host, () => {
      if (!multicast || settled) return
      try {
        socket.addMembership(host)
      } catch (error) {
        finish({ ok: false, reason: `joining ${host} failed: ${(error as Error).message}`, retryable: true, stderr: '' })
      }
    })
  })
}

async function captureSrt(url: string, options: CaptureOptions): Promise<CaptureOutcome> {
  const us = String(Math.max(1, Math.round(options.timeoutS * 1_000_000)))
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'warning',
    '-protocol_whitelist',
    protocolWhitelist(url),
    '-timeout',
    us,
    '-connect_timeout',
    String(Math.max(1, Math.round(options.timeoutS * 1000))),
    '-f',
    'data',
    '-i',
    url,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'data',
    'pipe:1',
  ]
  // The raw copy has no timestamps for -t, so the run ends by an abort once
  // sampleS seconds have passed since the first byte.
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  let firstAt: number | undefined
  let windowEnd: NodeJS.Timeout | undefined
  try {
    const run = await runMediaTool('ffmpeg', args, {
      deadlineMs: (options.sampleS + options.timeoutS + 5) * 1000,
      signal,
      onStdout: (chunk) => {
        const now = Date.now()
        if (firstAt === undefined) {
          firstAt = now
          windowEnd = setTimeout(() => stop.abort(), options.sampleS * 1000)
        }
        options.onChunk(chunk, now)
      },
    })
    if (options.signal?.aborted) return { ok: false, reason: 'aborted', retryable: false, stderr: run.stderr }
    if (firstAt !== undefined) return { ok: true }
    return { ok: false, reason: classifyFailure({ ...run, aborted: false }, options.timeoutS, url, 'ffmpeg'), retryable: true, stderr: run.stderr }
  } catch (error) {
    const retryable = !(error instanceof MediaToolError && error.code === 'ENOENT')
    return { ok: false, reason: (error as Error).message, retryable, stderr: '' }
  } finally {
    clearTimeout(windowEnd)
  }
}
