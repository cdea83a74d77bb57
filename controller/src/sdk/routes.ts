// GET /sdk/monit.js: the player SDK, a browser script that players on any
// origin load with <script src>. It is read once at startup and served as is.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { Access } from '../auth/roles.ts'
import type { ControllerContext } from '../context.ts'

const SDK_FILE = new URL('./monit.js', import.meta.url)
/** Seconds browsers and CDNs may reuse the script before they revalidate it with its ETag. */
const MAX_AGE_S = 3600

export async function sdkRoutes(app: FastifyInstance, _context: ControllerContext): Promise<void> {
  const body = await readFile(SDK_FILE)
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`

  app.get('/sdk/monit.js', { config: { access: Access.public } }, async (request, reply) => {
    // Helmet sends Cross-Origin-Resource-Policy: same-origin, which makes
    // browsers block the script on the players' pages, which are other origins.
    reply.header('cross-origin-resource-policy', 'cross-origin')
    // For <script crossorigin> and for subresource integrity checks.
    reply.header('access-control-allow-origin', '*')
    reply.header('cache-control', `public, max-age=${MAX_AGE_S}`)
    reply.header('etag', etag)
    if (request.headers['if-none-match'] === etag) {
      reply.code(304)
      return reply.send()
    }
    reply.type('text/javascript; charset=utf-8')
    return reply.send(body)
  })
}
