import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import { bearerToken } from '../auth.ts'
import type { ControllerContext } from '../context.ts'
import { Forbidden, RateLimited, Unauthorized } from '../errors.ts'
import { ensureFirstAdmin } from './first-admin.ts'
import { JwtService, loadJwtSecret, TokenError } from './jwt.ts'
import { allows, type Role, type RouteAccess } from './roles.ts'
import { webSocketToken } from './websocket.ts'

/** The signed-in user of a request, as the token check found it. */
export interface AuthUser {
  id: string
  role: Role
}

/** One registered route and the access rule it declares. */
export interface RouteAccessEntry {
  method: string
  url: string
  access: RouteAccess | undefined
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Access rule of the route, required under /api/state, /api/config, /api/query and /api/agents. */
    access?: RouteAccess
  }
  interface FastifyRequest {
    /** Signed-in user, set by the access hook on routes with a role rule and null elsewhere. */
    user: AuthUser | null
  }
  interface FastifyInstance {
    /** Every route registered after setupAuth, with its access rule. */
    routeAccess(): RouteAccessEntry[]
  }
}

/** Paths whose routes must declare `config.access`. A route there without one is closed to everyone. */
export const PROTECTED_PATHS = /^\/api\/(state|config|query|agents)(\/|$)/
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const RATE_WINDOW_MS = 60_000
const BEARER_CHALLENGE = 'Bearer realm="monit"'

/** Things the auth routes need. */
export interface Auth {
  jwt: JwtService
  /** Rate limit settings for the login route's `config.rateLimit`. */
  loginRateLimit: { max: number; timeWindow: number; groupId: string }
}

/**
 * Installs security headers, rate limits and the access hook on the root
 * instance, and creates the first admin when there are no users. Call it
 * before any route is registered, so every route passes through it.
 */
export async function setupAuth(app: FastifyInstance, context: ControllerContext): Promise<Auth> {
  const { config, logger, repository } = context
  const secret = await loadJwtSecret(config.jwtSecret, config.dataDir, logger)
  const jwt = new JwtService(secret, config.jwtExpiryS)
  await ensureFirstAdmin(repository.users, config.adminPassword, logger)

  await registerSecurityHeaders(app)
  await registerWriteRateLimit(app, config.writeRateLimit)
  recordRouteAccess(app)

  app.decorateRequest('user', null)
  app.addHook('onRequest', async (request, reply) => checkAccess(request, reply, context, jwt))

  return {
    jwt,
    loginRateLimit: { max: config.loginRateLimit, timeWindow: RATE_WINDOW_MS, groupId: 'login' },
  }
}

async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      // Only the listed directives: helmet's defaults allow inline styles and https: fonts.
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // blob: for the dashboard's screenshots, which it fetches with its token and shows as object URLs.
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  })
}

/** Limits POST, PUT, PATCH and DELETE requests per signed-in user, or per address without one. */
async function registerWriteRateLimit(app: FastifyInstance, max: number): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    // The limiter's onRequest hook is route-level, so it runs after the access hook has set request.user.
    max,
    timeWindow: RATE_WINDOW_MS,
    allowList: (request) => !WRITE_METHODS.has(request.method),
    keyGenerator: (request) => (request.user === null ? `address:${request.ip}` : `user:${request.user.id}`),
    errorResponseBuilder: (_request, limit) => new RateLimited(limit.after),
    onExceeded: (request, key) => {
      request.log.warn({ rate_limit_key: key, url: request.routeOptions.url }, 'rate limit exceeded')
    },
  })
}

function recordRouteAccess(app: FastifyInstance): void {
  const table: RouteAccessEntry[] = []
  app.decorate('routeAccess', () => table.map((entry) => ({ ...entry })))
  app.addHook('onRoute', (route) => {
    const access = route.config?.access
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) table.push({ method, url: route.url, access })
    if (access === undefined && PROTECTED_PATHS.test(route.url)) {
      app.log.error({ method: route.method, url: route.url }, 'route declares no config.access, so every request to it is rejected')
    }
  })
}

/** The onRequest hook: applies the route's access rule and sets request.user. */
async function checkAccess(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ControllerContext,
  jwt: JwtService,
): Promise<void> {
  const url = request.routeOptions.url
  if (url === undefined) return // no route matched, so the 404 handler replies
  const access = request.routeOptions.config.access
  if (access === 'public' || access === 'agent-token') return
  if (access === undefined) {
    if (!PROTECTED_PATHS.test(url)) return
    request.log.error({ method: request.method, url }, 'request to a route without config.access rejected')
    throw new Forbidden(`${request.method} ${url} declares no roles, so it is closed to everyone`)
  }

  const user = await authenticate(request, reply, context, jwt)
  request.user = user
  const params = request.params as Record<string, unknown> | undefined
  if (!allows(access, user.role, user.id, params?.id)) {
    request.log.info({ user_id: user.id, role: user.role, method: request.method, url }, 'request denied for role')
    throw new Forbidden(`role "${user.role}" may not call ${request.method} ${url}`)
  }
}

/** Verifies the bearer token and loads its user, or throws Unauthorized (401). */
async function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ControllerContext,
  jwt: JwtService,
): Promise<AuthUser> {
  const reject = (reason: string, message: string): Error => {
    request.log.info({ remote_address: request.ip, reason }, 'API token rejected')
    reply.header('www-authenticate', BEARER_CHALLENGE)
    return new Unauthorized(message)
  }

  // Only WebSocket upgrades may send the token elsewhere, since browsers cannot set their headers.
  const token = bearerToken(request) ?? (request.ws ? webSocketToken(request) : undefined)
  if (token === undefined) {
    const sent = request.headers.authorization?.split(' ')[0]
    const problem = sent === undefined || sent === '' ? 'missing token' : `unsupported Authorization scheme "${sent.slice(0, 20)}"`
    throw reject('missing', `${problem}; log in at POST /api/auth/jwt/v1 and send Authorization: Bearer TOKEN`)
  }
  let claims
  try {
    claims = await jwt.verify(token)
  } catch (err) {
    if (err instanceof TokenError) throw reject(err.reason, err.message)
    throw err
  }

  // Reading the user on every request makes a deleted user, a new role or
  // a changed password take effect at once rather than at token expiry.
  const user = await context.repository.users.getCredentials(claims.sub)
  if (user === undefined) throw reject('unknown user', 'invalid token; log in again')
  if (user.token_version !== claims.ver) throw reject('password changed', 'token revoked by a password change; log in again')
  return { id: user.id, role: user.role }
}
