// Controller start-up: the first admin user, the stored JWT secret across
// restarts, token expiry, and the checks on the new settings.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildController, type Controller } from '../src/app.ts'
import { ConfigError, loadControllerConfig } from '../src/config.ts'
import { ensureFirstAdmin } from '../src/auth/first-admin.ts'
import { loadJwtSecret } from '../src/auth/jwt.ts'
import { openRepository } from '../src/repository/index.ts'

const dirs: string[] = []

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'monit-auth-start-'))
  dirs.push(dir)
  return dir
}

/** Builds a controller on dataDir and returns it with what it printed to stdout while starting. */
async function start(dataDir: string, env: Record<string, string>, args: string[] = []): Promise<{ controller: Controller; printed: string }> {
  const config = loadControllerConfig(['--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args], env)
  const write = process.stdout.write.bind(process.stdout)
  let printed = ''
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed += String(chunk)
    return true
  }) as typeof process.stdout.write
  try {
    const controller = await buildController(config, pino({ level: 'silent' }))
    return { controller, printed }
  } finally {
    process.stdout.write = write
  }
}

async function login(controller: Controller, username: string, password: string) {
  const response = await controller.app.inject({ method: 'POST', url: '/api/auth/jwt/v1', payload: { username, password } })
  return { status: response.statusCode, body: response.json() }
}

async function getStreams(controller: Controller, token: string) {
  const response = await controller.app.inject({
    method: 'GET',
    url: '/api/state/streams/v1',
    headers: { authorization: `Bearer ${token}` },
  })
  return { status: response.statusCode, body: response.json() }
}

