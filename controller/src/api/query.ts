// The time-series queries under /api/query. Each reads one or more streams
// over a time range, grouped in buckets of `interval` seconds where it counts
// over time. The reads themselves live in ../query/.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { StorageUnavailable } from '../errors.ts'
import { readEventBuckets, readEventRows } from '../query/events.ts'
import { readMetricsBuckets, readMetricsRows } from '../query/metrics.ts'
import { readPageCheckRows } from '../query/page-checks.ts'
import { readStatusRows } from '../query/statuses.ts'
import type { ScreenshotStore } from '../screenshots/store.ts'
import { readSummaries } from '../query/summary.ts'
import { peaksOf, readGeo, readPlatforms, readUniqueViewers, readViewerBuckets } from '../query/viewers.ts'
import { resolveWindow, splitListParameter, type QueryWindow } from '../query/window.ts'
import { StorageError } from '../storage/index.ts'
import {
  ConcurrentResponse,
  DEFAULT_ROW_LIMIT,
  DEFAULT_VALUE_LIMIT,
  EventsQuery,
  EventsResponse,
  GeoResponse,
  MetricsQuery,
  MetricsResponse,
  PageChecksQuery,
  PageChecksResponse,
  PlatformQuery,
  PlatformResponse,
  RangeQuery,
  StatusesQuery,
  StatusesResponse,
  SummaryResponse,
  UniqueResponse,
  WindowQuery,
} from './query-schemas.ts'
import { ErrorBody } from './schemas.ts'

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody }
/** Query parameters that take one value, several, or a comma-separated list. */
const LIST_PARAMETERS = ['stream_id', 'type'] as const

/** Schema parts every query route shares: its access rule, docs tag and error responses. */
function routeOptions<Q, R>(summary: string, querystring: Q, response: R) {
  return {
    config: { access: Access.read },
    schema: { summary, tags: ['query'], querystring, response: { 200: response, ...errorResponses } },
  }
}

/** Turns `stream_id=a,b&stream_id=c` into ['a', 'b', 'c'] before the schema checks each id. */
async function splitListParameters(request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  for (const name of LIST_PARAMETERS) {
    if (query[name] !== undefined) query[name] = splitListParameter(query[name])
  }
}

/**
 * Turns a storage failure without a ClickHouse error code (connection
 * refused, timed out, storage closed) into 503. Other errors, including
 * ClickHouse's own, go on to the default handler.
 */
function rejectUnreachableStorage(error: FastifyError | Error, request: FastifyRequest): never {
  if (!(error instanceof StorageError) || error.clickhouseCode !== undefined) throw error
  request.log.error({ err: error, url: request.routeOptions.url }, 'query failed: ClickHouse unreachable')
  throw new StorageUnavailable(error.message)
}

function windowFields(window: QueryWindow) {
  return { stream_ids: [...window.streamIds], from: window.from.toISOString(), to: window.to.toISOString() }
}

/**
 * Registers the query routes. Each one needs a signed-in user of any role.
 * With a screenshot store, status rows name the screenshot closest to them.
 */
export async function queryRoutes(app: FastifyInstance, context: ControllerContext, screenshots?: ScreenshotStore): Promise<void> {
  app.addHook('preValidation', splitListParameters)
  app.setErrorHandler(rejectUnreachableStorage)
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { storage } = context

  api.get(
    '/api/query/metrics/v1',
    routeOptions('Probe rows, or their averages per bucket', MetricsQuery, MetricsResponse),
    async (request) => {
      const { interval, limit = DEFAULT_ROW_LIMIT } = request.query
      const window = resolveWindow(request.query)
      if (interval === undefined) {
        const { rows, truncated } = await readMetricsRows(storage, window, limit)
        return { ...windowFields(window), interval: null, rows, truncated }
      }
      return { ...windowFields(window), interval, buckets: await readMetricsBuckets(storage, window) }
    },
  )

  api.get(
    '/api/query/unique/v1',
    routeOptions('Distinct viewers over the range and per bucket', WindowQuery, UniqueResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const [totals, buckets] = await Promise.all([
        readUniqueViewers(storage, window),
        readViewerBuckets(storage, window),
      ])
      const streams = [...totals].map(([streamId, viewers]) => ({ stream_id: streamId, unique_viewers: viewers }))
      return { ...windowFields(window), interval: window.intervalS, streams, buckets }
    },
  )

  api.get(
    '/api/query/concurrent/v1',
    routeOptions('Distinct viewers per bucket and the peak bucket', WindowQuery, ConcurrentResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const buckets = await readViewerBuckets(storage, window)
      const streams = peaksOf(window.streamIds, buckets)
      return { ...windowFields(window), interval: window.intervalS, streams, buckets }
    },
  )

  api.get(
    '/api/query/platform/v1',
    routeOptions('Distinct viewers by platform, OS, browser and app', PlatformQuery, PlatformResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const streams = await readPlatforms(storage, window, request.query.limit ?? DEFAULT_VALUE_LIMIT)
      return { ...windowFields(window), streams }
    },
  )

  api.get(
    '/api/query/geo/v1',
    routeOptions('Distinct viewers by country and region', RangeQuery, GeoResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      return { ...windowFields(window), streams: await readGeo(storage, window) }
    },
  )

  api.get(
    '/api/query/summary/v1',
    routeOptions('Viewers, peak, bitrate, uptime and latest status per stream', WindowQuery, SummaryResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const streams = await readSummaries(storage, window)
      return { ...windowFields(window), interval: window.intervalS, streams }
    },
  )

  api.get(
    '/api/query/events/v1',
    routeOptions('Player events per bucket and type, or the raw event rows', EventsQuery, EventsResponse),
    async (request) => {
      const { type = [], raw = false, limit = DEFAULT_ROW_LIMIT } = request.query
      const window = resolveWindow(request.query)
      if (raw) {
        const { rows, truncated } = await readEventRows(storage, window, type, limit)
        return { ...windowFields(window), interval: null, rows, truncated }
      }
      const buckets = await readEventBuckets(storage, window, type)
      return { ...windowFields(window), interval: window.intervalS, buckets }
    },
  )

  api.get(
    '/api/query/statuses/v1',
    routeOptions('Status changes in the range', StatusesQuery, StatusesResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const { rows, truncated } = await readStatusRows(storage, window, request.query.limit ?? DEFAULT_ROW_LIMIT, screenshots)
      return { ...windowFields(window), rows, truncated }
    },
  )

  api.get(
    '/api/query/page-checks/v1',
    routeOptions('Player page check rows in the range', PageChecksQuery, PageChecksResponse),
    async (request) => {
      const window = resolveWindow(request.query)
      const { rows, truncated } = await readPageCheckRows(storage, window, request.query.limit ?? DEFAULT_ROW_LIMIT)
      return { ...windowFields(window), rows, truncated }
    },
  )
}
