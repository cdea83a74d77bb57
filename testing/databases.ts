// Throwaway settings databases for tests: a SQLite file in a temporary
// folder, or a MariaDB database `monit_test_<random>` on the server at
// MONIT_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306, which
// `make test` starts).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knexFactory, { type Knex } from 'knex'

export interface TestDatabase {
  /** Creates an empty database and returns its URL for `--database`. */
  setup(): Promise<string>
  /** Drops the database, or deletes the SQLite file's folder. */
  teardown(): Promise<void>
}

/** Returns a SQLite database at `file` in a new temporary folder. `file` may name subfolders, which the repository creates. */
export function sqliteDatabase(prefix = 'monit-test-', file = 'settings.db'): TestDatabase {
  let dir: string | undefined
  return {
    async setup() {
      dir = mkdtempSync(join(tmpdir(), prefix))
      return `sqlite:${join(dir, file)}`
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Returns the URL of the MariaDB server that the tests use. */
export function mysqlServerUrl(): URL {
  return new URL(process.env.MONIT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
}

/** Returns a MariaDB database with a random name, created by setup() and dropped by teardown(). */
export function mariadbDatabase(): TestDatabase {
  const base = mysqlServerUrl()
  const database = `monit_test_${randomBytes(6).toString('hex')}`
  const admin: Knex = knexFactory({
    client: 'mysql2',
    connection: {
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
      connectTimeout: 5000,
    },
    pool: { min: 0, max: 1 },
  })
  return {
    async setup() {
      try {
        await admin.raw('create database ?? character set utf8mb4 collate utf8mb4_bin', [database])
      } catch (err) {
        throw new Error(
          `MariaDB is not reachable at ${base.hostname}:${base.port || 3306} as user "${decodeURIComponent(base.username)}" ` +
            `(${(err as Error).message}). Start MariaDB (make test does) or set MONIT_TEST_MYSQL_URL=mysql://user:pass@host:port.`,
        )
      }
      const url = new URL(base.href)
      url.pathname = `/${database}`
      return url.href
    },
    async teardown() {
      await admin.raw('drop database if exists ??', [database]).catch(() => undefined)
      await admin.destroy()
    },
  }
}
