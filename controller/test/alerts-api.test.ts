// The alert routes against a real controller, and an alert end to end: a
// fake agent on the hub reports a stream down and up, and a webhook receiver
// on 127.0.0.1 gets the firing and resolved notifications.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage, type Perform } from '@monit/protocol'
import { startHttpReceiver, type HttpReceiver } from '../../testing/alert-receivers.ts'
import { startTestController, waitFor, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'
import { verifySignature } from '../src/alerts/signature.ts'

const channels = '/api/config/alerts/v1/channels'
const rules = '/api/config/alerts/v1/rules'
const alerts = '/api/query/alerts/v1'
const SECRET = 'end-to-end-secret-0123456789'

let server: TestController
let receiver: HttpReceiver

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, role: Role = Role.admin) {
  const response = await server.inject({ method, url, ...(payload === undefined ? {} : { payload }) }, role)
  return { status: response.statusCode, body: response.json() }
}

test.before(async () => {
  server = await startTestController()
  receiver = await startHttpReceiver()
})

test.after(async () => {
  await server.stop()
  await receiver.stop()
})

test('create channel masks the secret', async () => {
  const config = { url: `${receiver.url}/e2e`, secret: SECRET }
  const { status, body } = await call('POST', `${channels}/ops-hook/create`, { type: 'webhook', name: 'ops', config })
  assert.is(status, 201)
  assert.is(body.id, 'ops-hook')
  assert.is(body.type, 'webhook')
  assert.equal(body.config, { url: config.url, secret: '********6789' })
})

test('viewer reads channels masked', async () => {
  const list = await call('GET', channels, undefined, Role.viewer)
  assert.is(list.status, 200)
  assert.is(list.body.channels.length, 1)
  assert.not.match(JSON.stringify(list.body), SECRET)
  const one = await call('GET', `${channels}/ops-hook`, undefined, Role.viewer)
  assert.is(one.body.config.secret, '********6789')
})

test('only admins write channels and rules', async () => {
  const config = { url: `${receiver.url}/x`, secret: SECRET }
  for (const role of [Role.viewer, Role.operator]) {
    assert.is((await call('POST', `${channels}/x/create`, { type: 'webhook', config }, role)).status, 403)
    assert.is((await call('POST', `${rules}/x/create`, { channels: ['ops-hook'] }, role)).status, 403)
    assert.is((await call('POST', `${channels}/ops-hook/test`, undefined, role)).status, 403)
  }
})

const invalidChannels: Array<[string, object, RegExp]> = [
  ['unknown type', { type: 'fax', config: {} }, /^body\/type /],
  ['missing config', { type: 'webhook' }, /^body\/config: missing/],
  ['short secret', { type: 'webhook', config: { url: 'http://127.0.0.1/', secret: 'x' } }, /^body\/config\/secret: /],
  ['missing url', { type: 'slack', config: {} }, /^body\/config\/webhook_url: missing/],
  ['unknown field', { type: 'telegram', config: { bot_token: '1:abcdefgh', chat_id: '1', proxy: 'x' } }, /^body\/config\/proxy: unknown field/],
  ['bad recipient', { type: 'email', config: { host: 'h', from: 'a@b.test', to: ['nobody'] } }, /^body\/config\/to\/0: must match pattern/],
]

for (const [name, payload, message] of invalidChannels) {
  test(`channel create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${channels}/bad/create`, payload)
    assert.is(status, 400)
    assert.match(body.message, message)
  })
}

test('channel errors: 404 and 409', async () => {
  assert.is((await call('GET', `${channels}/nope`)).status, 404)
  assert.is((await call('POST', `${channels}/nope/update`, { name: 'x' })).status, 404)
  assert.is((await call('DELETE', `${channels}/nope/delete`)).status, 404)
  const again = await call('POST', `${channels}/ops-hook/create`, { type: 'webhook', config: { url: 'http://127.0.0.1/', secret: SECRET } })
  assert.is(again.status, 409)
  assert.is(again.body.code, 'MONIT_ERR_ALERT_CHANNEL_EXISTS')
})

test('update with the masked secret keeps it', async () => {
  const current = (await call('GET', `${channels}/ops-hook`)).body
  const { status, body } = await call('POST', `${channels}/ops-hook/update`, { name: 'ops team', config: current.config })
  assert.is(status, 200)
  assert.is(body.name, 'ops team')

  const before = receiver.requests.length
  const tested = await call('POST', `${channels}/ops-hook/test`)
  assert.is(tested.status, 200)
  assert.is(tested.body.ok, true)
  const request = receiver.requests[before]!
  const signature = String(request.headers['x-monit-signature'])
  const timestamp = String(request.headers['x-monit-timestamp'])
  assert.ok(verifySignature({ secret: SECRET, timestamp, body: request.body, signature, nowS: request.atS }), 'signed with the old secret')
})

