// API tokens on WebSocket upgrade requests. A browser's WebSocket cannot
// set an Authorization header, so an upgrade request may carry the token in
// the `token` query parameter or as the subprotocol `bearer.TOKEN` in
// Sec-WebSocket-Protocol. Plain HTTP requests accept only the header.
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'

/** Prefix of the subprotocol that carries a token. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.'
/** Subprotocol of the live feed; a client that offers it gets it back. */
export const LIVE_PROTOCOL = 'monit.live.v1'

/** Reads the token of a WebSocket upgrade request from its query string or subprotocols. */
export function webSocketToken(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.token
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery
  const offered = offeredProtocols(request.headers['sec-websocket-protocol'])
  const bearer = offered.find((protocol) => protocol.startsWith(BEARER_PROTOCOL_PREFIX))
  const token = bearer?.slice(BEARER_PROTOCOL_PREFIX.length)
  return token === '' ? undefined : token
}

/**
 * Picks the subprotocol of the handshake response (ws's handleProtocols):
 * the live feed's, else the first one offered. A browser fails the
 * connection when it offered subprotocols and the response names none, so
 * a client that offers only `bearer.TOKEN` gets its own offer back.
 */
export function selectProtocol(offered: Set<string>, _request: IncomingMessage): string | false {
  if (offered.has(LIVE_PROTOCOL)) return LIVE_PROTOCOL
  const [first] = offered
  return first ?? false
}

/** Returns the URL with the value of a `token` query parameter replaced, for logs. */
export function redactTokenParameter(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]')
}

function offeredProtocols(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '')
  return text
    .split(',')
    .map((protocol) => protocol.trim())
    .filter((protocol) => protocol !== '')
}
