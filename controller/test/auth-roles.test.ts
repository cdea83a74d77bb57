// Which role may call which route: a table of routes against every role,
// the check that every protected route declares its roles, and the
// fail-closed rule for a route that declares none.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { loadControllerConfig } from '../src/config.ts'
import type { ControllerContext } from '../src/context.ts'
import { PROTECTED_PATHS, setupAuth } from '../src/auth/plugin.ts'
import { Access, Role } from '../src/auth/roles.ts'
import { openRepository } from '../src/repository/index.ts'

let server: TestController

type Caller = Role | 'anonymous'
const CALLERS: readonly Caller[] = ['anonymous', Role.viewer, Role.operator, Role.admin]

interface RouteCase {
  method: 'GET' | 'POST' | 'DELETE'
  /** Path for one caller; callers get their own stream or user where a write could collide. */
  url: (caller: Caller) => string
  payload?: (caller: Caller) => object
  allowed: readonly Role[]
}

const everyone = [Role.viewer, Role.operator, Role.admin]
const writers = [Role.operator, Role.admin]
const admins = [Role.admin]
const stream = (caller: Caller) => `/api/state/streams/v1/roles-${caller}`
const user = (caller: Caller) => `/api/config/user/v1/made-by-${caller}`

// Ordered: each caller creates its stream before changing and deleting it.
const routeCases: RouteCase[] = [
  { method: 'GET', url: () => '/api/state/streams/v1', allowed: everyone },
  { method: 'POST', url: (c) => `${stream(c)}/create`, payload: () => ({ url: 'udp://127.0.0.1:5000' }), allowed: writers },
  { method: 'GET', url: (c) => stream(c), allowed: everyone },
  { method: 'POST', url: (c) => `${stream(c)}/update`, payload: () => ({ url: 'udp://127.0.0.1:5001' }), allowed: writers },
  { method: 'POST', url: (c) => `${stream(c)}/down`, allowed: writers },
  { method: 'POST', url: (c) => `${stream(c)}/up`, allowed: writers },
  { method: 'DELETE', url: (c) => `${stream(c)}/delete`, allowed: writers },
  { method: 'GET', url: () => '/api/agents/v1', allowed: everyone },
  { method: 'GET', url: () => '/api/agents/v1/no-such-agent', allowed: everyone },
  { method: 'POST', url: () => '/api/agents/v1/no-such-agent/drain', allowed: writers },
  { method: 'POST', url: () => '/api/agents/v1/no-such-agent/undrain', allowed: writers },
  { method: 'GET', url: () => '/api/query/metrics/v1?stream_id=news-1', allowed: everyone },
  { method: 'GET', url: () => '/api/config/user/v1', allowed: admins },
  { method: 'GET', url: () => '/api/config/user/v1/admin', allowed: admins },
  { method: 'POST', url: (c) => `${user(c)}/create`, payload: () => ({ password: 'password-123', role: 'viewer' }), allowed: admins },
  { method: 'POST', url: (c) => `${user(c)}/update`, payload: () => ({ settings: {} }), allowed: admins },
  { method: 'DELETE', url: (c) => `${user(c)}/delete`, allowed: admins },
]

async function call(caller: Caller, method: RouteCase['method'], url: string, payload?: object) {
  const request = { method, url, ...(payload === undefined ? {} : { payload }) }
  const response = caller === 'anonymous'
    ? await server.controller.app.inject(request)
    : await server.inject(request, caller)
  return { status: response.statusCode, body: response.json() }
}

test.before(async () => {
  server = await startTestController()
  // Log in every role once up front, so the table below measures routes only.
  for (const role of everyone) await server.tokenFor(role)
})

test.after(async () => {
  await server.stop()
})

for (const caller of CALLERS) {
  test(`route table for ${caller}`, async () => {
    for (const route of routeCases) {
      const url = route.url(caller)
      const { status, body } = await call(caller, route.method, url, route.payload?.(caller))
      const where = `${caller}: ${route.method} ${url} returned ${status} ${JSON.stringify(body)}`
      if (caller === 'anonymous') {
        assert.is(status, 401, where)
        assert.is(body.code, 'MONIT_ERR_UNAUTHORIZED', where)
      } else if (route.allowed.includes(caller)) {
        // Allowed: the handler ran, and it may still return 404 (the viewer's stream was never created).
        assert.is.not(status, 401, where)
        assert.is.not(status, 403, where)
        assert.ok(status < 500, where)
      } else {
        assert.is(status, 403, where)
        assert.is(body.code, 'MONIT_ERR_FORBIDDEN', where)
        assert.match(body.message, new RegExp(`role "${caller}" may not`), where)
      }
    }
  })
}

test('own account is readable by its user', async () => {
  for (const role of [Role.viewer, Role.operator]) {
    const own = await call(role, 'GET', `/api/config/user/v1/test-${role}`)
    assert.is(own.status, 200, `${role} reads itself`)
    assert.is(own.body.id, `test-${role}`)
    const other = await call(role, 'GET', '/api/config/user/v1/admin')
    assert.is(other.status, 403, `${role} reads admin`)
  }
})

