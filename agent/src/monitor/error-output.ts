// The error output a status message carries: the end of a tool's stderr or
// of the player page's errors, bounded and without credentials.
import { MAX_ERROR_OUTPUT_CHARS } from '@monit/protocol'

/** user:password@ (or a token@) after a URL scheme. */
const URL_USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/@?#]+@/g
/** Query parameters whose values are commonly secrets, such as signed-URL tokens. */
const SECRET_QUERY = /([?&](?:token|access_token|auth|key|api_key|apikey|secret|password|passwd|pass|signature|sig)=)[^&#\s]*/gi

/** Replaces URL credentials and secret query values in text with `***`. */
export function redactCredentials(text: string): string {
  return text.replace(URL_USERINFO, '$1***@').replace(SECRET_QUERY, '$1***')
}

/**
 * Returns the last `max` characters of text after redacting credentials,
 * starting at a line start when one lies in that tail; undefined for
 * empty text. Redaction runs first, so the cut never splits a secret.
 */
export function errorOutputTail(text: string | undefined, max = MAX_ERROR_OUTPUT_CHARS): string | undefined {
  if (text === undefined) return undefined
  const redacted = redactCredentials(text).trim()
  if (redacted === '') return undefined
  if (redacted.length <= max) return redacted
  const tail = redacted.slice(-max)
  const lineStart = tail.indexOf('\n')
  return lineStart >= 0 && lineStart < tail.length - 1 ? tail.slice(lineStart + 1) : tail
}
