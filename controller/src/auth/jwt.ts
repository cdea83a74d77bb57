import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import type { Logger } from 'pino'

// API tokens are JWTs signed with HS256. Verification accepts HS256 only,
// so a token whose header names `none` or any other algorithm is rejected.

const ALGORITHM = 'HS256'
const ISSUER = 'monit-controller'
const SECRET_FILE = 'jwt-secret'
const MIN_SECRET_LENGTH = 32

/** Claims of a verified token. */
export interface TokenClaims {
  /** User id. */
  sub: string
  /** The user's token_version when the token was issued. */
  ver: number
}

export interface IssuedToken {
  token: string
  expiresAt: Date
}

/** A token rejection with its reason. The message is safe to send to the client. */
export class TokenError extends Error {
  readonly reason: 'expired' | 'invalid'

  constructor(reason: 'expired' | 'invalid', message: string) {
    super(message)
    this.name = 'TokenError'
    this.reason = reason
  }
}

/**
 * Returns the signing secret: the configured one, else the one stored in
 * DATA_DIR/jwt-secret, which is created (mode 0600) on first use.
 */
export async function loadJwtSecret(configured: string | undefined, dataDir: string, logger: Logger): Promise<string> {
  if (configured !== undefined) return configured
  const path = join(dataDir, SECRET_FILE)
  const created = randomBytes(32).toString('base64url')
  try {
    await writeFile(path, `${created}\n`, { mode: 0o600, flag: 'wx' })
    logger.info({ path }, 'generated a JWT signing secret')
    return created
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return readSecretFile(path, logger)
}

async function readSecretFile(path: string, logger: Logger): Promise<string> {
  const secret = (await readFile(path, 'utf8')).trim()
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `JWT secret file ${path} contains ${secret.length} characters; it needs ${MIN_SECRET_LENGTH} or more. ` +
        'Delete it to generate a new one, or set MONIT_JWT_SECRET.',
    )
  }
  const { mode } = await stat(path)
  if ((mode & 0o077) !== 0) {
    logger.warn({ path, mode: (mode & 0o777).toString(8) }, 'JWT secret file is readable by other users; run chmod 600 on it')
  }
  return secret
}

/** Signs and verifies API tokens with one HS256 key. */
export class JwtService {
  private readonly key: Uint8Array
  private readonly expiryS: number

  constructor(secret: string, expiryS: number) {
    this.key = new TextEncoder().encode(secret)
    this.expiryS = expiryS
  }

  /** Issues a token for the user that expires after the configured number of seconds. */
  async issue(userId: string, tokenVersion: number, now = new Date()): Promise<IssuedToken> {
    const issuedAtS = Math.floor(now.getTime() / 1000)
    const expiresAtS = issuedAtS + this.expiryS
    const token = await new SignJWT({ ver: tokenVersion })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(userId)
      .setIssuedAt(issuedAtS)
      .setExpirationTime(expiresAtS)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.key)
    return { token, expiresAt: new Date(expiresAtS * 1000) }
  }

  /** Verifies signature, algorithm, issuer and expiry, and throws TokenError when one fails. */
  async verify(token: string): Promise<TokenClaims> {
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        requiredClaims: ['sub', 'exp', 'iat'],
      })
      payload = result.payload
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'token expired; log in again')
      throw new TokenError('invalid', 'invalid token; log in again')
    }
    const { sub, ver } = payload
    if (typeof sub !== 'string' || !Number.isInteger(ver)) throw new TokenError('invalid', 'invalid token; log in again')
    return { sub, ver: ver as number }
  }
}
