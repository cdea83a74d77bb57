import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

// Password hashes are PHC strings: $scrypt$ln=17,r=8,p=1$<salt>$<hash>,
// with unpadded base64 salt and hash. The parameters travel with each hash,
// so they can be raised later without breaking stored ones.

/**
 * N = 2^17, r = 8, p = 1 is the minimum the OWASP Password Storage Cheat
 * Sheet gives for scrypt. One hash takes 128 MiB for its run time.
 */
const CURRENT = { ln: 17, r: 8, p: 1 } as const
const SALT_BYTES = 16
const HASH_BYTES = 32
const PHC_PATTERN = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

/** Maximum password length in characters, so that one request cannot make scrypt hash megabytes. */
export const MAX_PASSWORD_LENGTH = 1024
export const MIN_PASSWORD_LENGTH = 8

interface ParsedHash {
  ln: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

function derive(password: string, salt: Buffer, params: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** params.ln
  // Node rejects scrypt calls that need more than maxmem bytes, and one call needs about 128 * N * r.
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

function encode(buffer: Buffer): string {
  return buffer.toString('base64').replace(/=+$/, '')
}

function formatHash(params: { ln: number; r: number; p: number }, salt: Buffer, hash: Buffer): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${encode(salt)}$${encode(hash)}`
}

/** Parses a stored hash, or returns undefined unless it is a PHC scrypt string with sane parameters. */
function parseHash(stored: string): ParsedHash | undefined {
  const match = PHC_PATTERN.exec(stored)
  if (!match) return undefined
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])]
  // Bounds keep a tampered row from making one login allocate gigabytes.
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined
  const salt = Buffer.from(match[4]!, 'base64')
  const hash = Buffer.from(match[5]!, 'base64')
  if (hash.length !== HASH_BYTES) return undefined
  return { ln, r, p, salt, hash }
}

/** Hashes a password with a fresh random salt and the current parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(password, salt, CURRENT)
  return formatHash(CURRENT, salt, hash)
}

/** Compares a password with a stored hash in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored)
  if (parsed === undefined) return false
  const hash = await derive(password, parsed.salt, parsed)
  return timingSafeEqual(hash, parsed.hash)
}

/** True when a stored hash uses parameters other than the current ones. */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored)
  return parsed === undefined || parsed.ln !== CURRENT.ln || parsed.r !== CURRENT.r || parsed.p !== CURRENT.p
}

/** A well-formed hash that no password matches in practice (zero salt, zero hash). */
const DUMMY_HASH = formatHash(CURRENT, Buffer.alloc(SALT_BYTES), Buffer.alloc(HASH_BYTES))

/**
 * Spends the time of one verifyPassword for a user that does not exist, so
 * response times do not tell which usernames are taken. Always false.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(password, DUMMY_HASH)
  return false
}
