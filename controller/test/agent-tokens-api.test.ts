// The agent token routes under /api/config/agent-tokens/v1 against a real controller.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'

let server: TestController
const base = '/api/config/agent-tokens/v1'

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, role: Role = Role.admin) {
  const response = await server.inject({ method, url }, role)
  return { status: response.statusCode, body: response.json() }
}

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  await server.stop()
})

test('create returns the token once', async () => {
  const created = await call('POST', `${base}/edge-1/create`)
  assert.is(created.status, 201)
  assert.is(created.body.name, 'edge-1')
  assert.match(created.body.token, /^mnt_[0-9a-f]{12}_/)
  assert.is(created.body.revoked_at, null)

  const listed = await call('GET', base)
  assert.is(listed.status, 200)
  const row = listed.body.tokens.find((token: { id: string }) => token.id === created.body.id)
  assert.ok(row, 'created token listed')
  assert.is(row.token, undefined, 'list has no plaintext token')
  assert.is(row.token_hash, undefined, 'list has no hash')
})

test('created token verifies until revoked', async () => {
  const created = await call('POST', `${base}/edge-2/create`)
  const { repository } = server.controller.context
  assert.ok(await repository.verifyAgentToken(created.body.token), 'verifies before revoke')

  const revoked = await call('DELETE', `${base}/${created.body.id}/delete`)
  assert.is(revoked.status, 200)
  assert.equal(revoked.body, { id: created.body.id, revoked: true })
  assert.is(await repository.verifyAgentToken(created.body.token), undefined)

  const listed = await call('GET', base)
  const row = listed.body.tokens.find((token: { id: string }) => token.id === created.body.id)
  assert.type(row.revoked_at, 'string')
})

test('revoke of unknown id is 404', async () => {
  const response = await call('DELETE', `${base}/0123456789ab/delete`)
  assert.is(response.status, 404)
  assert.is(response.body.code, 'MONIT_ERR_AGENT_TOKEN_NOT_FOUND')
  assert.match(response.body.message, '"0123456789ab"')
})

test('invalid name is 400', async () => {
  const response = await call('POST', `${base}/bad%20name/create`)
  assert.is(response.status, 400)
})

test('only admins use the routes', async () => {
  for (const role of [Role.operator, Role.viewer]) {
    assert.is((await call('GET', base, role)).status, 403, `${role} list`)
    assert.is((await call('POST', `${base}/x/create`, role)).status, 403, `${role} create`)
    assert.is((await call('DELETE', `${base}/0123456789ab/delete`, role)).status, 403, `${role} revoke`)
  }
  const anonymous = await server.controller.app.inject({ method: 'GET', url: base })
  assert.is(anonymous.statusCode, 401)
})

test.run()
