// Public routes that players call from any origin, without credentials.
// POST /api/data/heatmap/v1 stores viewer beacons in the heatmap table, and
// POST /api/data/events/v1 stores player events in the events table. Each
// request carries a JSON array, and the whole array is stored or none of it.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import cors from '@fastify/cors'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import { ClientResolver, requireUserAgent, type ClientFields } from '../beacons/client.ts'
import { GeoIpLookup } from '../beacons/geoip.ts'
import { checkEvents, eventRows, heatmapRows } from '../beacons/rows.ts'
import { BatchAccepted, BeaconBatch, MAX_ITEMS_PER_REQUEST, PlayerEventBatch } from '../beacons/schemas.ts'
import { UserAgentParser } from '../beacons/ua.ts'
import { Access } from '../auth/roles.ts'
import type { ControllerContext } from '../context.ts'
import { BufferFull, PayloadTooLarge, RateLimited } from '../errors.ts'
import { BufferFullError, type BatchWriter, type StorageRow } from '../storage/index.ts'
import { ErrorBody } from './schemas.ts'

/** Largest request body on the beacon routes; a larger one is rejected with 413. */
export const BEACON_BODY_LIMIT = 256 * 1024

/** Retry-After value, in seconds, sent with the 503 for a full writer buffer. */
const RETRY_AFTER_S = 5

/** Seconds browsers may cache a preflight response; Chromium 76 and later cap it at 2 hours. */
const PREFLIGHT_MAX_AGE_S = 7200

/**
 * Client addresses each route's rate limiter tracks at once. Past that the
 * least recent address is forgotten and starts again from zero, so a burst
 * of new addresses weakens the limit but never blocks a client early.
 */
const RATE_LIMIT_ADDRESSES = 100_000

const errorResponses = { 400: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody }

/**
 * Registers the beacon routes under /api/data with their own CORS, rate
 * limit and body parsers, and opens the GeoIP database.
 */
export async function beaconRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const geoip = await GeoIpLookup.open(context.config.geoipDb, context.logger.child({ component: 'geoip' }))
  const clients = new ClientResolver(new UserAgentParser(), geoip)

  await app.register(
    async (scope) => {
      await allowPublicAccess(scope, context.config.beaconRateLimit)
      acceptTextPlainJson(scope)
      scope.setErrorHandler(rejectLargeBodies)
      registerHandlers(scope, context, clients)
    },
    { prefix: '/api/data' },
  )
}

/** CORS for any origin (POST and its preflight, no credentials) and the per-address rate limit. */
async function allowPublicAccess(scope: FastifyInstance, perMinute: number): Promise<void> {
  // The prefix keeps the preflight route that @fastify/cors adds (OPTIONS *) under /api/data.
  await scope.register(cors, {
    origin: '*',
    methods: ['POST', 'OPTIONS'],
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_S,
    // Lets players read how long to wait after a 429 or 503.
    exposedHeaders: ['Retry-After'],
  })
  // The auth setup registers the plugin on the root instance, whose onRoute
  // hook then applies each route's config.rateLimit; it must not be registered twice.
  if (perMinute > 0 && !scope.hasDecorator('rateLimit')) {
    await scope.register(rateLimit, { global: false })
  }
}

/**
 * Parses text/plain bodies as JSON: navigator.sendBeacon() sends a string
 * body as text/plain, which needs no CORS preflight, unlike application/json.
 */
function acceptTextPlainJson(scope: FastifyInstance): void {
  scope.removeContentTypeParser('text/plain')
  const parseJson = scope.getDefaultJsonParser('error', 'error')
  scope.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJson)
}

/** Gives the 413 of an oversized body the API's error code and a hint; passes every other error on. */
function rejectLargeBodies(error: FastifyError, _request: FastifyRequest, _reply: FastifyReply): never {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    throw new PayloadTooLarge(BEACON_BODY_LIMIT, `send at most ${MAX_ITEMS_PER_REQUEST} items per request`)
  }
  throw error
}

function rateLimitOf(perMinute: number): RateLimitOptions | false {
  if (perMinute === 0) return false
  let lastLoggedMs = 0
  let unlogged = 0
  return {
    max: perMinute,
    timeWindow: 60_000,
    cache: RATE_LIMIT_ADDRESSES,
    errorResponseBuilder: (_request, limit) => new RateLimited(limit.after),
    // At most one warning a minute, with the count of the requests rejected since the last one.
    onExceeded: (request, key) => {
      unlogged += 1
      if (Date.now() - lastLoggedMs < 60_000) return
      const url = request.routeOptions.url
      request.log.warn({ rate_limit_key: key, url, rejected: unlogged }, 'beacon rate limit exceeded')
      lastLoggedMs = Date.now()
      unlogged = 0
    },
  }
}

function registerHandlers(scope: FastifyInstance, context: ControllerContext, clients: ClientResolver): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>()
  const { writers } = context
  const options = {
    bodyLimit: BEACON_BODY_LIMIT,
    config: { access: Access.public, rateLimit: rateLimitOf(context.config.beaconRateLimit) },
    // Players call these routes constantly; only warnings and errors are logged.
    logLevel: 'warn' as const,
    // Page security headers mean nothing to a beacon's JSON response and cost time on every request.
    helmet: false as const,
  }

  api.post(
    '/heatmap/v1',
    { ...options, schema: { body: BeaconBatch, response: { 202: BatchAccepted, ...errorResponses } } },
    async (request, reply) => {
      const rows = heatmapRows(request.body, resolveClient(clients, request))
      addRows(writers.heatmap, rows, reply)
      for (const beacon of request.body) context.live.recordViewer(beacon.stream_id, beacon.unique_id)
      reply.code(202).header('x-content-type-options', 'nosniff')
      return { accepted: rows.length }
    },
  )

  api.post(
    '/events/v1',
    { ...options, schema: { body: PlayerEventBatch, response: { 202: BatchAccepted, ...errorResponses } } },
    async (request, reply) => {
      checkEvents(request.body, Date.now())
      const rows = eventRows(request.body, resolveClient(clients, request))
      addRows(writers.events, rows, reply)
      reply.code(202).header('x-content-type-options', 'nosniff')
      return { accepted: rows.length }
    },
  )
}

function resolveClient(clients: ClientResolver, request: FastifyRequest): ClientFields {
  // request.ip is the socket peer, or the X-Forwarded-For client when the
  // peer is one of --trusted-proxies (Fastify's trustProxy).
  return clients.resolve(requireUserAgent(request.headers['user-agent']), request.ip)
}

/** Hands all rows to the writer, or none: a full buffer raises BufferFull (503) with Retry-After. */
function addRows(writer: BatchWriter, rows: readonly StorageRow[], reply: FastifyReply): void {
  let added: boolean
  try {
    added = writer.add(rows)
  } catch (error) {
    if (!(error instanceof BufferFullError)) throw error
    added = false
  }
  if (!added) {
    reply.header('retry-after', String(RETRY_AFTER_S))
    const state = `the ${writer.table} buffer is full (${writer.maxBufferedRows} rows) while storage catches up`
    throw new BufferFull(state)
  }
}
