// The controller's Prometheus metrics and the GET /metrics route. Each
// controller has its own registry, so tests can run several in one process.
// Request counts and insert latencies are recorded as they happen. Agent,
// stream and writer figures are read from the running controller at scrape
// time.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { bearerToken } from './auth.ts'
import { Access } from './auth/roles.ts'
import type { ControllerContext } from './context.ts'
import { Unauthorized } from './errors.ts'
import type { Storage } from './storage/index.ts'
import type { BatchWriter } from './storage/writer.ts'

/** Upper bounds of the HTTP latency buckets, in seconds. */
const HTTP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Upper bounds of the ClickHouse insert latency buckets, in seconds. */
const INSERT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Writer counters exported per table, by metric name. */
const WRITER_COUNTERS = {
  monit_writer_rows_written_total: ['Rows stored in ClickHouse.', (writer) => writer.rowsWritten],
  monit_writer_rows_failed_total: [
    'Rows given up: refused by ClickHouse as invalid, unreadable in the spill, or unstored at shutdown.',
    (writer) => writer.rowsFailed,
  ],
  monit_writer_rows_rejected_total: [
    'Rows refused because the memory buffer and the spill were full.',
    (writer) => writer.rowsRejected,
  ],
  monit_writer_rows_retried_total: ['Rows sent again after a failed insert, once per attempt.', (writer) => writer.rowsRetried],
} as const satisfies Record<string, readonly [string, (writer: BatchWriter) => number]>

type WriterReading = (writer: BatchWriter) => number
type RequestLabels = Record<'method' | 'route' | 'status_code', string>
type StreamState = 'assigned' | 'unassigned' | 'down'