/** Returns the error the promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  assert.unreachable('expected a rejection')
  throw new Error('unreachable')
}

test.after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

test('first start creates admin with MONIT_ADMIN_PASSWORD', async () => {
  const dataDir = await newDataDir()
  const { controller, printed } = await start(dataDir, { MONIT_ADMIN_PASSWORD: 'configured-admin-password' })
  try {
    assert.is(printed, '', 'a configured password is not printed')
    const users = await controller.context.repository.users.list()
    assert.equal(users.map((user) => [user.id, user.role]), [['admin', 'admin']])
    assert.is((await login(controller, 'admin', 'configured-admin-password')).status, 200)
  } finally {
    await controller.close()
  }
})

test('first start prints a random password once; secret survives restart', async () => {
  const dataDir = await newDataDir()
  const first = await start(dataDir, {})
  let token: string
  let password: string
  try {
    const match = /Created the API user "admin" with the password\n\n {4}(\S+)\n/.exec(first.printed)
    assert.ok(match, `printed: ${first.printed}`)
    password = match![1]!
    assert.ok(password.length >= 20, 'random password is long')
    const { status, body } = await login(first.controller, 'admin', password)
    assert.is(status, 200)
    token = body.token
  } finally {
    await first.controller.close()
  }

  const secretPath = join(dataDir, 'jwt-secret')
  const { mode } = await stat(secretPath)
  assert.is(mode & 0o777, 0o600)
  assert.ok((await readFile(secretPath, 'utf8')).trim().length >= 32)

  // A second start with a different admin password: users exist, so nothing changes.
  const second = await start(dataDir, { MONIT_ADMIN_PASSWORD: 'ignored-admin-password' })
  try {
    assert.is(second.printed, '', 'the password is printed only on the first start')
    assert.is((await getStreams(second.controller, token)).status, 200, 'token from before the restart')
    assert.is((await login(second.controller, 'admin', password)).status, 200)
    assert.is((await login(second.controller, 'admin', 'ignored-admin-password')).status, 401)
  } finally {
    await second.controller.close()
  }
})

test('configured secret writes no file; tokens need the same secret', async () => {
  const dataDir = await newDataDir()
  const env = { MONIT_ADMIN_PASSWORD: 'configured-admin-password', MONIT_JWT_SECRET: 'a'.repeat(32) }
  const first = await start(dataDir, env)
  let token: string
  try {
    token = (await login(first.controller, 'admin', 'configured-admin-password')).body.token
  } finally {
    await first.controller.close()
  }
  const missing = await rejection(stat(join(dataDir, 'jwt-secret')))
  assert.is((missing as NodeJS.ErrnoException).code, 'ENOENT', 'no secret file with a configured secret')

  const other = await start(dataDir, { ...env, MONIT_JWT_SECRET: 'b'.repeat(32) })
  try {
    assert.is((await getStreams(other.controller, token)).status, 401)
  } finally {
    await other.controller.close()
  }
})

test('short secret file is rejected', async () => {
  const dataDir = await newDataDir()
  await writeFile(join(dataDir, 'jwt-secret'), 'too-short\n', { mode: 0o600 })
  const error = await rejection(loadJwtSecret(undefined, dataDir, pino({ level: 'silent' })))
  assert.match(error.message, /jwt-secret contains 9 characters; it needs 32 or more/)
})

test('readable secret file is used with a warning', async () => {
  const dataDir = await newDataDir()
  await writeFile(join(dataDir, 'jwt-secret'), `${'s'.repeat(40)}\n`, { mode: 0o644 })
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
  assert.is(await loadJwtSecret(undefined, dataDir, logger), 's'.repeat(40))
  assert.is(lines.length, 1)
  assert.match(lines[0]!, /readable by other users; run chmod 600/)
  assert.not.match(lines[0]!, /ssss/)
})

test('token expires after --jwt-expiry seconds', async () => {
  const dataDir = await newDataDir()
  const { controller } = await start(dataDir, { MONIT_ADMIN_PASSWORD: 'configured-admin-password' }, ['--jwt-expiry', '1'])
  try {
    const { body } = await login(controller, 'admin', 'configured-admin-password')
    assert.ok(Date.parse(body.expires_at) - Date.now() <= 1000)
    assert.is((await getStreams(controller, body.token)).status, 200)
    await new Promise((done) => setTimeout(done, 2100))
    const expired = await getStreams(controller, body.token)
    assert.is(expired.status, 401)
    assert.is(expired.body.code, 'MONIT_ERR_UNAUTHORIZED')
    assert.match(expired.body.message, /token expired/)
  } finally {
    await controller.close()
  }
})

test('ensureFirstAdmin runs once and survives a race', async () => {
  const dataDir = await newDataDir()
  const repository = await openRepository(`sqlite:${join(dataDir, 'race.sqlite')}`, pino({ level: 'silent' }))
  try {
    const printed: string[] = []
    const logger = pino({ level: 'silent' })
    const results = await Promise.all([
      ensureFirstAdmin(repository.users, undefined, logger, (text) => printed.push(text)),
      ensureFirstAdmin(repository.users, undefined, logger, (text) => printed.push(text)),
    ])
    assert.equal(results.filter(Boolean).length, 1, 'one call created the user')
    assert.is(printed.length, 1, 'only the winner printed a password')
    assert.is(await repository.users.count(), 1)
    assert.not.ok(await ensureFirstAdmin(repository.users, 'some-password', logger, (text) => printed.push(text)))
    assert.is(printed.length, 1)
  } finally {
    await repository.close()
  }
})

const badSettings: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['short secret flag', ['--jwt-secret', 'short'], {}, /invalid setting --jwt-secret: is 5 characters long; use at least 32/],
  ['short secret variable', [], { MONIT_JWT_SECRET: 'x'.repeat(31) }, /invalid setting MONIT_JWT_SECRET: is 31 characters/],
  ['zero expiry', ['--jwt-expiry', '0'], {}, /invalid setting --jwt-expiry: "0" is not an integer from 1 to 2592000/],
  ['text expiry', [], { MONIT_JWT_EXPIRY_S: '12h' }, /invalid setting MONIT_JWT_EXPIRY_S/],
  ['short admin password', [], { MONIT_ADMIN_PASSWORD: 'seven77' }, /invalid setting MONIT_ADMIN_PASSWORD: is 7 characters long; use at least 8/],
  ['zero login limit', ['--login-rate-limit', '0'], {}, /invalid setting --login-rate-limit/],
  ['negative write limit', [], { MONIT_WRITE_RATE_LIMIT: '-1' }, /invalid setting MONIT_WRITE_RATE_LIMIT/],
]

for (const [name, args, env, pattern] of badSettings) {
  test(`config rejects ${name}`, () => {
    assert.throws(() => loadControllerConfig(args, env), (err: unknown) => err instanceof ConfigError && pattern.test(err.message))
  })
}

test('config secret message hides the value', () => {
  try {
    loadControllerConfig(['--jwt-secret', 'secret-value-here'], {})
    assert.unreachable('should have thrown')
  } catch (err) {
    assert.not.match((err as Error).message, /secret-value-here/)
  }
})

test('config defaults for the auth settings', () => {
  const config = loadControllerConfig([], {})
  assert.is(config.jwtSecret, undefined)
  assert.is(config.jwtExpiryS, 43_200)
  assert.is(config.adminPassword, undefined)
  assert.is(config.loginRateLimit, 10)
  assert.is(config.writeRateLimit, 300)
})

test.run()
