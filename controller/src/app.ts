import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import { pino, type Logger } from 'pino'
import { MAX_FRAME_BYTES, type Status } from '@monit/protocol'
import type { ControllerConfig } from './config.ts'
import type { ControllerContext } from './context.ts'
import { openRepository } from './repository/index.ts'
import { openStorage, TABLES, type Storage } from './storage/index.ts'
import { closeWriters, createWriters } from './storage/writer.ts'
import { Spill } from './storage/spill.ts'
import { AgentHub } from './hub/hub.ts'
import { Scheduler } from './scheduler/scheduler.ts'
import { PresenceWriter } from './scheduler/presence.ts'
import { ClusterCoordinator, SCHEDULER_LEASE } from './scheduler/cluster.ts'
import { Ingest } from './ingest.ts'
import { createChecksIngest, type ChecksIngest } from './checks-ingest.ts'
import { bearerToken, verifyAgentToken } from './auth.ts'
import { setupAuth } from './auth/plugin.ts'
import { Access } from './auth/roles.ts'
import { Unauthorized } from './errors.ts'
import { streamRoutes } from './api/streams.ts'
import { agentRoutes } from './api/agents.ts'
import { queryRoutes } from './api/query.ts'
import { authRoutes } from './api/auth.ts'
import { userRoutes } from './api/users.ts'
import { agentTokenRoutes } from './api/agent-tokens.ts'
import { beaconRoutes } from './api/beacons.ts'
import { screenshotRoutes } from './api/screenshots.ts'
import { avCheckRoutes } from './api/av-checks.ts'
import { alertRoutes } from './api/alerts.ts'
import { AlertService } from './alerts/service.ts'
import { healthRoutes } from './api/health.ts'
import { openApiRoutes, registerOpenApi } from './api/openapi.ts'
import { ControllerMetrics, metricsRoutes } from './prometheus.ts'
import { LiveFeed } from './live/feed.ts'
import { liveRoutes } from './live/routes.ts'
import { selectProtocol } from './auth/websocket.ts'
import { sdkRoutes } from './sdk/routes.ts'
import { dashboardRoutes } from './dashboard/routes.ts'
import { StatusScreenshots } from './screenshots/evidence.ts'
import { createValidatorCompiler, explainRequestErrors, formatValidationError } from './api/validation.ts'
import { CONTROLLER_VERSION } from './version.ts'

export interface Controller {
  app: FastifyInstance
  context: ControllerContext
  /** Starts listening; returns the bound address, such as http://127.0.0.1:8080. */
  listen(): Promise<string>
  close(): Promise<void>
}

/** Creates the controller's logger; secrets in headers and bodies print as [redacted]. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'token',
        'password',
        '*.token',
        '*.password',
        'password_hash',
        '*.password_hash',
        '*.jwtSecret',
        '*.adminPassword',
        '*.metricsToken',
      ],
      censor: '[redacted]',
    },
  })
}

export interface BuildOptions {
  /** Wraps the storage that the writers insert through; tests use it to make inserts fail. */
  wrapInserts?: (storage: Storage) => Pick<Storage, 'insert'>
}

/** Opens the spill under DATA_DIR/spill and logs the batches that an earlier run left in it. */
async function openSpill(config: ControllerConfig, logger: Logger): Promise<Spill | undefined> {
  if (config.spillMaxBytes === 0) return undefined
  const spill = await Spill.open({ dir: join(config.dataDir, 'spill'), maxBytes: config.spillMaxBytes, logger })
  for (const table of TABLES) {
    const found = spill.found(table)
    if (found.length === 0) continue
    const rows = found.reduce((sum, batch) => sum + batch.rows, 0)
    const bytes = found.reduce((sum, batch) => sum + batch.bytes, 0)
    logger.info({ table, batches: found.length, rows, bytes }, 'replaying spilled batches')
  }
  return spill
}

/**
 * Opens the repository and storage and wires the API, hub and scheduler.
 * Batches spilled by an earlier run are queued ahead of any new rows before
 * the API serves.
 */