test('failed channel test is 502', async () => {
  receiver.script.push({ status: 500, body: 'receiver broken' })
  const { status, body } = await call('POST', `${channels}/ops-hook/test`)
  assert.is(status, 502)
  assert.is(body.code, 'MONIT_ERR_ALERT_CHANNEL_TEST_FAILED')
  assert.match(body.message, /HTTP 500: receiver broken/)
})

const invalidRules: Array<[string, object, RegExp]> = [
  ['missing channels', {}, /^body\/channels: missing/],
  ['unknown channel', { channels: ['ops-hook', 'nope'] }, /^body\/channels\/1: alert channel "nope" not found/],
  ['two scopes', { channels: ['ops-hook'], stream_ids: ['a'], labels: { region: 'eu' } }, /^body\/labels: give stream_ids or labels/],
  ['bad pattern', { channels: ['ops-hook'], reason_pattern: '(' }, /^body\/reason_pattern: invalid regular expression/],
  ['up status', { channels: ['ops-hook'], statuses: ['up'] }, /^body\/statuses\/0 /],
  ['negative for_s', { channels: ['ops-hook'], for_s: -1 }, /^body\/for_s /],
]

for (const [name, payload, message] of invalidRules) {
  test(`rule create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${rules}/bad/create`, payload)
    assert.is(status, 400)
    assert.match(body.message, message)
  })
}

test('rule create, read and update', async () => {
  const created = await call('POST', `${rules}/news-down/create`, { name: 'news down', stream_ids: ['news-1'], channels: ['ops-hook'] })
  assert.is(created.status, 201)
  assert.equal(created.body.statuses, ['down'], 'statuses default to down')
  assert.is(created.body.for_s, 0)
  assert.is(created.body.enabled, true)
  assert.is((await call('POST', `${rules}/news-down/create`, { channels: ['ops-hook'] })).status, 409)

  const updated = await call('POST', `${rules}/news-down/update`, { reason_pattern: 'no data|refused', statuses: ['down', 'degraded'] })
  assert.is(updated.status, 200)
  assert.equal(updated.body.stream_ids, ['news-1'], 'fields left out keep their value')
  assert.is(updated.body.reason_pattern, 'no data|refused')
  const cleared = await call('POST', `${rules}/news-down/update`, { reason_pattern: null })
  assert.is(cleared.body.reason_pattern, null)

  const listed = await call('GET', rules, undefined, Role.viewer)
  assert.equal(listed.body.rules.map((rule: { id: string }) => rule.id), ['news-down'])
  assert.is((await call('GET', `${rules}/nope`)).status, 404)
})

test('channel used by a rule cannot be deleted', async () => {
  const { status, body } = await call('DELETE', `${channels}/ops-hook/delete`)
  assert.is(status, 409)
  assert.match(body.message, /used by rules "news-down"/)
})