export class ControllerMetrics {
  readonly registry = new Registry()
  /**
   * Requests per method, route and status, keyed by the three joined. The
   * counter reads them at scrape time: a Map lookup per request costs less
   * than prom-client's label check and hash.
   */
  readonly #requestCounts = new Map<string, { labels: RequestLabels; count: number }>()
  readonly #httpDuration: Histogram<'method' | 'route' | 'status_code'>
  readonly #insertDuration: Histogram<'table' | 'result'>
  #context: ControllerContext | undefined

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    new Gauge({ name: 'monit_build_info', help: 'Always 1; the label is the controller version.', labelNames: ['version'], registers })
      .set({ version }, 1)
    const requestCounts = this.#requestCounts
    new Counter({
      name: 'monit_http_requests_total',
      help: 'HTTP requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers,
      collect() {
        this.reset()
        for (const { labels, count } of requestCounts.values()) this.inc(labels, count)
      },
    })
    this.#httpDuration = new Histogram({
      name: 'monit_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to sending the response.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS_S,
      registers,
    })
    this.#insertDuration = new Histogram({
      name: 'monit_clickhouse_insert_duration_seconds',
      help: 'Duration of each ClickHouse insert attempt by the batch writers, by table and result (ok or error).',
      labelNames: ['table', 'result'],
      buckets: INSERT_BUCKETS_S,
      registers,
    })
    this.#registerScrapeGauges()
  }

  /** Wraps the storage the writers insert through, so that every attempt is timed. */
  timeInserts(storage: Pick<Storage, 'insert'>): Pick<Storage, 'insert'> {
    return {
      insert: async (table, rows, token, options) => {
        const stop = this.#insertDuration.startTimer({ table })
        try {
          await storage.insert(table, rows, token, options)
          stop({ result: 'ok' })
        } catch (error) {
          stop({ result: 'error' })
          throw error
        }
      },
    }
  }

  /**
   * Counts every response by its route pattern (`unmatched` when no route
   * matched), never by the raw URL. Add it before the routes are registered,
   * so that it applies to all of them.
   */
  observeRequests(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched'
      const key = `${request.method} ${route} ${reply.statusCode}`
      let entry = this.#requestCounts.get(key)
      if (entry === undefined) {
        entry = { labels: { method: request.method, route, status_code: String(reply.statusCode) }, count: 0 }
        this.#requestCounts.set(key, entry)
      }
      entry.count += 1
      this.#httpDuration.observe(entry.labels, reply.elapsedTime / 1000)
    })
  }

  /** Gives the scrape-time collectors the running controller to read. */
  observeController(context: ControllerContext): void {
    this.#context = context
  }

  #registerScrapeGauges(): void {
    const registers = [this.registry]
    const metrics = this
    new Gauge({
      name: 'monit_agents_connected',
      help: 'Agents connected to the hub.',
      registers,
      collect() {
        this.set(metrics.#context?.hub.size ?? 0)
      },
    })
    new Gauge({
      name: 'monit_streams',
      help: 'Streams by state: assigned to an agent, up but unassigned, or down.',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await metrics.#countStreams()
        if (counts === undefined) return
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
      },
    })
    this.#writerGauge('monit_writer_rows_buffered', 'Rows the writer holds in memory.', (writer) => writer.bufferedRows)
    this.#writerGauge('monit_writer_rows_spilled', 'Rows waiting in spill files on disk.', (writer) => writer.spilledRows)
    for (const [name, [help, read]] of Object.entries(WRITER_COUNTERS)) this.#writerCounter(name, help, read)
  }

  /** Streams per state, or undefined (logged) when the repository fails. */
  async #countStreams(): Promise<Record<StreamState, number> | undefined> {
    const context = this.#context
    if (context === undefined) return undefined
    const counts: Record<StreamState, number> = { assigned: 0, unassigned: 0, down: 0 }
    try {
      for (const stream of await context.repository.listStreams()) {
        if (stream.agent_id !== null) counts.assigned += 1
        else if (stream.desired_state === 'up') counts.unassigned += 1
        else counts.down += 1
      }
    } catch (error) {
      context.logger.warn({ err: error }, 'metrics scrape: listing streams failed; monit_streams keeps its last values')
      return undefined
    }
    return counts
  }

  #writerGauge(name: string, help: string, read: WriterReading): void {
    const metrics = this
    new Gauge({
      name,
      help,
      labelNames: ['table'],
      registers: [this.registry],
      collect() {
        for (const writer of metrics.#writers()) this.set({ table: writer.table }, read(writer))
      },
    })
  }

  /** A counter that mirrors a writer's own running total at each scrape. */
  #writerCounter(name: string, help: string, read: WriterReading): void {
    const metrics = this
    new Counter({
      name,
      help,
      labelNames: ['table'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const writer of metrics.#writers()) this.inc({ table: writer.table }, read(writer))
      },
    })
  }

  #writers(): BatchWriter[] {
    return this.#context === undefined ? [] : Object.values(this.#context.writers)
  }
}

/** Compares SHA-256 digests of both, so that the comparison time reveals nothing about the token. */
function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

function checkMetricsToken(request: FastifyRequest, reply: FastifyReply, expected: string): void {
  const given = bearerToken(request)
  if (given !== undefined && sameToken(given, expected)) return
  request.log.info({ remote_address: request.ip, reason: given === undefined ? 'missing' : 'invalid' }, 'metrics token rejected')
  reply.header('www-authenticate', 'Bearer realm="monit-metrics"')
  throw new Unauthorized(given === undefined ? 'missing metrics token; send Authorization: Bearer TOKEN' : 'invalid metrics token')
}

/** Registers GET /metrics: public, or behind `--metrics-token` when that is set. */
export async function metricsRoutes(
  app: FastifyInstance,
  context: ControllerContext,
  metrics: ControllerMetrics,
): Promise<void> {
  const token = context.config.metricsToken
  app.get(
    '/metrics',
    {
      config: { access: Access.public },
      schema: {
        summary: 'Prometheus metrics',
        description: 'Prometheus text format. With --metrics-token set, needs Authorization: Bearer METRICS_TOKEN.',
        tags: ['health'],
        ...(token === undefined ? {} : { security: [{ metricsToken: [] }] }),
      },
    },
    async (request, reply) => {
      if (token !== undefined) checkMetricsToken(request, reply, token)
      const text = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(text)
    },
  )
}
