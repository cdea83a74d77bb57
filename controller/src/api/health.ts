// Probes for load balancers and orchestrators, both public. /healthz reports
// that the process serves HTTP, and /readyz that its two databases respond.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Access } from '../auth/roles.ts'
import type { ControllerContext } from '../context.ts'

/** How long each readiness check may take before it counts as failed. */
export const READY_TIMEOUT_MS = 2000

const CheckResult = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed')]),
  duration_ms: Type.Number(),
  /** Error message of a failed check, absent when it passed. */
  error: Type.Optional(Type.String()),
})
type CheckResult = Type.Static<typeof CheckResult>

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ repository: CheckResult, clickhouse: CheckResult }),
})

const Liveness = Type.Object({ status: Type.Literal('ok'), version: Type.String() })

/** Runs `probe` and fails it after timeoutMs. The returned promise never rejects. */
async function runCheck(probe: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([probe(), timeout])
    return { status: 'ok', duration_ms: Math.round(performance.now() - started) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { status: 'failed', duration_ms: Math.round(performance.now() - started), error: message }
  } finally {
    clearTimeout(timer)
  }
}

/** Registers GET /healthz and GET /readyz. */
export async function healthRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository, storage } = context
  // Readiness changes are logged once each, not on every probe.
  let lastReady: boolean | undefined

  api.get(
    '/healthz',
    {
      config: { access: Access.public },
      schema: { summary: 'Process alive', tags: ['health'], response: { 200: Liveness } },
    },
    async () => ({ status: 'ok' as const, version: context.version }),
  )

  api.get(
    '/readyz',
    {
      config: { access: Access.public },
      schema: {
        summary: 'Repository and ClickHouse respond',
        description: `503 when either does not respond to a trivial query within ${READY_TIMEOUT_MS} ms.`,
        tags: ['health'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      const [repositoryCheck, clickhouseCheck] = await Promise.all([
        runCheck(() => repository.knex.raw('SELECT 1'), READY_TIMEOUT_MS),
        runCheck(() => storage.ping(), READY_TIMEOUT_MS),
      ])
      const checks = { repository: repositoryCheck, clickhouse: clickhouseCheck }
      const ready = repositoryCheck.status === 'ok' && clickhouseCheck.status === 'ok'
      if (ready !== lastReady) {
        if (ready) request.log.info({ checks }, 'controller ready')
        else request.log.warn({ checks }, 'controller not ready')
        lastReady = ready
      }
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
    },
  )
}
