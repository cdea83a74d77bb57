// Operations routes: /healthz, /readyz, /metrics, the OpenAPI document and
// the docs page.
import Fastify from 'fastify'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { READY_TIMEOUT_MS } from '../src/api/health.ts'
import type { ControllerContext } from '../src/context.ts'
import { ControllerMetrics, metricsRoutes } from '../src/prometheus.ts'

let server: TestController

/** Sends a GET request without a token. */
function anonymous(url: string, headers: Record<string, string> = {}) {
  return server.controller.app.inject({ method: 'GET', url, headers })
}

/** Returns the value of one sample line, such as `monit_agents_connected 0`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  await server.stop()
})

test('healthz is public', async () => {
  const response = await anonymous('/healthz')
  assert.is(response.statusCode, 200)
  assert.is(response.json().status, 'ok')
})

test('readyz reports both checks', async () => {
  const response = await anonymous('/readyz')
  assert.is(response.statusCode, 200, response.body)
  const body = response.json()
  assert.is(body.status, 'ready')
  assert.is(body.checks.repository.status, 'ok')
  assert.is(body.checks.clickhouse.status, 'ok')
})

test('readyz names a failing ClickHouse', async () => {
  const { storage } = server.controller.context
  const ping = storage.ping
  storage.ping = () => Promise.reject(new Error('connection refused'))
  try {
    const response = await anonymous('/readyz')
    assert.is(response.statusCode, 503)
    const body = response.json()
    assert.is(body.status, 'not_ready')
    assert.is(body.checks.repository.status, 'ok')
    assert.is(body.checks.clickhouse.status, 'failed')
    assert.is(body.checks.clickhouse.error, 'connection refused')
  } finally {
    storage.ping = ping
  }
})

test('readyz times out a hanging ClickHouse', async () => {
  const { storage } = server.controller.context
  const ping = storage.ping
  storage.ping = () => new Promise(() => {})
  try {
    const response = await anonymous('/readyz')
    assert.is(response.statusCode, 503)
    const body = response.json()
    assert.is(body.checks.clickhouse.status, 'failed')
    assert.is(body.checks.clickhouse.error, `timed out after ${READY_TIMEOUT_MS} ms`)
    assert.is(body.checks.repository.status, 'ok')
  } finally {
    storage.ping = ping
  }
  assert.is((await anonymous('/readyz')).statusCode, 200)
})

test('readyz names a failing repository', async () => {
  const { knex } = server.controller.context.repository
  // knex defines raw as read-only, so the test swaps it through its descriptor.
  const original = Object.getOwnPropertyDescriptor(knex, 'raw')!
  Object.defineProperty(knex, 'raw', { ...original, value: () => Promise.reject(new Error('SQLITE_BUSY: database is locked')) })
  try {
    const response = await anonymous('/readyz')
    assert.is(response.statusCode, 503)
    const body = response.json()
    assert.is(body.checks.repository.status, 'failed')
    assert.is(body.checks.repository.error, 'SQLITE_BUSY: database is locked')
    assert.is(body.checks.clickhouse.status, 'ok')
  } finally {
    Object.defineProperty(knex, 'raw', original)
  }
})

test('metrics is public by default', async () => {
  const response = await anonymous('/metrics')
  assert.is(response.statusCode, 200)
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  assert.match(response.body, /^# HELP /m)
  assert.ok(sample(response.body, 'process_resident_memory_bytes')! > 0, 'process memory')
  assert.ok(sample(response.body, 'nodejs_eventloop_lag_seconds') !== undefined, 'event loop lag')
  assert.is(sample(response.body, 'monit_agents_connected'), 0)
})

test('metrics labels requests by route', async () => {
  await server.inject({ method: 'GET', url: '/api/query/unique/v1?stream_id=a,b' })
  await server.inject({ method: 'GET', url: '/api/query/unique/v1?stream_id=c' })
  await anonymous('/no/such/path')
  const text = (await anonymous('/metrics')).body
  const series = 'monit_http_requests_total{method="GET",route="/api/query/unique/v1",status_code="200"}'
  assert.is(sample(text, series), 2)
  assert.is(sample(text, 'monit_http_requests_total{method="GET",route="unmatched",status_code="404"}'), 1)
  assert.not.match(text, /stream_id=|\/no\/such\/path/)
  assert.match(text, /^monit_http_request_duration_seconds_count\{method="GET",route="\/api\/query\/unique\/v1",status_code="200"\} 2$/m)
})

test('metrics counts stream states', async () => {
  const created = await server.inject({
    method: 'POST',
    url: '/api/state/streams/v1/ops-1/create',
    payload: { url: 'udp://127.0.0.1:5000' },
  })
  assert.is(created.statusCode, 201, created.body)
  await server.inject({ method: 'POST', url: '/api/state/streams/v1/ops-2/create', payload: { url: 'udp://127.0.0.1:5001', desired_state: 'down' } })
  const text = (await anonymous('/metrics')).body
  assert.is(sample(text, 'monit_streams{state="unassigned"}'), 1)
  assert.is(sample(text, 'monit_streams{state="down"}'), 1)
  assert.is(sample(text, 'monit_streams{state="assigned"}'), 0)
})

test('metrics reads writer counters', async () => {
  const { writers } = server.controller.context
  const rows = [1, 2, 3].map((n) => ({ stream_id: 'ops-1', uniq_id: `viewer-${n}` }))
  await writers.heatmap.write(rows, 'api-ops-heatmap')
  const text = (await anonymous('/metrics')).body
  assert.is(sample(text, 'monit_writer_rows_written_total{table="heatmap"}'), 3)
  assert.is(sample(text, 'monit_writer_rows_buffered{table="heatmap"}'), 0)
  assert.is(sample(text, 'monit_writer_rows_rejected_total{table="heatmap"}'), 0)
  assert.is(sample(text, 'monit_writer_rows_failed_total{table="heatmap"}'), 0)
  assert.is(sample(text, 'monit_clickhouse_insert_duration_seconds_count{table="heatmap",result="ok"}'), 1)
})

test('metrics token guards the route', async () => {
  const app = Fastify()
  const context = { config: { metricsToken: 'scrape-secret-0123' } } as unknown as ControllerContext
  // A second registry in this process: the test controller already has one.
  await app.register((scope) => metricsRoutes(scope, context, new ControllerMetrics('test')))
  const missing = await app.inject({ method: 'GET', url: '/metrics' })
  assert.is(missing.statusCode, 401)
  assert.is(missing.json().code, 'MONIT_ERR_UNAUTHORIZED')
  assert.match(String(missing.headers['www-authenticate']), /^Bearer/)
  const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } })
  assert.is(wrong.statusCode, 401)
  const right = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-secret-0123' } })
  assert.is(right.statusCode, 200)
  assert.match(right.body, /monit_build_info\{version="test"\} 1/)
  await app.close()
})

/** Routes deliberately left out of the document: the docs page and its files, and CORS preflights. */
function documented(method: string, url: string): boolean {
  if (method === 'HEAD' || method === 'OPTIONS') return false
  return url !== '/api/docs' && !url.startsWith('/api/docs/')
}

