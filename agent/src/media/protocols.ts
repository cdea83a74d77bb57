// Which URLs the media tools may open, and with which libavformat protocols
// and input timeouts. Everything here is decided from the URL scheme alone,
// before any process is spawned.
//
// Verified against ffprobe 5.1 (Debian 5.1.9):
// - http/https: HLS and DASH need only http,tcp (plus https,tls for TLS and
//   crypto for AES-128 HLS); the `hls` protocol is not needed by the hls
//   demuxer. Segments on `file:` are refused ("Protocol 'file' not on
//   whitelist"). `-rw_timeout` (µs) bounds every read, also of HLS segments
//   (the hls demuxer passes it on); `-timeout` (µs, consumed by tcp) also
//   bounds the TCP connect, which otherwise defaults to 5 s.
// - rtmp/rtmps: `-rw_timeout` (µs). NOT `-timeout`: for rtmp it is a listen
//   timeout in seconds that implies `-listen 1`. rtmps goes over tls,tcp.
// - udp: `-timeout` (µs, "raise error timeout"); `-rw_timeout` is ignored.
// - srt: `-timeout` (µs, socket I/O) and `-connect_timeout` (ms, caller
//   handshake, default 3000). libsrt has its own sockets: only `srt` is needed.
// - rtp: `-timeout` (µs) is accepted, but the rtp demuxer ignores it while
//   waiting for the first packet; the process deadline ends that case.
import { STREAM_SCHEMES } from '@monit/protocol'

export type StreamScheme = (typeof STREAM_SCHEMES)[number]

/** libavformat protocols that must never be reachable from a stream URL. */
export const FORBIDDEN_PROTOCOLS = ['file', 'pipe', 'concat', 'concatf', 'data', 'subfile', 'fd', 'async', 'cache'] as const

const WHITELISTS: Record<StreamScheme, readonly string[]> = {
  http: ['http', 'https', 'tcp', 'tls', 'crypto'],
  https: ['http', 'https', 'tcp', 'tls', 'crypto'],
  rtmp: ['rtmp', 'tcp'],
  rtmps: ['rtmps', 'tls', 'tcp'],
  srt: ['srt'],
  udp: ['udp'],
  rtp: ['rtp', 'udp'],
}

export class UnsupportedUrlError extends Error {
  override name = 'UnsupportedUrlError'
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
// Spaces and control characters never belong in a stream URL; refusing them
// keeps ffmpeg's own URL parsing from seeing anything surprising.
const BAD_CHARS_RE = /[\u0000-\u0020\u007f]/

/**
 * The URL's scheme, lower-cased, if it is one monit probes. Throws an
 * UnsupportedUrlError otherwise (before anything is spawned).
 */
export function streamScheme(url: string): StreamScheme {
  if (typeof url !== 'string' || url.length === 0) throw new UnsupportedUrlError('empty stream URL')
  if (url.length > 4096) throw new UnsupportedUrlError('stream URL longer than 4096 characters')
  if (BAD_CHARS_RE.test(url)) throw new UnsupportedUrlError('stream URL contains spaces or control characters')
  const match = SCHEME_RE.exec(url)
  if (!match) throw new UnsupportedUrlError(`stream URL has no scheme://: ${truncate(url)}`)
  const scheme = match[1]!.toLowerCase()
  if (!(STREAM_SCHEMES as readonly string[]).includes(scheme)) {
    throw new UnsupportedUrlError(
      `unsupported URL scheme "${truncate(scheme, 32)}" (allowed: ${STREAM_SCHEMES.join(', ')})`,
    )
  }
  return scheme as StreamScheme
}

/** The `-protocol_whitelist` value for a URL; throws for unsupported schemes. */
export function protocolWhitelist(url: string): string {
  return WHITELISTS[streamScheme(url)].join(',')
}

/**
 * Input options for one stream URL: the protocol whitelist, the I/O timeouts
 * that protocol understands, then `-i url`. Every media tool run that opens
 * a stream builds its input with this function.
 */
export function inputArgs(url: string, timeoutS: number): string[] {
  const scheme = streamScheme(url)
  const us = String(Math.max(1, Math.round(timeoutS * 1_000_000)))
  const args = ['-protocol_whitelist', WHITELISTS[scheme].join(',')]
  switch (scheme) {
    case 'http':
    case 'https':
      args.push('-rw_timeout', us, '-timeout', us)
      break
    case 'rtmp':
    case 'rtmps':
      args.push('-rw_timeout', us)
      break
    case 'udp':
      args.push('-timeout', us, '-overrun_nonfatal', '1')
      break
    case 'srt':
      args.push('-timeout', us, '-connect_timeout', String(Math.max(1, Math.round(timeoutS * 1000))))
      break
    case 'rtp':
      args.push('-timeout', us)
      break
  }
  args.push('-i', url)
  return args
}

/** The URL with any user:password removed, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@?#]*@/, '$1***@')
}

function truncate(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