/** Connects a fake agent to the hub that records the messages the controller sends. */
async function connectAgent(): Promise<{ socket: WebSocket; next(type: string): Promise<ControllerMessage> }> {
  const received: ControllerMessage[] = []
  const headers = { authorization: `Bearer ${server.agentToken}` }
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/v1/ws`, { headers })
  socket.on('message', (data) => received.push(JSON.parse(data.toString())))
  await new Promise((done, fail) => {
    socket.once('open', done)
    socket.once('error', fail)
  })
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'edge-1', name: 'edge-1', version: 'test' }
  socket.send(JSON.stringify({ ...hello, labels: {}, capacity: 10, streams: [] }))
  const next = (type: string) =>
    waitFor(`a ${type} message`, () => {
      const index = received.findIndex((message) => message.type === type)
      return index < 0 ? undefined : received.splice(index, 1)[0]
    }, 10_000, 20)
  await next('welcome')
  return { socket, next }
}

async function alertsOf(streamId: string) {
  const { status, body } = await call('GET', `${alerts}?stream_id=${streamId}`, undefined, Role.viewer)
  assert.is(status, 200)
  return body.alerts as Array<Record<string, any>>
}

test('alert fires and resolves end to end', async () => {
  const agent = await connectAgent()
  try {
    const created = await call('POST', '/api/state/streams/v1/news-1/create', { url: 'http://127.0.0.1:9/news-1.m3u8' })
    assert.is(created.status, 201)
    const perform = (await agent.next('perform')) as Perform
    assert.is(perform.stream_id, 'news-1')
    const status = (value: 'up' | 'down', reason: string) =>
      agent.socket.send(JSON.stringify({ type: 'status', stream_id: 'news-1', epoch: perform.epoch, status: value, reason, ts_ms: Date.now() }))

    const before = receiver.requests.length
    status('down', 'no data for 10 s')
    const firing = await waitFor('a firing alert with its delivery', async () => {
      const [alert] = await alertsOf('news-1')
      return alert?.deliveries.length === 1 ? alert : undefined
    }, 10_000, 50)
    assert.is(firing.rule_id, 'news-down')
    assert.is(firing.status, 'down')
    assert.is(firing.reason, 'no data for 10 s')
    assert.is(firing.resolved_at, null)
    assert.is(firing.deliveries[0].outcome, 'sent')
    assert.is(firing.deliveries[0].http_status, 200)
    const sent = JSON.parse(receiver.requests[before]!.body)
    assert.is(sent.event, 'firing')
    assert.is(sent.alert.id, firing.id)
    assert.is(sent.stream.id, 'news-1')

    status('down', 'connection refused')
    status('up', '')
    const resolved = await waitFor('the resolved alert', async () => {
      const [alert] = await alertsOf('news-1')
      return alert?.deliveries.length === 2 ? alert : undefined
    }, 10_000, 50)
    assert.is(resolved.id, firing.id, 'one alert for the whole episode')
    assert.is(resolved.resolution, 'recovered')
    assert.ok(resolved.resolved_at !== null)
    assert.equal(resolved.deliveries.map((delivery: { event: string }) => delivery.event), ['firing', 'resolved'])
    assert.is(JSON.parse(receiver.requests[before + 1]!.body).event, 'resolved')
    assert.is(receiver.requests.length, before + 2)
  } finally {
    agent.socket.close()
  }
})

test('alert query filters and checks', async () => {
  assert.is((await call('GET', `${alerts}?state=open`)).body.alerts.length, 0)
  const resolved = await call('GET', `${alerts}?state=resolved&stream_id=news-1,other`)
  assert.is(resolved.body.alerts.length, 1)
  assert.is(resolved.body.truncated, false)
  const id = resolved.body.alerts[0].id
  assert.is((await call('GET', `${alerts}/${id}`)).body.id, id)
  assert.is((await call('GET', `${alerts}/999999`)).status, 404)
  assert.is((await call('GET', `${alerts}?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`)).body.alerts.length, 0)
  const bad = await call('GET', `${alerts}?from=yesterday`)
  assert.is(bad.status, 400)
  assert.match(bad.body.message, /^querystring\/from: /)
})

test('deleting a stream resolves its alert', async () => {
  assert.is((await call('POST', `${rules}/news-2-down/create`, { stream_ids: ['news-2'], channels: ['ops-hook'] })).status, 201)
  const agent = await connectAgent()
  try {
    assert.is((await call('POST', '/api/state/streams/v1/news-2/create', { url: 'http://127.0.0.1:9/news-2.m3u8' })).status, 201)
    const perform = (await agent.next('perform')) as Perform
    const down = { type: 'status', stream_id: 'news-2', epoch: perform.epoch, status: 'down', reason: 'timeout', ts_ms: Date.now() }
    agent.socket.send(JSON.stringify(down))
    await waitFor('an open alert on news-2', async () => ((await alertsOf('news-2'))[0]?.resolved_at === null ? true : undefined), 10_000, 50)

    assert.is((await call('DELETE', '/api/state/streams/v1/news-2/delete')).status, 200)
    const resolved = await waitFor('the alert resolved by the delete', async () => {
      const [alert] = await alertsOf('news-2')
      return alert?.resolved_at !== null ? alert : undefined
    }, 10_000, 50)
    assert.is(resolved!.resolution, 'stream_deleted')
  } finally {
    agent.socket.close()
    await call('DELETE', `${rules}/news-2-down/delete`)
  }
})

test('rule and channel delete', async () => {
  assert.is((await call('DELETE', `${rules}/news-down/delete`)).status, 200)
  assert.is((await call('DELETE', `${rules}/news-down/delete`)).status, 404)
  assert.is((await call('DELETE', `${channels}/ops-hook/delete`)).status, 200)
  assert.is((await call('GET', channels)).body.channels.length, 0)
})

test.run()
