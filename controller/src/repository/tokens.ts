import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Every agent token starts with this, so it is easy to spot in configs and leaks. */
export const AGENT_TOKEN_PREFIX = 'mnt_'
const ID_BYTES = 6
const SECRET_BYTES = 32
const TOKEN_PATTERN = new RegExp(`^${AGENT_TOKEN_PREFIX}([0-9a-f]{${ID_BYTES * 2}})_([A-Za-z0-9_-]{43})$`)

/** A fresh token: public id, random secret and the `mnt_<id>_<secret>` text given to the operator. */
export function generateAgentToken(): { id: string; secret: string; token: string } {
  const id = randomBytes(ID_BYTES).toString('hex')
  const secret = randomBytes(SECRET_BYTES).toString('base64url')
  return { id, secret, token: `${AGENT_TOKEN_PREFIX}${id}_${secret}` }
}

/** Splits a presented token into its id and secret; undefined when it is not token-shaped. */
export function parseAgentToken(token: string): { id: string; secret: string } | undefined {
  if (typeof token !== 'string' || token.length > 128) return undefined
  const match = TOKEN_PATTERN.exec(token)
  if (!match) return undefined
  return { id: match[1]!, secret: match[2]! }
}

/**
 * SHA-256 hex of the secret. The secret is 32 random bytes, so a fast hash
 * is enough: nobody can brute-force it from the hash.
 */
export function hashAgentTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** Constant-time comparison of two hex SHA-256 digests. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  if (left.length !== 32 || right.length !== 32) {
    timingSafeEqual(left.length === 32 ? left : Buffer.alloc(32), Buffer.alloc(32))
    return false
  }
  return timingSafeEqual(left, right)
}
