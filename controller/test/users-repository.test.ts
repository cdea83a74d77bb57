// The users table and UserStore on both settings databases: SQLite in a
// temporary file, and MariaDB in a throwaway database `monit_test_<random>`
// (MONIT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  DuplicateUserError,
  LastAdminError,
  openRepository,
  UserNotFoundError,
  type Repository,
} from '../src/repository/index.ts'
import * as usersMigration from '../src/repository/migrations/0002_users.ts'
import { parseUserSettings } from '../src/repository/users.ts'
import { mariadbDatabase, sqliteDatabase, type TestDatabase } from '../../testing/databases.ts'

interface State {
  repo: Repository
  clock: { ms: number }
  setupError?: Error
}

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
const HASH = '$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA'
const silent = { info: () => undefined }

function defineSuite(name: string, backend: TestDatabase): void {
  const test = suite<State>(`users on ${name}`, {} as State)

  test.before(async (state) => {
    try {
      const url = await backend.setup()
      state.clock = { ms: T0 }
      state.repo = await openRepository(url, silent, { now: () => state.clock.ms })
    } catch (err) {
      state.setupError = err as Error
    }
  })

  // A setup failure fails every test with its message (uvu hides errors thrown by before).
  test.before.each((state) => {
    if (state.setupError) throw state.setupError
  })

  test.after(async (state) => {
    await state.repo?.close()
    await backend.teardown()
  })

  test('migration creates the users table', async ({ repo }) => {
    const columns = ['id', 'password_hash', 'role', 'settings', 'token_version', 'created_at', 'updated_at', 'last_login_at']
    for (const column of columns) assert.ok(await repo.knex.schema.hasColumn('users', column), `users.${column}`)
  })

  test('users migration rolls back and reapplies', async ({ repo }) => {
    await usersMigration.down(repo.knex)
    assert.not.ok(await repo.knex.schema.hasTable('users'))
    await usersMigration.up(repo.knex)
    assert.ok(await repo.knex.schema.hasTable('users'))
  })

  test('create and get a user', async ({ repo, clock }) => {
    const settings = { time_zone: 'Europe/Paris', default_streams: ['news-1'] }
    const created = await repo.users.create({ id: 'alice', password_hash: HASH, role: 'operator', settings })
    assert.equal(created, {
      id: 'alice',
      role: 'operator',
      settings,
      created_at: new Date(clock.ms).toISOString(),
      updated_at: new Date(clock.ms).toISOString(),
      last_login_at: null,
    })
    assert.equal(await repo.users.get('alice'), created)
    assert.equal(await repo.users.getCredentials('alice'), { id: 'alice', role: 'operator', password_hash: HASH, token_version: 0 })
    assert.is(await repo.users.get('nobody'), undefined)
    assert.is(await repo.users.getCredentials('nobody'), undefined)
  })

  test('duplicate id is rejected', async ({ repo }) => {
    try {
      await repo.users.create({ id: 'alice', password_hash: HASH, role: 'viewer' })
      assert.unreachable('should have thrown')
    } catch (err) {
      assert.instance(err, DuplicateUserError)
    }
  })

  test('ids are case-sensitive', async ({ repo }) => {
    await repo.users.create({ id: 'Alice', password_hash: HASH, role: 'viewer' })
    assert.is((await repo.users.get('Alice'))?.role, 'viewer')
    assert.is((await repo.users.get('alice'))?.role, 'operator')
  })

  test('list orders by id and counts', async ({ repo }) => {
    await repo.users.create({ id: 'boss', password_hash: HASH, role: 'admin' })
    assert.equal((await repo.users.list()).map((user) => user.id), ['Alice', 'alice', 'boss'])
    assert.is(await repo.users.count(), 3)
  })

  test('update changes role and settings', async ({ repo, clock }) => {
    clock.ms = T0 + 1000
    const updated = await repo.users.update('alice', { role: 'viewer', settings: { time_zone: 'Asia/Tokyo' } })
    assert.is(updated.role, 'viewer')
    assert.equal(updated.settings, { time_zone: 'Asia/Tokyo' })
    assert.is(updated.updated_at, new Date(T0 + 1000).toISOString())
    assert.is(updated.created_at, new Date(T0).toISOString())
    assert.is((await repo.users.getCredentials('alice'))?.token_version, 0, 'no password change, same version')
  })

  test('password change increments token_version', async ({ repo }) => {
    await repo.users.update('alice', { password_hash: `${HASH}x` })
    await repo.users.update('alice', { password_hash: `${HASH}y` })
    const credentials = await repo.users.getCredentials('alice')
    assert.is(credentials?.password_hash, `${HASH}y`)
    assert.is(credentials?.token_version, 2)
  })

  test('rehash keeps token_version', async ({ repo }) => {
    await repo.users.replacePasswordHash('alice', HASH)
    const credentials = await repo.users.getCredentials('alice')
    assert.is(credentials?.password_hash, HASH)
    assert.is(credentials?.token_version, 2)
  })

  test('update of an unknown user throws', async ({ repo }) => {
    try {
      await repo.users.update('nobody', { role: 'viewer' })
      assert.unreachable('should have thrown')
    } catch (err) {
      assert.instance(err, UserNotFoundError)
    }
  })

  test('recordLogin stores the time', async ({ repo }) => {
    await repo.users.recordLogin('alice', T0 + 5000)
    assert.is((await repo.users.get('alice'))?.last_login_at, new Date(T0 + 5000).toISOString())
  })

  test('last admin cannot be demoted or deleted', async ({ repo }) => {
    for (const attempt of [() => repo.users.update('boss', { role: 'operator' }), () => repo.users.delete('boss')]) {
      try {
        await attempt()
        assert.unreachable('should have thrown')
      } catch (err) {
        assert.instance(err, LastAdminError)
      }
    }
    assert.is((await repo.users.get('boss'))?.role, 'admin')
  })

  test('concurrent deletes keep one admin', async ({ repo }) => {
    await repo.users.create({ id: 'boss-2', password_hash: HASH, role: 'admin' })
    const results = await Promise.allSettled([repo.users.delete('boss'), repo.users.delete('boss-2')])
    const deleted = results.filter((result) => result.status === 'fulfilled' && result.value === true)
    const rejected = results.filter((result) => result.status === 'rejected' && result.reason instanceof LastAdminError)
    assert.is(deleted.length, 1, JSON.stringify(results))
    assert.is(rejected.length, 1, JSON.stringify(results))
    const admins = (await repo.users.list()).filter((user) => user.role === 'admin')
    assert.is(admins.length, 1)
  })

  test('delete removes a user once', async ({ repo }) => {
    assert.ok(await repo.users.delete('Alice'))
    assert.not.ok(await repo.users.delete('Alice'))
    assert.is(await repo.users.get('Alice'), undefined)
  })

  test('settings with bad JSON read as empty', async ({ repo }) => {
    await repo.knex('users').where({ id: 'alice' }).update({ settings: 'not json' })
    assert.equal((await repo.users.get('alice'))?.settings, {})
  })

  test('unknown stored role reads as viewer', async ({ repo }) => {
    await repo.knex('users').where({ id: 'alice' }).update({ role: 'wizard' })
    assert.is((await repo.users.get('alice'))?.role, 'viewer')
    assert.is((await repo.users.getCredentials('alice'))?.role, 'viewer')
  })

  test.run()
}

const settingsCases: Array<[string, string, object]> = [
  ['array', '[1, 2]', {}],
  ['null', 'null', {}],
  ['wrong field types', '{"time_zone": 5, "default_streams": "news-1"}', {}],
  ['mixed stream list', '{"default_streams": ["a", 2]}', {}],
  ['good fields', '{"time_zone": "UTC", "default_streams": ["a"], "extra": 1}', { time_zone: 'UTC', default_streams: ['a'] }],
]

const parsing = suite('parseUserSettings')
for (const [name, text, expected] of settingsCases) {
  parsing(`reads ${name}`, () => {
    assert.equal(parseUserSettings(text), expected)
  })
}

defineSuite('sqlite', sqliteDatabase('monit-users-'))
defineSuite('mariadb', mariadbDatabase())
parsing.run()
