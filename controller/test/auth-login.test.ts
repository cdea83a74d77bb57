// Login, token checks and security headers against a real controller.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose'
import {
  startTestController,
  TEST_ADMIN_PASSWORD,
  TEST_JWT_SECRET,
  type TestController,
} from '../../testing/controller.ts'

let server: TestController
const streams = '/api/state/streams/v1'
const login = '/api/auth/jwt/v1'

async function loginAs(username: string, password: string) {
  const response = await server.controller.app.inject({ method: 'POST', url: login, payload: { username, password } })
  return { status: response.statusCode, body: response.json(), headers: response.headers }
}

async function getWithToken(token: string | undefined, url = streams) {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` }
  const response = await server.controller.app.inject({ method: 'GET', url, headers })
  return { status: response.statusCode, body: response.json(), headers: response.headers }
}

/** Signs a token shaped like the controller's with the given secret, algorithm and claims. */
function forge(secret: string, alg: string, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000)
  const payload = { iss: 'monit-controller', sub: 'admin', iat: now, exp: now + 600, ver: 0, ...claims }
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret))
}

test.before(async () => {
  // Many logins below; the login limit has its own test file.
  server = await startTestController(['--login-rate-limit', '1000'])
})

test.after(async () => {
  await server.stop()
})

test('login returns an HS256 token and its expiry', async () => {
  const before = Date.now()
  const { status, body } = await loginAs('admin', TEST_ADMIN_PASSWORD)
  assert.is(status, 200)
  assert.type(body.token, 'string')
  assert.equal(Object.keys(body).sort(), ['expires_at', 'token'])
  assert.is(decodeProtectedHeader(body.token).alg, 'HS256')
  const claims = decodeJwt(body.token)
  assert.is(claims.sub, 'admin')
  assert.not.ok('password' in claims)
  const expiresAt = Date.parse(body.expires_at)
  assert.is(expiresAt, (claims.exp ?? 0) * 1000)
  // Default expiry: 12 hours.
  assert.ok(Math.abs(expiresAt - before - 12 * 3600 * 1000) < 5000, `expires_at ${body.expires_at}`)
})

test('login token opens the API', async () => {
  const { body } = await loginAs('admin', TEST_ADMIN_PASSWORD)
  const { status } = await getWithToken(body.token)
  assert.is(status, 200)
})

test('wrong password and unknown user get one message', async () => {
  const wrong = await loginAs('admin', 'not-the-password')
  const unknown = await loginAs('nobody', 'not-the-password')
  assert.is(wrong.status, 401)
  assert.is(unknown.status, 401)
  assert.equal(wrong.body, unknown.body)
  assert.equal(wrong.body, {
    statusCode: 401,
    code: 'MONIT_ERR_UNAUTHORIZED',
    error: 'Unauthorized',
    message: 'invalid username or password',
  })
})

test('login records last_login_at', async () => {
  const users = server.controller.context.repository.users
  await loginAs('admin', TEST_ADMIN_PASSWORD)
  const admin = await users.get('admin')
  assert.ok(admin?.last_login_at, 'last_login_at is set')
  assert.ok(Date.now() - Date.parse(admin!.last_login_at!) < 10_000)
})

const invalidLogins: Array<[string, unknown, RegExp]> = [
  ['missing password', { username: 'admin' }, /body\/password: missing/],
  ['missing username', { password: 'x' }, /body\/username: missing/],
  ['unknown field', { username: 'admin', password: 'x', role: 'admin' }, /body\/role: unknown field/],
  ['empty password', { username: 'admin', password: '' }, /body\/password/],
  ['huge password', { username: 'admin', password: 'x'.repeat(1025) }, /body\/password/],
]

for (const [name, payload, pattern] of invalidLogins) {
  test(`login rejects ${name} with 400`, async () => {
    const response = await server.controller.app.inject({ method: 'POST', url: login, payload: payload as object })
    assert.is(response.statusCode, 400)
    assert.match(response.json().message, pattern)
    assert.is(response.json().code, 'FST_ERR_VALIDATION')
  })
}

test('missing token is 401 with a Bearer challenge', async () => {
  const { status, body, headers } = await getWithToken(undefined)
  assert.is(status, 401)
  assert.is(body.code, 'MONIT_ERR_UNAUTHORIZED')
  assert.match(body.message, /missing token/)
  assert.is(headers['www-authenticate'], 'Bearer realm="monit"')
})

test('non-bearer authorization is 401', async () => {
  const response = await server.controller.app.inject({
    method: 'GET',
    url: streams,
    headers: { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString('base64')}` },
  })
  assert.is(response.statusCode, 401)
  assert.match(response.json().message, 'unsupported Authorization scheme "Basic"; log in at POST /api/auth/jwt/v1')
})

test('malformed token is 401', async () => {
  const { status, body } = await getWithToken('not.a.jwt')
  assert.is(status, 401)
  assert.match(body.message, /invalid token/)
})

test('token with alg none is rejected', async () => {
  const now = Math.floor(Date.now() / 1000)
  const token = new UnsecuredJWT({ ver: 0 })
    .setIssuer('monit-controller')
    .setSubject('admin')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .encode()
  assert.is(decodeProtectedHeader(token).alg, 'none')
  assert.is((await getWithToken(token)).status, 401)
})

test('token signed with HS512 is rejected', async () => {
  const token = await forge(TEST_JWT_SECRET, 'HS512')
  assert.is((await getWithToken(token)).status, 401)
})

