// The user routes under /api/config/user/v1 against a real controller.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'

let server: TestController
const base = '/api/config/user/v1'

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, role: Role = Role.admin) {
  const response = await server.inject({ method, url, ...(payload === undefined ? {} : { payload }) }, role)
  return { status: response.statusCode, body: response.json() }
}

/** Logs in and returns a call() bound to that user's token. */
async function as(username: string, password: string) {
  const login = await server.controller.app.inject({ method: 'POST', url: '/api/auth/jwt/v1', payload: { username, password } })
  assert.is(login.statusCode, 200, `login as ${username}`)
  const headers = { authorization: `Bearer ${login.json().token}` }
  return async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const response = await server.controller.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })
    return { status: response.statusCode, body: response.json() }
  }
}

test.before(async () => {
  server = await startTestController(['--login-rate-limit', '1000'])
})

test.after(async () => {
  await server.stop()
})

test('create returns the user without a hash', async () => {
  const settings = { time_zone: 'Europe/Paris', default_streams: ['news-1'] }
  const { status, body } = await call('POST', `${base}/alice/create`, { password: 'alice-password', role: 'operator', settings })
  assert.is(status, 201)
  assert.equal(Object.keys(body).sort(), ['created_at', 'id', 'last_login_at', 'role', 'settings', 'updated_at'])
  assert.is(body.id, 'alice')
  assert.is(body.role, 'operator')
  assert.equal(body.settings, settings)
  assert.is(body.last_login_at, null)
  assert.not.match(JSON.stringify(body), /scrypt|alice-password/)
})

test('create stores a salted scrypt hash', async () => {
  await call('POST', `${base}/twin-1/create`, { password: 'same-password', role: 'viewer' })
  await call('POST', `${base}/twin-2/create`, { password: 'same-password', role: 'viewer' })
  const users = server.controller.context.repository.users
  const first = (await users.getCredentials('twin-1'))!.password_hash
  const second = (await users.getCredentials('twin-2'))!.password_hash
  assert.match(first, /^\$scrypt\$ln=17,r=8,p=1\$/)
  assert.is.not(first, second, 'each user gets its own salt')
})

test('create without settings stores empty settings', async () => {
  const { status, body } = await call('POST', `${base}/bob/create`, { password: 'bob-password', role: 'viewer' })
  assert.is(status, 201)
  assert.equal(body.settings, {})
})

test('create rejects a duplicate with 409', async () => {
  const { status, body } = await call('POST', `${base}/alice/create`, { password: 'other-password', role: 'viewer' })
  assert.is(status, 409)
  assert.is(body.code, 'MONIT_ERR_USER_EXISTS')
  assert.match(body.message, /alice/)
})

const invalidCreates: Array<[string, string, object, RegExp]> = [
  ['short password', 'carol', { password: 'short', role: 'viewer' }, /body\/password must NOT have fewer than 8 characters/],
  ['missing password', 'carol', { role: 'viewer' }, /body\/password: missing/],
  ['unknown role', 'carol', { password: 'carol-password', role: 'root' }, /body\/role must be one of admin, operator, viewer/],
  ['missing role', 'carol', { password: 'carol-password' }, /body\/role: missing/],
  ['unknown field', 'carol', { password: 'carol-password', role: 'viewer', email: 'c@example.test' }, /body\/email: unknown field/],
  ['bad time zone', 'carol', { password: 'carol-password', role: 'viewer', settings: { time_zone: 'Mars/Olympus' } }, /body\/settings\/time_zone: "Mars\/Olympus" is not an IANA time zone/],
  ['unknown setting', 'carol', { password: 'carol-password', role: 'viewer', settings: { theme: 'dark' } }, /body\/settings\/theme: unknown field/],
  ['bad stream id', 'carol', { password: 'carol-password', role: 'viewer', settings: { default_streams: ['bad id'] } }, /body\/settings\/default_streams\/0/],
  ['repeated stream', 'carol', { password: 'carol-password', role: 'viewer', settings: { default_streams: ['a', 'a'] } }, /body\/settings\/default_streams/],
  ['bad user id', 'carol%20x', { password: 'carol-password', role: 'viewer' }, /params\/id/],
]

for (const [name, id, payload, pattern] of invalidCreates) {
  test(`create rejects ${name} with 400`, async () => {
    const { status, body } = await call('POST', `${base}/${id}/create`, payload)
    assert.is(status, 400)
    assert.is(body.statusCode, 400)
    assert.match(body.message, pattern)
  })
}

test('rejected create leaves no user', async () => {
  assert.is((await call('GET', `${base}/carol`)).status, 404)
})

test('time zone is stored in canonical form', async () => {
  const { status, body } = await call('POST', `${base}/dave/create`, {
    password: 'dave-password',
    role: 'viewer',
    settings: { time_zone: 'europe/paris' },
  })
  assert.is(status, 201)
  assert.is(body.settings.time_zone, 'Europe/Paris')
})

test('get returns one user', async () => {
  const { status, body } = await call('GET', `${base}/alice`)
  assert.is(status, 200)
  assert.is(body.id, 'alice')
  assert.is(body.role, 'operator')
})

