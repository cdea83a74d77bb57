import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Access } from '../auth/roles.ts'
import { redactTokenParameter } from '../auth/websocket.ts'
import type { ControllerContext } from '../context.ts'
import { LiveFeedFull } from '../errors.ts'

/** Retry-After value, in seconds, sent with the 503 of a full live feed. */
const RETRY_AFTER_S = 10

/**
 * Registers GET /api/live/v1/ws, the live feed. The access hook checks the
 * token (header, `token` query parameter or `bearer.TOKEN` subprotocol)
 * before the upgrade, so a request without a valid one gets 401.
 */
export async function liveRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const { live } = context
  app.get(
    '/api/live/v1/ws',
    {
      websocket: true,
      config: { access: Access.read },
      // The URL may carry the token, so request logs show it redacted.
      logSerializers: { req: serializeRequest },
      preValidation: async (_request, reply) => {
        if (!live.full) return
        reply.header('retry-after', String(RETRY_AFTER_S))
        throw new LiveFeedFull(context.config.liveMaxSubscribers)
      },
    },
    (socket, request) => {
      // NOTE: the token is checked once, at the upgrade. The connection stays
      // open after the token expires or the user is deleted.
      live.accept(socket, { userId: request.user!.id, remoteAddress: request.ip })
    },
  )
}

function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: redactTokenParameter(request.url), remoteAddress: request.ip }
}