test('token signed with another secret is rejected', async () => {
  const token = await forge('another-secret-0123456789abcdef-0123456789', 'HS256')
  assert.is((await getWithToken(token)).status, 401)
})

test('token forged with the right secret is accepted', async () => {
  // The control case for the two tests above: the same claims, correctly signed, pass.
  const token = await forge(TEST_JWT_SECRET, 'HS256')
  assert.is((await getWithToken(token)).status, 200)
})

test('token with a changed payload is rejected', async () => {
  const { body } = await loginAs('admin', TEST_ADMIN_PASSWORD)
  const [header, , signature] = body.token.split('.')
  const payload = Buffer.from(JSON.stringify({ ...decodeJwt(body.token), sub: 'someone-else' })).toString('base64url')
  assert.is((await getWithToken(`${header}.${payload}.${signature}`)).status, 401)
})

test('token of another issuer is rejected', async () => {
  const token = await forge(TEST_JWT_SECRET, 'HS256', { iss: 'somebody-else' })
  assert.is((await getWithToken(token)).status, 401)
})

test('token without expiry is rejected', async () => {
  const token = await new SignJWT({ ver: 0 })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('monit-controller')
    .setSubject('admin')
    .setIssuedAt()
    .sign(new TextEncoder().encode(TEST_JWT_SECRET))
  assert.is((await getWithToken(token)).status, 401)
})

test('token past its expiry is rejected as expired', async () => {
  const token = await forge(TEST_JWT_SECRET, 'HS256', { exp: Math.floor(Date.now() / 1000) - 5 })
  const { status, body } = await getWithToken(token)
  assert.is(status, 401)
  assert.match(body.message, /token expired/)
})

test('token of a deleted user is rejected', async () => {
  await server.inject({
    method: 'POST',
    url: '/api/config/user/v1/short-lived/create',
    payload: { password: 'short-lived-password', role: 'viewer' },
  })
  const { body } = await loginAs('short-lived', 'short-lived-password')
  assert.is((await getWithToken(body.token)).status, 200)
  const deleted = await server.inject({ method: 'DELETE', url: '/api/config/user/v1/short-lived/delete' })
  assert.is(deleted.statusCode, 200)
  assert.is((await getWithToken(body.token)).status, 401)
})

test('password change revokes older tokens', async () => {
  await server.inject({
    method: 'POST',
    url: '/api/config/user/v1/changer/create',
    payload: { password: 'first-password', role: 'viewer' },
  })
  const first = await loginAs('changer', 'first-password')
  const changed = await server.controller.app.inject({
    method: 'POST',
    url: '/api/config/user/v1/changer/update',
    headers: { authorization: `Bearer ${first.body.token}` },
    payload: { password: 'second-password' },
  })
  assert.is(changed.statusCode, 200)

  const old = await getWithToken(first.body.token)
  assert.is(old.status, 401)
  assert.match(old.body.message, /password change/)
  assert.is((await loginAs('changer', 'first-password')).status, 401)
  const second = await loginAs('changer', 'second-password')
  assert.is((await getWithToken(second.body.token)).status, 200)
})

test('login upgrades a hash made with older parameters', async () => {
  const { scryptSync } = await import('node:crypto')
  const users = server.controller.context.repository.users
  await server.inject({
    method: 'POST',
    url: '/api/config/user/v1/legacy/create',
    payload: { password: 'legacy-password', role: 'viewer' },
  })
  const salt = Buffer.from('0123456789abcdef')
  const key = scryptSync('legacy-password', salt, 32, { N: 2 ** 14, r: 8, p: 1 })
  const encode = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '')
  await users.replacePasswordHash('legacy', `$scrypt$ln=14,r=8,p=1$${encode(salt)}$${encode(key)}`)

  const first = await loginAs('legacy', 'legacy-password')
  assert.is(first.status, 200)
  const credentials = await users.getCredentials('legacy')
  assert.match(credentials!.password_hash, /^\$scrypt\$ln=17,/)
  assert.is(credentials!.token_version, 0, 'the upgrade does not revoke tokens')
  assert.is((await getWithToken(first.body.token)).status, 200)
  assert.is((await loginAs('legacy', 'legacy-password')).status, 200)
})

const securityHeaders: Array<[string, RegExp]> = [
  ['content-security-policy', /default-src 'self'/],
  ['content-security-policy', /script-src 'self'(;|$)/],
  ['content-security-policy', /style-src 'self'(;|$)/],
  ['content-security-policy', /frame-ancestors 'none'/],
  ['x-content-type-options', /^nosniff$/],
  ['x-frame-options', /^SAMEORIGIN$/],
  ['strict-transport-security', /max-age=\d+/],
  ['referrer-policy', /^no-referrer$/],
]

for (const [url, token] of [
  ['/healthz', false],
  [streams, true],
  [streams, false],
] as const) {
  test(`security headers on ${url}${token ? '' : ' without token'}`, async () => {
    const response = token
      ? await server.inject({ method: 'GET', url })
      : await server.controller.app.inject({ method: 'GET', url })
    for (const [name, pattern] of securityHeaders) {
      const value = response.headers[name]
      assert.type(value, 'string', `${name} is set`)
      assert.match(String(value), pattern, `${name}: ${String(value)}`)
    }
  })
}

test('CSP allows no inline scripts or styles', async () => {
  const response = await server.controller.app.inject({ method: 'GET', url: '/healthz' })
  const csp = String(response.headers['content-security-policy'])
  assert.not.match(csp, /unsafe-inline/)
  assert.not.match(csp, /unsafe-eval/)
  assert.not.match(csp, /https:/)
})

test.run()
