// Signature of webhook deliveries: an HMAC-SHA256 over `TIMESTAMP.BODY`,
// keyed with the channel's shared secret and sent as hex.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-monit-signature'
/** Unix seconds when the delivery was signed. */
export const TIMESTAMP_HEADER = 'x-monit-timestamp'
/** Seconds a receiver should accept between the signed timestamp and its own clock. */
export const DEFAULT_TOLERANCE_S = 300

/** Returns the X-Monit-Signature value: `sha256=` and the hex HMAC-SHA256 of `timestamp.body`. */
export function signPayload(secret: string, timestamp: string, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return `sha256=${digest}`
}

export interface SignedDelivery {
  secret: string
  /** The X-Monit-Timestamp header. */
  timestamp: string
  /** The raw request body, byte for byte as received. */
  body: string
  /** The X-Monit-Signature header. */
  signature: string
  /** The receiver's clock in Unix seconds. */
  nowS: number
  toleranceS?: number
}

/**
 * Checks a delivery the way a receiver should: the timestamp is within the
 * tolerance of nowS, and the signature matches in constant time.
 */
export function verifySignature(delivery: SignedDelivery): boolean {
  const { secret, timestamp, body, signature, nowS } = delivery
  if (!/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(nowS - Number(timestamp)) > (delivery.toleranceS ?? DEFAULT_TOLERANCE_S)) return false
  const expected = Buffer.from(signPayload(secret, timestamp, body))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