/** Reads app.printRoutes() into "METHOD /path" entries; the tree prints each path in parts. */
function printedRoutes(app: FastifyInstance): string[] {
  const routes: string[] = []
  const parents: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│   |    )*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    const path = (depth === 0 ? '' : parents[depth - 1]!) + match[2]!
    parents[depth] = path
    for (const method of match[3]?.split(', ') ?? []) routes.push(`${method} ${path}`)
  }
  return routes
}

test('every protected route declares its roles', async () => {
  const { app } = server.controller
  await app.ready()
  const declared = app.routeAccess()
  const printed = printedRoutes(app)
  assert.ok(printed.length >= 20, `printRoutes listed ${printed.length} routes`)

  for (const route of printed) {
    const [method, url] = route.split(' ') as [string, string]
    // The tree prints a wildcard route such as /api/data* as a bare `*`, or as `/*` below the route GET /.
    const wildcard = url.endsWith('*')
    const tail = wildcard ? url.slice(url.lastIndexOf('/') + 1) : url
    const sameUrl = (candidate: string) => (url.startsWith('/') && !wildcard ? candidate === url : candidate.endsWith(tail))
    const entry = declared.find((candidate) => candidate.method === method && sameUrl(candidate.url))
    assert.ok(entry, `${route} is in app.routeAccess()`)
    if (PROTECTED_PATHS.test(entry!.url)) assert.ok(entry!.access !== undefined, `${route} declares config.access`)
  }
  const protectedCount = declared.filter((entry) => PROTECTED_PATHS.test(entry.url)).length
  assert.ok(protectedCount >= 20, `${protectedCount} protected routes`)
})

test('agent WebSocket route keeps agent tokens', async () => {
  const access = server.controller.app.routeAccess().find((entry) => entry.url === '/api/agents/v1/ws')
  assert.is(access?.access, Access.agentToken)
  // The JWT hook skips the route, so the agent-token check rejects both, and a JWT is no agent token.
  const anonymous = await call('anonymous', 'GET', '/api/agents/v1/ws')
  assert.is(anonymous.status, 401)
  assert.match(anonymous.body.message, /missing agent token/)
  const withJwt = await call(Role.admin, 'GET', '/api/agents/v1/ws')
  assert.is(withJwt.status, 401)
  assert.match(withJwt.body.message, /invalid or revoked agent token/)
})

test('healthz stays public', async () => {
  const response = await server.controller.app.inject({ method: 'GET', url: '/healthz' })
  assert.is(response.statusCode, 200)
})

test('route without declared roles is closed', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'monit-fail-closed-'))
  const logger = pino({ level: 'silent' })
  const config = loadControllerConfig(['--data-dir', dataDir, '--admin-password', 'fail-closed-password'], {})
  const repository = await openRepository(config.databaseUrl, logger)
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger })
  try {
    // setupAuth reads only these parts of the context.
    const context = { config, logger, repository } as unknown as ControllerContext
    const auth = await setupAuth(app, context)
    app.get('/api/state/undeclared/v1', async () => ({ reached: true }))
    app.get('/api/state/declared/v1', { config: { access: Access.read } }, async () => ({ reached: true }))
    app.get('/elsewhere', async () => ({ reached: true }))

    const { token } = await auth.jwt.issue('admin', 0)
    const headers = { authorization: `Bearer ${token}` }
    const undeclared = await app.inject({ method: 'GET', url: '/api/state/undeclared/v1', headers })
    assert.is(undeclared.statusCode, 403)
    assert.is(undeclared.json().code, 'MONIT_ERR_FORBIDDEN')
    assert.match(undeclared.json().message, /declares no roles/)
    const declared = await app.inject({ method: 'GET', url: '/api/state/declared/v1', headers })
    assert.is(declared.statusCode, 200)
    const elsewhere = await app.inject({ method: 'GET', url: '/elsewhere' })
    assert.is(elsewhere.statusCode, 200)
  } finally {
    await app.close()
    await repository.close()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('demoted user loses access at once', async () => {
  await server.inject({
    method: 'POST',
    url: '/api/config/user/v1/demoted/create',
    payload: { password: 'demoted-password', role: 'operator' },
  })
  const login = await server.controller.app.inject({
    method: 'POST',
    url: '/api/auth/jwt/v1',
    payload: { username: 'demoted', password: 'demoted-password' },
  })
  const headers = { authorization: `Bearer ${login.json().token}` }
  const create = (id: string) =>
    server.controller.app.inject({
      method: 'POST',
      url: `/api/state/streams/v1/${id}/create`,
      headers,
      payload: { url: 'udp://127.0.0.1:5000' },
    })
  assert.is((await create('demoted-1')).statusCode, 201)
  const demote = await server.inject({ method: 'POST', url: '/api/config/user/v1/demoted/update', payload: { role: 'viewer' } })
  assert.is(demote.statusCode, 200)
  assert.is((await create('demoted-2')).statusCode, 403)
})

test.run()
