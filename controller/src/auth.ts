import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Repository } from './repository/index.ts'

/** Reads a bearer token from the Authorization header. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match?.[1]
}

function sameSecret(a: string, b: string): boolean {
  // Hashing first gives equal lengths, which timingSafeEqual requires.
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Checks an agent token against the configured one and the stored ones.
 * Returns a label for logs (never the token itself), or undefined.
 */
export async function verifyAgentToken(
  token: string,
  configured: string | undefined,
  repository: Repository,
): Promise<string | undefined> {
  if (configured !== undefined && sameSecret(token, configured)) return 'configured'
  const stored = await repository.verifyAgentToken(token)
  return stored === undefined ? undefined : `token ${stored.id}`
}