test('get of an unknown user is 404', async () => {
  const { status, body } = await call('GET', `${base}/nobody`)
  assert.is(status, 404)
  assert.is(body.code, 'MONIT_ERR_USER_NOT_FOUND')
})

test('list returns every user by id without hashes', async () => {
  const { status, body } = await call('GET', base)
  assert.is(status, 200)
  const ids = body.users.map((user: { id: string }) => user.id)
  assert.equal(ids, [...ids].sort())
  for (const id of ['admin', 'alice', 'bob', 'dave']) assert.ok(ids.includes(id), `${id} listed`)
  assert.not.match(JSON.stringify(body), /password|scrypt/)
})

test('update changes only given fields', async () => {
  const { status, body } = await call('POST', `${base}/alice/update`, { role: 'viewer' })
  assert.is(status, 200)
  assert.is(body.role, 'viewer')
  assert.equal(body.settings, { time_zone: 'Europe/Paris', default_streams: ['news-1'] })
})

test('update replaces settings as a whole', async () => {
  const { body } = await call('POST', `${base}/alice/update`, { settings: { default_streams: ['news-2'] } })
  assert.equal(body.settings, { default_streams: ['news-2'] })
})

test('update by admin sets a new password', async () => {
  const { status } = await call('POST', `${base}/bob/update`, { password: 'bob-new-password' })
  assert.is(status, 200)
  await as('bob', 'bob-new-password')
})

test('update rejects bad input with 400', async () => {
  const empty = await call('POST', `${base}/alice/update`, {})
  assert.is(empty.status, 400)
  assert.match(empty.body.message, /body: give at least one of password, role, settings/)
  const short = await call('POST', `${base}/alice/update`, { password: '1234567' })
  assert.is(short.status, 400)
  assert.match(short.body.message, /body\/password/)
  const role = await call('POST', `${base}/alice/update`, { role: 'superuser' })
  assert.is(role.status, 400)
  assert.match(role.body.message, /body\/role/)
})

test('update of an unknown user is 404', async () => {
  const { status, body } = await call('POST', `${base}/nobody/update`, { role: 'viewer' })
  assert.is(status, 404)
  assert.is(body.code, 'MONIT_ERR_USER_NOT_FOUND')
})

test('user updates own settings and password', async () => {
  const bob = await as('bob', 'bob-new-password')
  const settings = await bob('POST', `${base}/bob/update`, { settings: { time_zone: 'Asia/Tokyo' } })
  assert.is(settings.status, 200)
  assert.equal(settings.body.settings, { time_zone: 'Asia/Tokyo' })
  const own = await bob('GET', `${base}/bob`)
  assert.equal(own.body.settings, { time_zone: 'Asia/Tokyo' })

  const password = await bob('POST', `${base}/bob/update`, { password: 'bob-third-password' })
  assert.is(password.status, 200)
  await as('bob', 'bob-third-password')
})

test('user may not change own role', async () => {
  const bob = await as('bob', 'bob-third-password')
  const { status, body } = await bob('POST', `${base}/bob/update`, { role: 'admin' })
  assert.is(status, 403)
  assert.is(body.code, 'MONIT_ERR_FORBIDDEN')
  assert.match(body.message, /body\/role: only an admin may change a role/)
  assert.is((await call('GET', `${base}/bob`)).body.role, 'viewer')
})

test('user may not touch other users', async () => {
  const bob = await as('bob', 'bob-third-password')
  assert.is((await bob('GET', `${base}/alice`)).status, 403)
  assert.is((await bob('POST', `${base}/alice/update`, { settings: {} })).status, 403)
  assert.is((await bob('GET', base)).status, 403)
  assert.is((await bob('DELETE', `${base}/alice/delete`)).status, 403)
  assert.is((await bob('POST', `${base}/eve/create`, { password: 'eve-password', role: 'admin' })).status, 403)
  assert.is((await bob('DELETE', `${base}/bob/delete`)).status, 403)
})

test('last admin cannot be deleted or demoted', async () => {
  const deleted = await call('DELETE', `${base}/admin/delete`)
  assert.is(deleted.status, 409)
  assert.is(deleted.body.code, 'MONIT_ERR_LAST_ADMIN')
  const demoted = await call('POST', `${base}/admin/update`, { role: 'operator' })
  assert.is(demoted.status, 409)
  assert.is(demoted.body.code, 'MONIT_ERR_LAST_ADMIN')
  assert.is((await call('GET', `${base}/admin`)).body.role, 'admin')
})

test('admin can be demoted once another admin exists', async () => {
  await call('POST', `${base}/second-admin/create`, { password: 'second-password', role: 'admin' })
  const second = await as('second-admin', 'second-password')
  const demoted = await second('POST', `${base}/second-admin/update`, { role: 'viewer' })
  assert.is(demoted.status, 200)
  assert.is(demoted.body.role, 'viewer')
})

test('delete removes the user', async () => {
  const { status, body } = await call('DELETE', `${base}/dave/delete`)
  assert.is(status, 200)
  assert.equal(body, { id: 'dave', deleted: true })
  assert.is((await call('GET', `${base}/dave`)).status, 404)
  const again = await call('DELETE', `${base}/dave/delete`)
  assert.is(again.status, 404)
  assert.is(again.body.code, 'MONIT_ERR_USER_NOT_FOUND')
})

test.run()
