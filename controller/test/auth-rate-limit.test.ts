// Login attempts per address (default 10 a minute) and writes per user
// (lowered to 5 a minute here). Past either limit the controller returns 429.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, TEST_ADMIN_PASSWORD, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'

const WRITE_LIMIT = 5
const LOGIN_LIMIT = 10
let server: TestController

function login(password: string, remoteAddress: string) {
  return server.controller.app.inject({
    method: 'POST',
    url: '/api/auth/jwt/v1',
    remoteAddress,
    payload: { username: 'admin', password },
  })
}

test.before(async () => {
  server = await startTestController(['--write-rate-limit', String(WRITE_LIMIT)])
  // Two logins from 127.0.0.1, before the tests below count theirs from other addresses.
  await server.tokenFor(Role.admin)
  await server.tokenFor(Role.operator)
})

test.after(async () => {
  await server.stop()
})

test('failed logins past the limit get 429', async () => {
  const address = '127.0.0.5'
  for (let attempt = 1; attempt <= LOGIN_LIMIT; attempt++) {
    const response = await login('wrong-password', address)
    assert.is(response.statusCode, 401, `attempt ${attempt}`)
  }
  const limited = await login('wrong-password', address)
  assert.is(limited.statusCode, 429)
  assert.equal(Object.keys(limited.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  assert.is(limited.json().statusCode, 429)
  assert.is(limited.json().code, 'MONIT_ERR_RATE_LIMITED')
  assert.is(limited.json().error, 'Too Many Requests')
  assert.match(limited.json().message, /too many requests; retry in \d+ seconds?/)
  assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After is set')
})

test('limited address is refused the right password too', async () => {
  const response = await login(TEST_ADMIN_PASSWORD, '127.0.0.5')
  assert.is(response.statusCode, 429)
})

test('login limit is per address', async () => {
  const response = await login(TEST_ADMIN_PASSWORD, '127.0.0.6')
  assert.is(response.statusCode, 200)
  assert.type(response.json().token, 'string')
})

test('writes past the limit get 429 per user', async () => {
  const create = (id: string, role: Role) =>
    server.inject({ method: 'POST', url: `/api/state/streams/v1/${id}/create`, payload: { url: 'udp://127.0.0.1:5000' } }, role)
  for (let i = 1; i <= WRITE_LIMIT; i++) {
    const response = await create(`limited-${i}`, Role.operator)
    assert.is(response.statusCode, 201, `write ${i}`)
  }
  const limited = await create('limited-extra', Role.operator)
  assert.is(limited.statusCode, 429)
  assert.is(limited.json().code, 'MONIT_ERR_RATE_LIMITED')

  // Another user from the same address still has its own budget.
  const other = await create('admin-stream', Role.admin)
  assert.is(other.statusCode, 201)
})

test('reads are not limited', async () => {
  for (let i = 0; i < WRITE_LIMIT * 2; i++) {
    const response = await server.inject({ method: 'GET', url: '/api/state/streams/v1' }, Role.operator)
    assert.is(response.statusCode, 200, `read ${i}`)
  }
})

test.run()
