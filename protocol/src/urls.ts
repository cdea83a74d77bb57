import { STREAM_SCHEMES } from './messages.ts'

export type StreamScheme = (typeof STREAM_SCHEMES)[number]

/**
 * Checks that a stream URL parses and uses a scheme monit probes. Returns the
 * scheme, or an error message that lists the allowed schemes.
 */
export function checkStreamUrl(url: string): { ok: true; scheme: StreamScheme } | { ok: false; message: string } {
  // The URL parser would trim or drop these silently, and the media tools would not.
  if (/[\s\u0000-\u001f\u007f]/.test(url)) {
    return { ok: false, message: `"${url.slice(0, 200)}" contains spaces or control characters` }
  }

  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, message: `"${url.slice(0, 200)}" is not a valid URL` }
  }

  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase()
  if (!(STREAM_SCHEMES as readonly string[]).includes(scheme)) {
    return { ok: false, message: `scheme "${scheme}" is not allowed; use one of ${STREAM_SCHEMES.join(', ')}` }
  }
  if (parsed.hostname === '') {
    return { ok: false, message: `"${url.slice(0, 200)}" has no host` }
  }

  return { ok: true, scheme: scheme as StreamScheme }
}
