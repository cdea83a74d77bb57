// Database URL parsing, redaction, and opening the embedded SQLite forms.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  DatabaseUrlError,
  describeDatabase,
  openRepository,
  parseDatabaseUrl,
  redactDatabaseUrl,
  RepositoryError,
  type Repository,
  type RepositoryLogger,
} from '../src/repository/index.ts'

// A pino logger is a RepositoryLogger (checked by the type checker).
const silent: RepositoryLogger = pino({ level: 'silent' })

test('sqlite URLs and plain paths pick SQLite', () => {
  assert.equal(parseDatabaseUrl('sqlite::memory:'), { client: 'sqlite', filename: ':memory:' })
  assert.equal(parseDatabaseUrl('sqlite:data/monit.db'), { client: 'sqlite', filename: 'data/monit.db' })
  assert.equal(parseDatabaseUrl('sqlite:///var/lib/monit/monit.db'), { client: 'sqlite', filename: '/var/lib/monit/monit.db' })
  assert.equal(parseDatabaseUrl('sqlite://data/monit.db'), { client: 'sqlite', filename: 'data/monit.db' })
  assert.equal(parseDatabaseUrl('/var/lib/monit/monit.db'), { client: 'sqlite', filename: '/var/lib/monit/monit.db' })
  assert.equal(parseDatabaseUrl('./monit.db'), { client: 'sqlite', filename: './monit.db' })
})

test('mysql and mariadb URLs pick MySQL', () => {
  assert.equal(parseDatabaseUrl('mysql://monit:p%40ss%3Aw0rd@db.example:3307/monit'), {
    client: 'mysql',
    host: 'db.example',
    port: 3307,
    user: 'monit',
    password: 'p@ss:w0rd',
    database: 'monit',
  })
  assert.equal(parseDatabaseUrl('mariadb://root@127.0.0.1/settings'), {
    client: 'mysql',
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    password: '',
    database: 'settings',
  })
  assert.is((parseDatabaseUrl('mysql://u:p@[::1]:3306/db') as { host: string }).host, '::1')
})

test('bad URLs throw DatabaseUrlError without the password', () => {
  for (const url of ['', 'sqlite:', 'postgres://u:hunter2@h/db', 'mysql://u:hunter2@h:3306', 'mysql://u:hunter2@h:3306/a/b', 'mysql://u:hunter2@h/db?ssl=1']) {
    try {
      parseDatabaseUrl(url)
      assert.unreachable(`accepted ${url}`)
    } catch (err) {
      assert.instance(err, DatabaseUrlError)
      assert.instance(err, RepositoryError)
      assert.is((err as DatabaseUrlError).code, 'INVALID_DATABASE_URL')
      assert.not.match((err as Error).message, /hunter2/)
    }
  }
})

test('redaction hides passwords only', () => {
  assert.is(redactDatabaseUrl('mysql://monit:s3cret@db:3306/monit'), 'mysql://monit:***@db:3306/monit')
  assert.is(redactDatabaseUrl('mysql://monit:s3@cr/et@db:3306/monit'), 'mysql://monit:***@db:3306/monit')
  assert.is(redactDatabaseUrl('mysql://monit@db:3306/monit'), 'mysql://monit@db:3306/monit')
  assert.is(redactDatabaseUrl('mysql://db:3306/monit'), 'mysql://db:3306/monit')
  assert.is(redactDatabaseUrl('sqlite:/tmp/x.db'), 'sqlite:/tmp/x.db')
  assert.is(describeDatabase(parseDatabaseUrl('mysql://monit:s3cret@db/monit')), 'mysql://monit:***@db:3306/monit')
  assert.is(describeDatabase(parseDatabaseUrl('mysql://monit@db/monit')), 'mysql://monit@db:3306/monit')
})

test('sqlite::memory: opens, migrates and works', async () => {
  const lines: string[] = []
  const repo = await openRepository('sqlite::memory:', { info: (obj, msg) => void lines.push(`${msg} ${JSON.stringify(obj)}`) })
  try {
    await repo.createStream({ id: 'm', url: 'http://example.test/m' })
    assert.is((await repo.listStreams()).length, 1)
    assert.ok(lines.some((line) => line.includes('0001_initial')))
  } finally {
    await repo.close()
  }
})

test('a plain path opens SQLite and creates its folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'monit-repository-url-'))
  try {
    const path = join(dir, 'a', 'b', 'monit.db')
    const repo = await openRepository(path, silent)
    await repo.createStream({ id: 'p', url: 'http://example.test/p' })
    await repo.close()
    const reopened = await openRepository(`sqlite:${path}`, silent)
    assert.is((await reopened.getStream('p'))?.url, 'http://example.test/p')
    await reopened.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a failed MySQL open names the database but never the password', async () => {
  const base = new URL(process.env.MONIT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const url = `mysql://monit_no_such_user:Sup3rS3cretPw@${base.host}/monit_test_never_created`
  const lines: string[] = []
  try {
    await openRepository(url, { info: (obj, msg) => void lines.push(`${msg} ${JSON.stringify(obj)}`) })
    assert.unreachable('opened with a made-up user')
  } catch (err) {
    assert.instance(err, RepositoryError)
    assert.is((err as RepositoryError).code, 'DATABASE_OPEN_FAILED')
    assert.match((err as Error).message, /monit_test_never_created/)
    assert.not.match((err as Error).message, /Sup3rS3cretPw/)
  }
  assert.ok(lines.length > 0)
  for (const line of lines) assert.not.match(line, /Sup3rS3cretPw/)
})

test('opening a MySQL URL creates a missing database', async () => {
  const base = new URL(process.env.MONIT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const url = new URL(base.href)
  url.pathname = `/monit_test_${randomBytes(6).toString('hex')}`
  const lines: string[] = []
  let repo: Repository | undefined
  try {
    repo = await openRepository(url.href, { info: (_obj, msg) => void lines.push(msg ?? '') })
  } catch (err) {
    throw new Error(`MariaDB is not reachable at ${base.host} (${(err as Error).message}); start it (CI does) or set MONIT_TEST_MYSQL_URL`)
  }
  try {
    assert.ok(lines.includes('created settings database'))
    await repo.createStream({ id: 'x', url: 'http://example.test/x' })
    assert.is((await repo.getStream('x'))?.id, 'x')
  } finally {
    await repo.knex.raw('drop database if exists ??', [url.pathname.slice(1)]).catch(() => undefined)
    await repo.close()
  }
})

test.run()