export async function buildController(
  config: ControllerConfig,
  logger = createLogger(config.logLevel),
  options: BuildOptions = {},
): Promise<Controller> {
  await mkdir(config.dataDir, { recursive: true })
  const repository = await openRepository(config.databaseUrl, logger)
  // With several controllers, the agents marked connected may be connected to another one.
  if (!config.cluster) await repository.markAllAgentsDisconnected()
  const storage = await openStorage({
    url: config.clickhouseUrl,
    dataDir: config.dataDir,
    database: config.clickhouseDatabase,
    cluster: config.clickhouseCluster,
    ttlDays: config.ttlDays,
    logger,
  })
  await storage.init()
  const spill = await openSpill(config, logger)
  const metrics = new ControllerMetrics(CONTROLLER_VERSION)
  const writers = createWriters(metrics.timeInserts(options.wrapInserts?.(storage) ?? storage), {
    maxRows: config.flushRows,
    flushMs: config.flushMs,
    maxBufferedRows: config.bufferRows,
    spill,
    logger,
  })

  const live = new LiveFeed({
    logger: logger.child({ component: 'live' }),
    maxSubscribers: config.liveMaxSubscribers,
    viewersIntervalMs: config.liveViewersIntervalS * 1000,
    viewerWindowMs: config.liveViewerWindowS * 1000,
    maxViewers: config.liveMaxViewers,
  })
  let ingest: Ingest | undefined
  const alertLogger = logger.child({ component: 'alerts' })
  const alerts = new AlertService({ store: repository.alerts, streams: repository, logger: alertLogger })
  await alerts.start()
  let checks: ChecksIngest | undefined
  let cluster: ClusterCoordinator | undefined
  const hub: AgentHub = new AgentHub({
    logger: logger.child({ component: 'hub' }),
    controllerVersion: CONTROLLER_VERSION,
    heartbeatIntervalS: config.heartbeatIntervalS,
    tokenRecheckMs: config.tokenRecheckS * 1000,
    handlers: {
      agentConnected: async (session) => {
        const { hello } = session
        await repository.upsertAgentOnHello({
          id: hello.agent_id,
          name: hello.name,
          version: hello.version,
          protocol: hello.protocol,
          labels: hello.labels,
          capacity: hello.capacity,
          remoteAddress: session.remoteAddress,
        })
        await cluster?.agentConnected(hello.agent_id)
        await scheduler.agentConnected(hello.agent_id, hello.streams)
        live.publishAgent(hello.agent_id, true)
      },
      agentDisconnected: async (session) => {
        if (cluster !== undefined) {
          // The leader, maybe another controller, notices the agent is gone at its next presence read.
          await cluster.agentDisconnected(session.agentId)
        } else {
          await repository.markAgentDisconnected(session.agentId, new Date())
          scheduler.agentDisconnected(session.agentId, session.capacity)
        }
        checks?.agentDisconnected(session.agentId)
        live.publishAgent(session.agentId, false)
      },
      metrics: (session, message) => ingest!.metrics(session, message),
      status: (session, message) => ingest!.status(session, message),
      av: (session, message) => checks!.av(session, message),
      playlist: (session, message) => checks!.playlist(session, message),
      screenshot: (session, message) => checks!.screenshot(session, message),
      page: (session, message) => checks!.page(session, message),
      // Last-seen times are written in batches by the PresenceWriter below.
      heartbeat: () => undefined,
    },
  })
  const scheduler = new Scheduler(
    repository,
    { connected: () => cluster?.connected() ?? hub.all(), send: (agentId, message) => hub.send(agentId, message) },
    logger.child({ component: 'scheduler' }),
    config.reassignGraceS,
    config.rebalanceThreshold,
    // With several controllers, this one places streams only once it holds the lease.
    { leader: !config.cluster },
  )
  checks = createChecksIngest(
    config,
    writers.av_checks,
    scheduler,
    logger.child({ component: 'checks' }),
    writers.playlist_checks,
    writers.page_checks,
  )
  const liveStatuses = new StatusScreenshots<Status>(
    checks.store,
    (agentId, status, screenshotUrl) => live.publishStatus(agentId, status, screenshotUrl),
    (error, status) => logger.warn({ err: error, stream_id: status.stream_id }, 'publishing a status change to the live feed failed'),
  )
  ingest = new Ingest(
    writers.metrics,
    writers.statuses,
    repository,
    scheduler,
    logger.child({ component: 'ingest' }),
    (agentId, status) => {
      liveStatuses.add(agentId, status)
      alerts.streamStatusReported(status.stream_id)
    },
  )
  await scheduler.start()
  // With several controllers, the leader counts an agent as gone after 3 missed refreshes, so they come often.
  // One controller only shows last_seen_at, so every 10 s or every heartbeat interval is enough.
  const presenceMs = (config.cluster ? Math.min(config.heartbeatIntervalS, 5) : Math.max(config.heartbeatIntervalS, 10)) * 1000
  const presence = new PresenceWriter(
    repository,
    () => hub.all().map((session) => session.agentId),
    presenceMs,
    logger.child({ component: 'presence' }),
  )
  if (config.cluster) {
    repository.assignmentLease = { name: SCHEDULER_LEASE, holder: config.controllerId }
    cluster = new ClusterCoordinator(
      repository.cluster,
      repository,
      scheduler,
      { all: () => hub.all(), send: (agentId, message) => hub.send(agentId, message) },
      logger.child({ component: 'cluster' }),
      { controllerId: config.controllerId, leaseTtlMs: config.leaseTtlS * 1000, pollMs: 1000, presenceTtlMs: 3 * presenceMs },
    )
    await cluster.start()
  }

  const context: ControllerContext = { config, logger, repository, storage, writers, scheduler, hub, live, version: CONTROLLER_VERSION }
  metrics.observeController(context)
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // request.ip follows X-Forwarded-For only when the peer is one of these proxies.
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    schemaErrorFormatter: formatValidationError,
  })
  // Unknown fields and wrong JSON types are rejected with 400 rather than dropped or converted.
  app.setValidatorCompiler(createValidatorCompiler())
  explainRequestErrors(app)
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES, handleProtocols: selectProtocol } })
  // Before any route, so that every route gets the security headers, rate limits and access hook.
  const auth = await setupAuth(app, context)
  // Both collect routes as they are added, so they come before the first one.
  await registerOpenApi(app, CONTROLLER_VERSION)
  metrics.observeRequests(app)

  await app.register((scope) => healthRoutes(scope, context))
  await app.register((scope) => metricsRoutes(scope, context, metrics))
  await app.register((scope) => openApiRoutes(scope))
  await app.register(async (scope) => {
    scope.addHook('preValidation', async (request) => {
      const token = bearerToken(request)
      if (token === undefined) throw new Unauthorized('missing agent token; send Authorization: Bearer TOKEN')
      const who = await verifyAgentToken(token, config.agentToken, repository)
      if (who === undefined) {
        request.log.warn({ remote_address: request.ip }, 'agent token rejected')
        throw new Unauthorized('invalid or revoked agent token')
      }
    })
    scope.get('/api/agents/v1/ws', { websocket: true, config: { access: Access.agentToken } }, (socket, request) => {
      // The hook above has checked the token; it is checked again while the agent stays connected.
      const token = bearerToken(request)!
      const stillValid = {
        key: createHash('sha256').update(token).digest('hex'),
        check: async () => (await verifyAgentToken(token, config.agentToken, repository)) !== undefined,
      }
      hub.accept(socket, request.ip, stillValid)
    })
  })
  await app.register((scope) => streamRoutes(scope, context, checks.store, alerts))
  await app.register((scope) => agentRoutes(scope, context))
  await app.register((scope) => queryRoutes(scope, context, checks.store))
  await app.register((scope) => authRoutes(scope, context, auth))
  await app.register((scope) => userRoutes(scope, context))
  await app.register((scope) => agentTokenRoutes(scope, context))
  await app.register((scope) => beaconRoutes(scope, context))
  await app.register((scope) => screenshotRoutes(scope, context, checks.store))
  await app.register((scope) => avCheckRoutes(scope, context))
  await app.register((scope) => alertRoutes(scope, context, alerts))
  await app.register((scope) => liveRoutes(scope, context))
  await app.register((scope) => sdkRoutes(scope, context))
  await app.register((scope) => dashboardRoutes(scope, logger.child({ component: 'dashboard' })))
  live.start()

  const close = async (): Promise<void> => {
    await cluster?.stop()
    scheduler.stop()
    await presence.stop()
    checks.close()
    live.close()
    await hub.drainMetrics()
    await hub.closeAll()
    await ingest?.close()
    await app.close()
    await alerts.stop()
    try {
      await closeWriters(writers)
    } finally {
      // Also after lost rows, so that chDB and the database are released.
      await storage.close()
      await repository.close()
    }
  }

  return {
    app,
    context,
    listen: () => app.listen({ host: config.host, port: config.port }),
    close,
  }
}
