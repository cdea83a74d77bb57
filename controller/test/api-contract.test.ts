// The HTTP contract of every route the controller registers. Each route gets
// a success, a 400 that names the field, 401 without a valid token, 403 for
// each role its access rule leaves out, and 404 for a resource that does not
// exist. A case that cannot apply to a route gives the reason. The list of routes
// comes from the running app, so a new route without a contract fails here.
import { join } from 'node:path'
import WebSocket from 'ws'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PROTOCOL_VERSION } from '@monit/protocol'
import { startHttpReceiver, type HttpReceiver } from '../../testing/alert-receivers.ts'
import { startTestController, TEST_ADMIN_PASSWORD, waitFor, type TestController } from '../../testing/controller.ts'
import { Role, ROLES, type RouteAccess } from '../src/auth/roles.ts'
import { ScreenshotStore } from '../src/screenshots/store.ts'

type Method = 'GET' | 'POST' | 'DELETE' | 'OPTIONS'

interface Call {
  url: string
  payload?: unknown
  headers?: Record<string, string>
}

interface Contract {
  method: Method
  /** The route's URL pattern as registered. */
  route: string
  /** A request that succeeds for an admin (or anyone, on a public route), or why none is made here. */
  ok: Call | string
  /** Default 200. */
  okStatus?: number
  /** A request with one invalid field, and that field as the 400 message names it, or why the route has none. */
  invalid: (Call & { field: string }) | string
  /** A request for something that does not exist, or why the route has no 404. */
  missing: Call | string
}

const streams = '/api/state/streams/v1'
const agents = '/api/agents/v1'
const users = '/api/config/user/v1'
const tokens = '/api/config/agent-tokens/v1'
const channels = '/api/config/alerts/v1/channels'
const rules = '/api/config/alerts/v1/rules'
const WEBHOOK_SECRET = 'contract-webhook-secret-0123456789'
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

const NO_INPUT = 'takes no parameters, query or body'
const NOT_A_LOOKUP = 'lists or reports; it looks up no single resource'
const QUERY_RANGE =
  'a query over a time range: a stream id without rows gives 200 with empty results, because player beacons and deleted streams have rows without a configured stream'
const WEBSOCKET = 'a WebSocket upgrade, which inject() cannot make: live-feed.test.ts and hub-protocol.test.ts cover its tokens and roles'
const CREATES = 'creates the resource named in the path, so a missing one is the success case (an existing one is 409)'
const BEACONS = 'takes player data for any stream id, because players may report streams that are not monitored'

let server: TestController
let receiver: HttpReceiver
let agentSocket: WebSocket | undefined
let screenshotTs = 0
let tokenToDelete = ''

const query = (name: string): Contract => ({
  method: 'GET',
  route: `/api/query/${name}/v1`,
  ok: { url: `/api/query/${name}/v1?stream_id=contract-s1` },
  invalid: { url: `/api/query/${name}/v1?stream_id=contract-s1&from=yesterday`, field: 'querystring/from' },
  missing: QUERY_RANGE,
})

const publicPage = (route: string): Contract => ({ method: 'GET', route, ok: { url: route }, invalid: NO_INPUT, missing: NOT_A_LOOKUP })

/** An id with a space, which every id pattern rejects (they allow letters, digits and `._:-`). */
const BAD_ID = 'bad%20id'

