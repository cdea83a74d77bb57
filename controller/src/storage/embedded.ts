// The 'embedded' driver: chDB, ClickHouse inside this process. Data lives in
// `${dataDir}/chdb`. chDB binds one data folder per process, so every
// EmbeddedStorage shares one reference-counted set of sessions on it.
// Storages that need to be apart (tests) use different databases in them.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Session } from 'chdb'
import { BaseStorage } from './base.ts'
import { StorageError } from './errors.ts'
import type { EncodedRows } from './rows.ts'
import type { QueryParams, StorageOptions } from './types.ts'

type Chdb = typeof import('chdb')

interface SharedSession {
  readonly path: string
  /** Queries run on the first session, and inserts take turns over all of them. */
  readonly sessions: readonly Session[]
  readonly chdb: Chdb
  refs: number
  /** Index of the session the next insert uses. */
  nextInsert: number
}

/**
 * Sessions opened on the data folder. chDB 3.4 runs one statement at a time
 * per session: concurrent inserts on one session took as long as sequential
 * ones here. Sessions on the same folder are separate connections, so two
 * let the writer's concurrent inserts run side by side in the engine.
 */
const SESSIONS = 2

let shared: SharedSession | undefined

/**
 * Splits an insert's text into 1 MiB chunks that the engine's threads parse
 * side by side. The default, 10 MiB, is more than a batch of 10,000 rows,
 * which was then parsed on one thread.
 */
export const PARSE_SETTINGS = { min_chunk_bytes_for_parallel_parsing: String(1 << 20) }

/**
 * Engine arguments fixed at connect. 64-bit integers are quoted in JSON
 * output as clickhouse-server does by default, so both drivers give the same
 * rows and no value past 2^53 is silently rounded.
 */
const CONNECTION_ARGS = ['--output_format_json_quote_64bit_integers=1']

async function acquireSession(path: string): Promise<SharedSession> {
  // Loaded here, not at the top: the library is ~540 MB and the server driver never needs it.
  const chdb: Chdb = await import('chdb')
  // From here on nothing awaits, so two concurrent opens cannot both create a session.
  if (shared) {
    if (shared.path !== path) {
      throw new StorageError(`chDB already has ${shared.path} open in this process; it allows one data folder per process (asked for ${path})`, {
        driver: 'embedded',
        retryable: false,
      })
    }
    shared.refs += 1
    return shared
  }
  mkdirSync(path, { recursive: true })
  const sessions = Array.from({ length: SESSIONS }, () => new chdb.Session(path, { connectionArgs: CONNECTION_ARGS }))
  shared = { path, sessions, chdb, refs: 1, nextInsert: 0 }
  return shared
}

async function releaseSession(entry: SharedSession): Promise<void> {
  entry.refs -= 1
  if (entry.refs > 0 || shared !== entry) return
  shared = undefined
  for (const session of entry.sessions) session.close()
  // close() returns before the engine lets go when work is still in flight;
  // wait, so that another folder can be opened afterwards.
  await entry.chdb.drainPending()
}

function parseJsonEachRow(text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = []
  for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as Record<string, unknown>)
  return rows
}

export class EmbeddedStorage extends BaseStorage {
  readonly driver = 'embedded' as const
  readonly path: string
  readonly #entry: SharedSession

  private constructor(options: StorageOptions, entry: SharedSession) {
    super(options)
    this.path = entry.path
    this.#entry = entry
  }

  static async open(options: StorageOptions): Promise<EmbeddedStorage> {
    const path = resolve(join(options.dataDir, 'chdb'))
    const entry = await acquireSession(path)
    try {
      const storage = new EmbeddedStorage(options, entry)
      storage.logger.info({ driver: 'embedded', path, database: storage.database }, 'opened chDB')
      return storage
    } catch (err) {
      await releaseSession(entry)
      throw err
    }
  }

  protected async rawSelect(sql: string, params: QueryParams | undefined): Promise<Record<string, unknown>[]> {
    const session = this.#entry.sessions[0]!
    const result =
      params === undefined
        ? await session.queryAsync(sql, { format: 'JSONEachRow' })
        : await session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
    return parseJsonEachRow(result.text())
  }

  protected async rawCommand(sql: string): Promise<void> {
    await this.#entry.sessions[0]!.queryAsync(sql, { format: 'TabSeparated' })
  }

  protected async rawInsert(table: string, rows: EncodedRows, settings: Record<string, string>): Promise<void> {
    // Raw bytes: the engine parses them off the event loop.
    const entry = this.#entry
    const session = entry.sessions[entry.nextInsert]!
    entry.nextInsert = (entry.nextInsert + 1) % entry.sessions.length
    await session.insert({ table, values: Buffer.from(rows.body), format: 'TabSeparated', columns: rows.columns, settings: { ...PARSE_SETTINGS, ...settings } })
  }

  protected async rawPing(): Promise<void> {
    await this.#entry.sessions[0]!.queryAsync('SELECT 1', { format: 'TabSeparated' })
  }

  protected async rawClose(): Promise<void> {
    await releaseSession(this.#entry)
  }
}
