import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Knex } from 'knex'
import { DatabaseUrlError } from './errors.ts'

export type DatabaseConfig =
  | { client: 'sqlite'; filename: string }
  | { client: 'mysql'; host: string; port: number; user: string; password: string; database: string }

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/

/**
 * Reads a settings database URL:
 * - `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path` is absolute),
 *   `sqlite::memory:`, or a plain file path: embedded SQLite;
 * - `mysql://user:pass@host:port/db` (or `mariadb://`): MariaDB/MySQL.
 */
export function parseDatabaseUrl(url: string): DatabaseConfig {
  const trimmed = url.trim()
  if (trimmed === '') throw new DatabaseUrlError('database URL is empty')
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase()

  if (scheme === undefined) return { client: 'sqlite', filename: trimmed }

  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    let filename = trimmed.slice(scheme.length + 1)
    if (filename.startsWith('//')) filename = filename.slice(2)
    if (filename === '') throw new DatabaseUrlError(`database URL "${trimmed}" has no SQLite file path`)
    return { client: 'sqlite', filename }
  }

  if (scheme === 'mysql' || scheme === 'mariadb') {
    const shown = redactDatabaseUrl(trimmed)
    let parsed: URL
    try {
      parsed = new URL(trimmed)
    } catch {
      throw new DatabaseUrlError(`database URL "${shown}" is not a valid URL`)
    }
    if ([...parsed.searchParams.keys()].length > 0) {
      throw new DatabaseUrlError(`database URL "${shown}" has query options, which are not supported`)
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
    if (host === '') throw new DatabaseUrlError(`database URL "${shown}" has no host`)
    const port = parsed.port === '' ? 3306 : Number(parsed.port)
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
    if (database === '' || database.includes('/')) {
      throw new DatabaseUrlError(`database URL "${shown}" must name one database, as in mysql://user:pass@host:3306/monit`)
    }
    return {
      client: 'mysql',
      host,
      port,
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database,
    }
  }

  throw new DatabaseUrlError(`database URL scheme "${scheme}:" is not supported; use sqlite:PATH or mysql://user:pass@host:port/db`)
}

/** The URL with any password replaced by `***`, fit for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  // Up to the last '@', so a password holding unescaped '/' or '@' is still hidden.
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):.*@/, '$1:***@')
}

/** A one-line description of where the data lives, without secrets. */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.client === 'sqlite') return `sqlite:${config.filename}`
  const user = config.user === '' ? '' : `${encodeURIComponent(config.user)}${config.password === '' ? '' : ':***'}@`
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return `mysql://${user}${host}:${config.port}/${encodeURIComponent(config.database)}`
}

export function isMemorySqlite(config: DatabaseConfig): boolean {
  return config.client === 'sqlite' && (config.filename === ':memory:' || config.filename.startsWith('file::memory:'))
}

interface SqliteConnection {
  pragma(source: string): unknown
}

/**
 * knex settings for config. For a SQLite file, creates its folder. With
 * `withoutDatabase`, a MySQL connection names no database (to create it).
 */
export function knexConfig(config: DatabaseConfig, options: { withoutDatabase?: boolean; log?: Knex.Logger } = {}): Knex.Config {
  const log = options.log === undefined ? {} : { log: options.log }
  if (config.client === 'sqlite') {
    if (!isMemorySqlite(config)) mkdirSync(dirname(resolve(config.filename)), { recursive: true })
    const memory = isMemorySqlite(config)
    return {
      client: 'better-sqlite3',
      ...log,
      connection: { filename: config.filename },
      useNullAsDefault: true,
      pool: {
        // One connection: SQLite has one writer, and ':memory:' is per connection.
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) {
          try {
            if (!memory) conn.pragma('journal_mode = WAL')
            conn.pragma('busy_timeout = 5000')
            conn.pragma('foreign_keys = ON')
            done(null, conn)
          } catch (err) {
            done(err as Error, conn)
          }
        },
      },
    }
  }
  return {
    client: 'mysql2',
    ...log,
    connection: {
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      ...(options.withoutDatabase ? {} : { database: config.database }),
      charset: 'utf8mb4',
    },
    pool: { min: 0, max: 10 },
  }
}