function contracts(): Contract[] {
  return [
    publicPage('/healthz'),
    publicPage('/readyz'),
    publicPage('/metrics'),
    publicPage('/api/openapi.json'),
    publicPage('/api/docs'),
    publicPage('/api/docs/docs.js'),
    publicPage('/api/docs/docs.css'),
    publicPage('/sdk/monit.js'),
    publicPage('/'),
    {
      method: 'GET',
      route: '/ui/*',
      ok: { url: '/ui/app.js' },
      invalid: NO_INPUT,
      missing: 'a file that is not in the dashboard bundle gets the plain 404 of @fastify/static',
    },
    { method: 'GET', route: `${agents}/ws`, ok: WEBSOCKET, invalid: WEBSOCKET, missing: WEBSOCKET },
    { method: 'GET', route: '/api/live/v1/ws', ok: WEBSOCKET, invalid: WEBSOCKET, missing: WEBSOCKET },
    {
      method: 'POST',
      route: '/api/auth/jwt/v1',
      ok: { url: '/api/auth/jwt/v1', payload: { username: 'admin', password: TEST_ADMIN_PASSWORD } },
      invalid: { url: '/api/auth/jwt/v1', payload: { username: 5, password: 'x' }, field: 'body/username' },
      missing: 'an unknown user gets 401 like a wrong password, so that logins do not reveal which users exist',
    },

    { method: 'GET', route: streams, ok: { url: streams }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'GET',
      route: `${streams}/:id`,
      ok: { url: `${streams}/contract-s1` },
      invalid: { url: `${streams}/${BAD_ID}`, field: 'params/id' },
      missing: { url: `${streams}/no-such-stream` },
    },
    {
      method: 'POST',
      route: `${streams}/:id/create`,
      ok: { url: `${streams}/contract-new/create`, payload: { url: 'udp://127.0.0.1:5010' } },
      okStatus: 201,
      invalid: { url: `${streams}/contract-bad/create`, payload: { url: 5 }, field: 'body/url' },
      missing: CREATES,
    },
    {
      method: 'POST',
      route: `${streams}/:id/update`,
      ok: { url: `${streams}/contract-s1/update`, payload: { labels: { team: 'contract' } } },
      invalid: { url: `${streams}/contract-s1/update`, payload: { weight: 0 }, field: 'body/weight' },
      missing: { url: `${streams}/no-such-stream/update`, payload: { labels: {} } },
    },
    ...(['up', 'down'] as const).map(
      (action): Contract => ({
        method: 'POST',
        route: `${streams}/:id/${action}`,
        ok: { url: `${streams}/contract-s1/${action}` },
        invalid: { url: `${streams}/${BAD_ID}/${action}`, field: 'params/id' },
        missing: { url: `${streams}/no-such-stream/${action}` },
      }),
    ),
    {
      method: 'DELETE',
      route: `${streams}/:id/delete`,
      ok: { url: `${streams}/contract-gone/delete` },
      invalid: { url: `${streams}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${streams}/no-such-stream/delete` },
    },
    {
      method: 'GET',
      route: `${streams}/:id/screenshot`,
      ok: { url: `${streams}/contract-s1/screenshot` },
      invalid: { url: `${streams}/${BAD_ID}/screenshot`, field: 'params/id' },
      missing: { url: `${streams}/contract-new/screenshot` },
    },
    {
      method: 'GET',
      route: `${streams}/:id/screenshots`,
      ok: { url: `${streams}/contract-s1/screenshots` },
      invalid: { url: `${streams}/${BAD_ID}/screenshots`, field: 'params/id' },
      missing: { url: `${streams}/no-such-stream/screenshots` },
    },
    {
      method: 'GET',
      route: `${streams}/:id/screenshots/:ts`,
      ok: { url: `${streams}/contract-s1/screenshots/${screenshotTs}` },
      invalid: { url: `${streams}/contract-s1/screenshots/noon`, field: 'params/ts' },
      missing: { url: `${streams}/contract-s1/screenshots/1000` },
    },

    { method: 'GET', route: agents, ok: { url: agents }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'GET',
      route: `${agents}/:id`,
      ok: { url: `${agents}/contract-agent` },
      invalid: { url: `${agents}/${BAD_ID}`, field: 'params/id' },
      missing: { url: `${agents}/no-such-agent` },
    },
    ...(['drain', 'undrain'] as const).map(
      (action): Contract => ({
        method: 'POST',
        route: `${agents}/:id/${action}`,
        ok: { url: `${agents}/contract-agent/${action}` },
        invalid: { url: `${agents}/${BAD_ID}/${action}`, field: 'params/id' },
        missing: { url: `${agents}/no-such-agent/${action}` },
      }),
    ),
    {
      method: 'DELETE',
      route: `${agents}/:id/delete`,
      ok: { url: `${agents}/contract-agent-gone/delete` },
      invalid: { url: `${agents}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${agents}/no-such-agent/delete` },
    },

    ...['metrics', 'unique', 'concurrent', 'platform', 'geo', 'summary', 'events', 'statuses', 'av', 'page-checks', 'alerts'].map(query),
    {
      method: 'GET',
      route: '/api/query/alerts/v1/:id',
      ok: 'needs an alert that fired: alerts-api.test.ts reads one after a real down and up',
      invalid: { url: '/api/query/alerts/v1/first', field: 'params/id' },
      missing: { url: '/api/query/alerts/v1/999999' },
    },

    { method: 'GET', route: users, ok: { url: users }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'GET',
      route: `${users}/:id`,
      ok: { url: `${users}/admin` },
      invalid: { url: `${users}/${BAD_ID}`, field: 'params/id' },
      missing: { url: `${users}/no-such-user` },
    },
    {
      method: 'POST',
      route: `${users}/:id/create`,
      ok: { url: `${users}/contract-user/create`, payload: { password: 'contract-password-1', role: 'viewer' } },
      okStatus: 201,
      invalid: { url: `${users}/contract-bad/create`, payload: { password: 'contract-password-1', role: 'owner' }, field: 'body/role' },
      missing: CREATES,
    },
    {
      method: 'POST',
      route: `${users}/:id/update`,
      ok: { url: `${users}/contract-user/update`, payload: { settings: { time_zone: 'Europe/Paris' } } },
      invalid: { url: `${users}/contract-user/update`, payload: { role: 'owner' }, field: 'body/role' },
      missing: { url: `${users}/no-such-user/update`, payload: { settings: {} } },
    },
    {
      method: 'DELETE',
      route: `${users}/:id/delete`,
      ok: { url: `${users}/contract-gone/delete` },
      invalid: { url: `${users}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${users}/no-such-user/delete` },
    },

    { method: 'GET', route: tokens, ok: { url: tokens }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'POST',
      route: `${tokens}/:id/create`,
      ok: { url: `${tokens}/contract-edge/create`, payload: {} },
      okStatus: 201,
      invalid: { url: `${tokens}/${BAD_ID}/create`, payload: {}, field: 'params/id' },
      missing: CREATES,
    },
    {
      method: 'DELETE',
      route: `${tokens}/:id/delete`,
      ok: { url: `${tokens}/${tokenToDelete}/delete` },
      invalid: { url: `${tokens}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${tokens}/000000000000/delete` },
    },

    { method: 'GET', route: channels, ok: { url: channels }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'GET',
      route: `${channels}/:id`,
      ok: { url: `${channels}/contract-hook` },
      invalid: { url: `${channels}/${BAD_ID}`, field: 'params/id' },
      missing: { url: `${channels}/no-such-channel` },
    },
    {
      method: 'POST',
      route: `${channels}/:id/create`,
      ok: { url: `${channels}/contract-hook-2/create`, payload: { type: 'webhook', config: { url: `${receiver.url}/second`, secret: WEBHOOK_SECRET } } },
      okStatus: 201,
      invalid: { url: `${channels}/contract-bad/create`, payload: { type: 'pager' , config: {} }, field: 'body/type' },
      missing: CREATES,
    },
    {
      method: 'POST',
      route: `${channels}/:id/update`,
      ok: { url: `${channels}/contract-hook/update`, payload: { name: 'contract webhook' } },
      invalid: { url: `${channels}/contract-hook/update`, payload: { name: 5 }, field: 'body/name' },
      missing: { url: `${channels}/no-such-channel/update`, payload: { name: 'x' } },
    },
    {
      method: 'POST',
      route: `${channels}/:id/test`,
      ok: { url: `${channels}/contract-hook/test` },
      invalid: { url: `${channels}/${BAD_ID}/test`, field: 'params/id' },
      missing: { url: `${channels}/no-such-channel/test` },
    },
    {
      method: 'DELETE',
      route: `${channels}/:id/delete`,
      ok: { url: `${channels}/contract-hook-gone/delete` },
      invalid: { url: `${channels}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${channels}/no-such-channel/delete` },
    },

    { method: 'GET', route: rules, ok: { url: rules }, invalid: NO_INPUT, missing: NOT_A_LOOKUP },
    {
      method: 'GET',
      route: `${rules}/:id`,
      ok: { url: `${rules}/contract-rule` },
      invalid: { url: `${rules}/${BAD_ID}`, field: 'params/id' },
      missing: { url: `${rules}/no-such-rule` },
    },
    {
      method: 'POST',
      route: `${rules}/:id/create`,
      ok: { url: `${rules}/contract-rule-2/create`, payload: { channels: ['contract-hook'] } },
      okStatus: 201,
      invalid: { url: `${rules}/contract-bad/create`, payload: {}, field: 'body/channels' },
      missing: CREATES,
    },
    {
      method: 'POST',
      route: `${rules}/:id/update`,
      ok: { url: `${rules}/contract-rule/update`, payload: { enabled: false } },
      invalid: { url: `${rules}/contract-rule/update`, payload: { enabled: 'no' }, field: 'body/enabled' },
      missing: { url: `${rules}/no-such-rule/update`, payload: { enabled: false } },
    },
    {
      method: 'DELETE',
      route: `${rules}/:id/delete`,
      ok: { url: `${rules}/contract-rule-gone/delete` },
      invalid: { url: `${rules}/${BAD_ID}/delete`, field: 'params/id' },
      missing: { url: `${rules}/no-such-rule/delete` },
    },

    {
      method: 'OPTIONS',
      route: '/api/data*',
      ok: {
        url: '/api/data/heatmap/v1',
        headers: { origin: 'https://player.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      },
      okStatus: 204,
      invalid: 'a CORS preflight, answered from its headers alone',
      missing: BEACONS,
    },
    {
      method: 'POST',
      route: '/api/data/heatmap/v1',
      ok: {
        url: '/api/data/heatmap/v1',
        headers: { 'user-agent': CHROME },
        payload: [{ stream_id: 'contract-s1', unique_id: 'viewer-1', app: 'contract', version: '1.0.0', host: 'player.example' }],
      },
      okStatus: 202,
      invalid: {
        url: '/api/data/heatmap/v1',
        headers: { 'user-agent': CHROME },
        payload: [{ stream_id: 'contract-s1', unique_id: 5, app: 'contract', version: '1.0.0', host: 'player.example' }],
        field: 'body/0/unique_id',
      },
      missing: BEACONS,
    },
    {
      method: 'POST',
      route: '/api/data/events/v1',
      ok: {
        url: '/api/data/events/v1',
        headers: { 'user-agent': CHROME },
        payload: [{ stream_id: 'contract-s1', unique_id: 'viewer-1', app: 'contract', version: '1.0.0', host: 'player.example', type: 'play' }],
      },
      okStatus: 202,
      invalid: {
        url: '/api/data/events/v1',
        headers: { 'user-agent': CHROME },
        payload: [{ stream_id: 'contract-s1', unique_id: 'viewer-1', app: 'contract', version: '1.0.0', host: 'player.example', type: 'dance' }],
        field: 'body/0/type',
      },
      missing: BEACONS,
    },
  ]
}

async function send(method: Method, call: Call, role: Role | 'anonymous' | 'bad-token') {
  const request = { method, url: call.url, headers: call.headers ?? {}, ...(call.payload === undefined ? {} : { payload: call.payload as object }) }
  if (role === 'anonymous') return server.controller.app.inject(request)
  if (role === 'bad-token') return server.controller.app.inject({ ...request, headers: { ...request.headers, authorization: 'Bearer not.a.token' } })
  return server.inject(request, role)
}

async function call(method: Method, path: string, payload?: object) {
  const response = await server.inject({ method, url: path, ...(payload === undefined ? {} : { payload }) })
  if (response.statusCode >= 300) throw new Error(`${method} ${path} returned ${response.statusCode} ${response.body}`)
  return response.json()
}

/** Connects an agent through the hub so that the agent routes have one to show. */
async function connectAgent(id: string): Promise<WebSocket> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}${agents}/ws`, { headers: { authorization: `Bearer ${server.agentToken}` } })
  const welcomed = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'welcome') resolve()
    })
    socket.once('error', reject)
  })
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: id, name: id, version: 'test', labels: {}, capacity: 10, streams: [] }))
  await welcomed
  return socket
}

/** Builds a minimal JPEG: SOI, APP0 (JFIF), SOF0 with the size, EOI. */
function tinyJpeg(): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 1, 2, 0, 0, 1, 0, 1, 0, 0])
  const sof = Buffer.alloc(19)
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08])
  sof.writeUInt16BE(90, 5)
  sof.writeUInt16BE(160, 7)
  sof[9] = 3
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])])
}

test.before(async () => {
  server = await startTestController(['--write-rate-limit', '10000'])
  receiver = await startHttpReceiver()
  for (const role of ROLES) await server.tokenFor(role)

  for (const id of ['contract-s1', 'contract-gone']) await call('POST', `${streams}/${id}/create`, { url: 'udp://127.0.0.1:5000' })
  await call('POST', `${users}/contract-gone/create`, { password: 'contract-password-1', role: 'viewer' })
  tokenToDelete = (await call('POST', `${tokens}/contract-revoked/create`, {})).id
  for (const id of ['contract-hook', 'contract-hook-gone']) {
    await call('POST', `${channels}/${id}/create`, { type: 'webhook', config: { url: `${receiver.url}/${id}`, secret: WEBHOOK_SECRET } })
  }
  for (const id of ['contract-rule', 'contract-rule-gone']) await call('POST', `${rules}/${id}/create`, { channels: ['contract-hook'] })

  screenshotTs = Date.now() - 1000
  const store = new ScreenshotStore({ dir: join(server.dataDir, 'screenshots'), keep: 10, maxAgeMs: 3_600_000, logger: server.controller.context.logger })
  await store.save('contract-s1', screenshotTs, tinyJpeg())
  // An agent that connected once and is gone, with no streams left, as the delete route wants it.
  const { repository } = server.controller.context
  await repository.upsertAgentOnHello({ id: 'contract-agent-gone', name: 'gone', version: 'test', protocol: PROTOCOL_VERSION, labels: {}, capacity: 1, remoteAddress: '127.0.0.1' })
  await repository.markAgentDisconnected('contract-agent-gone')
  agentSocket = await connectAgent('contract-agent')
  await waitFor('contract-agent in the agent list', async () => ((await send('GET', { url: `${agents}/contract-agent` }, Role.admin)).statusCode === 200 ? true : undefined), 5000, 50)
})

test.after(async () => {
  agentSocket?.close()
  await server.stop()
  await receiver.stop()
})

test('every route has a contract', async () => {
  await server.controller.app.ready()
  const registered = server.controller.app
    .routeAccess()
    .filter((route) => route.method !== 'HEAD')
    .map((route) => `${route.method} ${route.url}`)
  const covered = contracts().map((contract) => `${contract.method} ${contract.route}`)
  for (const route of registered) assert.ok(covered.includes(route), `${route} has no contract in this file`)
  for (const route of covered) assert.ok(registered.includes(route), `${route} is not a registered route`)
})

/** Returns the roles that a route's access rule admits, or undefined for a route without user tokens. */
function admitted(access: RouteAccess | undefined): readonly Role[] | undefined {
  if (access === undefined || typeof access === 'string') return undefined
  return access.roles
}

test('success, 401 and 403 on every route', async () => {
  const access = new Map(server.controller.app.routeAccess().map((route) => [`${route.method} ${route.url}`, route.access]))
  for (const contract of contracts()) {
    if (typeof contract.ok === 'string') continue
    const name = `${contract.method} ${contract.route}`
    const roles = admitted(access.get(name))
    if (roles !== undefined) {
      for (const caller of ['anonymous', 'bad-token'] as const) {
        const response = await send(contract.method, contract.ok, caller)
        assert.is(response.statusCode, 401, `${name} as ${caller}: ${response.body}`)
        assert.is(response.json().code, 'MONIT_ERR_UNAUTHORIZED', `${name} as ${caller}`)
      }
      for (const role of ROLES.filter((candidate) => !roles.includes(candidate))) {
        const response = await send(contract.method, contract.ok, role)
        assert.is(response.statusCode, 403, `${name} as ${role}: ${response.body}`)
        assert.match(response.json().message, `role "${role}" may not`, `${name} as ${role}`)
      }
    }
    const response = await send(contract.method, contract.ok, Role.admin)
    assert.is(response.statusCode, contract.okStatus ?? 200, `${name}: ${response.body.slice(0, 300)}`)
  }
})

test('400 names the invalid field on every route that takes input', async () => {
  for (const contract of contracts()) {
    if (typeof contract.invalid === 'string') continue
    const name = `${contract.method} ${contract.route}`
    const response = await send(contract.method, contract.invalid, Role.admin)
    assert.is(response.statusCode, 400, `${name}: ${response.body}`)
    const message = response.json().message as string
    assert.ok(message.startsWith(contract.invalid.field), `${name}: "${message}" names ${contract.invalid.field}`)
  }
})

test('404 for a missing resource on every lookup route', async () => {
  for (const contract of contracts()) {
    if (typeof contract.missing === 'string') continue
    const name = `${contract.method} ${contract.route}`
    const response = await send(contract.method, contract.missing, Role.admin)
    assert.is(response.statusCode, 404, `${name}: ${response.body}`)
    assert.match(response.json().code, /^MONIT_ERR_[A-Z_]+_NOT_FOUND$/, `${name}: ${response.body}`)
  }
})

test.run()