test('openapi lists every /api route', async () => {
  const response = await anonymous('/api/openapi.json')
  assert.is(response.statusCode, 200)
  const document = response.json()
  assert.is(document.openapi, '3.1.0')
  const routes = server.controller.app.routeAccess().filter((route) => route.url.startsWith('/api/'))
  assert.ok(routes.length > 20, `only ${routes.length} routes`)
  for (const route of routes) {
    if (!documented(route.method, route.url)) continue
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}')
    const operation = document.paths[path]?.[route.method.toLowerCase()]
    assert.ok(operation !== undefined, `${route.method} ${route.url} is missing from the document`)
  }
})

test('openapi describes query routes', async () => {
  const document = (await anonymous('/api/openapi.json')).json()
  for (const name of ['metrics', 'unique', 'concurrent', 'platform', 'geo', 'summary', 'events', 'statuses']) {
    const operation = document.paths[`/api/query/${name}/v1`].get
    assert.ok(operation.responses['200'].content['application/json'].schema, `${name}: 200 schema`)
    assert.ok(operation.responses['400'], `${name}: 400 response`)
    assert.equal(operation.security, [{ bearerAuth: [] }], `${name}: security`)
    assert.equal(operation['x-roles'], ['admin', 'operator', 'viewer'], `${name}: roles`)
    const streamId = operation.parameters.find((parameter: { name: string }) => parameter.name === 'stream_id')
    assert.is(streamId.required, true, `${name}: stream_id required`)
  }
  assert.is(document.paths['/healthz'].get.security, undefined)
  assert.ok(document.paths['/api/agents/v1/ws'].get.responses['101'], 'agent hub shown as a WebSocket')
})

test('docs page loads its own assets', async () => {
  const page = await anonymous('/api/docs')
  assert.is(page.statusCode, 200)
  assert.match(String(page.headers['content-type']), /^text\/html/)
  const csp = String(page.headers['content-security-policy'])
  assert.match(csp, /script-src 'self'/)
  assert.match(csp, /style-src 'self'/)
  // The CSP allows no inline code, so every script and style must be a same-origin file.
  assert.not.match(page.body, /<script>|<style|style=/)
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
  const local = assets.filter((url) => url.startsWith('/api/docs/'))
  assert.equal(local.sort(), ['/api/docs/docs.css', '/api/docs/docs.js'])
  assert.ok(assets.every((url) => url.startsWith('/')), `only same-origin paths: ${assets.join(', ')}`)
  for (const url of local) {
    const asset = await anonymous(url)
    assert.is(asset.statusCode, 200, url)
    assert.match(String(asset.headers['content-type']), url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/)
  }
})

test.run()
