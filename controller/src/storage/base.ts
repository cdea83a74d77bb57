// What both drivers share: feature detection, the DDL run by init(), row
// preparation and error wrapping. A driver supplies the five raw operations.
import type { Logger } from 'pino'
import { StorageError, toStorageError } from './errors.ts'
import { encodeRows, formatTimestamp, type EncodedRows } from './rows.ts'
import { SCHEMA, checkIdentifier, columnSql, createDatabaseSql, createDistributedTableSql, createTableSql, localTableName, type TableSettings } from './schema.ts'
import {
  DEFAULT_DATABASE,
  DEFAULT_DEDUP_WINDOW,
  DEFAULT_TTL_DAYS,
  TABLES,
  type QueryParams,
  type Storage,
  type StorageDriver,
  type StorageFeatures,
  type StorageOptions,
  type StorageRow,
  type TableName,
  type InsertOptions,
} from './types.ts'

type Row = Record<string, unknown>

export abstract class BaseStorage implements Storage {
  abstract readonly driver: StorageDriver
  readonly database: string
  readonly cluster: string | undefined
  protected readonly ttlDays: number
  protected readonly dedupWindow: number
  protected readonly logger: Logger
  #features: StorageFeatures | undefined
  #detecting: Promise<StorageFeatures> | undefined
  #initializing: Promise<void> | undefined
  #closed = false

  constructor(options: StorageOptions) {
    this.database = checkIdentifier(options.database ?? DEFAULT_DATABASE, 'database')
    this.cluster = options.cluster === undefined || options.cluster === '' ? undefined : checkIdentifier(options.cluster, 'cluster')
    this.ttlDays = options.ttlDays ?? DEFAULT_TTL_DAYS
    this.dedupWindow = options.dedupWindow ?? DEFAULT_DEDUP_WINDOW
    if (!Number.isInteger(this.ttlDays) || this.ttlDays < 1) throw new Error(`ttlDays must be a whole number of days >= 1 (got ${options.ttlDays})`)
    if (!Number.isInteger(this.dedupWindow) || this.dedupWindow < 1) throw new Error(`dedupWindow must be an integer >= 1 (got ${options.dedupWindow})`)
    this.logger = options.logger.child({ component: 'storage' })
  }

  /** Runs a statement that returns rows; params only when the caller gave some. */
  protected abstract rawSelect(sql: string, params: QueryParams | undefined): Promise<Row[]>
  protected abstract rawCommand(sql: string): Promise<void>
  /** Inserts TabSeparated rows that name every column of the table. */
  protected abstract rawInsert(table: string, rows: EncodedRows, settings: Record<string, string>): Promise<void>
  protected abstract rawPing(): Promise<void>
  protected abstract rawClose(): Promise<void>

  get features(): StorageFeatures | undefined {
    return this.#features
  }

  table(name: TableName): string {
    if (!TABLES.includes(name)) throw new Error(`unknown table ${JSON.stringify(name)}`)
    return `${this.database}.${name}`
  }

  async init(): Promise<void> {
    this.#initializing ??= this.#init().catch((err: unknown) => {
      this.#initializing = undefined // let the caller try again
      throw toStorageError(err, this.driver, 'storage init')
    })
    return this.#initializing
  }

  async insert(table: TableName, rows: readonly StorageRow[], token: string, options: InsertOptions = {}): Promise<void> {
    this.#checkOpen()
    const target = this.table(table)
    if (typeof token !== 'string' || token.length === 0) throw new StorageError('insert needs a non-empty token', { driver: this.driver, retryable: false })
    if (rows.length === 0) return
    const features = await this.#detect()
    // Without insert_deduplication_token the server cannot drop a batch stored
    // twice, so the rows carry the token and a batch that may be stored is looked up first.
    const encoded = encodeRows(table, rows, features, this.driver, features.dedupToken ? '' : token)
    if (!features.dedupToken && options.mayBeStored === true && (await this.#storedAlready(target, token, encoded))) {
      this.logger.info({ table, token, rows: rows.length }, 'batch was stored already; not inserting it again')
      return
    }
    const settings: Record<string, string> = features.dedupToken ? { insert_deduplication_token: token } : {}
    // Without insert_distributed_sync, a Distributed table acknowledges an insert once the rows
    // are in its local queue, and sends them to the shards later. The writer would then count a
    // batch as stored, and delete its spill file, before any replica has it. With the setting,
    // the insert returns once a replica of each shard has stored its part.
    if (this.cluster !== undefined) settings.insert_distributed_sync = '1'
    try {
      await this.rawInsert(target, encoded, settings)
    } catch (err) {
      throw toStorageError(err, this.driver, `insert of ${rows.length} rows into ${target}`)
    }
  }

  /** Returns true when the table has rows stored under `token` in the batch's time range. */
  async #storedAlready(target: string, token: string, batch: EncodedRows): Promise<boolean> {
    // Whole seconds on each side, because servers without DateTime64 keep insert_ts in seconds.
    const from = formatTimestamp(Math.floor(batch.firstMs / 1000) * 1000, false)
    const to = formatTimestamp(Math.ceil(batch.lastMs / 1000) * 1000, false)
    const sql = `SELECT count() AS found FROM ${target} WHERE insert_ts >= '${from}' AND insert_ts <= '${to}' AND batch_id = ${quoteString(token)}`
    try {
      const [row] = await this.rawSelect(sql, undefined)
      return Number(row?.found ?? 0) > 0
    } catch (err) {
      throw toStorageError(err, this.driver, `looking up batch ${token} in ${target}`)
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    this.#checkOpen()
    const bound = params !== undefined && Object.keys(params).length > 0 ? params : undefined
    if (bound !== undefined) {
      const features = await this.#detect()
      if (!features.queryParams) {
        throw new StorageError(`query parameters are not supported by ClickHouse ${features.version} (no {name:Type} placeholders on this server)`, {
          driver: this.driver,
          retryable: false,
        })
      }
    }
    // The HTTP client appends a FORMAT clause, which a trailing ';' would break.
    const statement = sql.trim().replace(/;+\s*$/, '')
    try {
      return (await this.rawSelect(statement, bound)) as T[]
    } catch (err) {
      throw toStorageError(err, this.driver, 'query')
    }
  }

  async command(sql: string): Promise<void> {
    this.#checkOpen()
    try {
      await this.rawCommand(sql)
    } catch (err) {
      throw toStorageError(err, this.driver, 'command')
    }
  }

  async ping(): Promise<void> {
    this.#checkOpen()
    try {
      await this.rawPing()
    } catch (err) {
      throw toStorageError(err, this.driver, 'ping')
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.rawClose()
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('storage is closed', { driver: this.driver, retryable: false })
  }

  #detect(): Promise<StorageFeatures> {
    if (this.#features) return Promise.resolve(this.#features)
    this.#detecting ??= detectFeatures((sql, params) => this.rawSelect(sql, params)).then(
      (features) => {
        this.#features = features
        return features
      },
      (err: unknown) => {
        this.#detecting = undefined
        throw toStorageError(err, this.driver, 'detecting ClickHouse features')
      },
    )
    return this.#detecting
  }

  async #init(): Promise<void> {
    this.#checkOpen()
    const features = await this.#detect()
    const missing = Object.entries(features)
      .filter(([, value]) => value === false)
      .map(([name]) => name)
    if (missing.length > 0) {
      this.logger.warn({ version: features.version, missing }, 'ClickHouse lacks some features; using the fallbacks (see StorageFeatures)')
    }
    await this.rawCommand(createDatabaseSql(this.#tableSettings()))
    for (const table of TABLES) {
      await this.#ensureTable(table, features)
      if (this.cluster !== undefined) await this.#ensureDistributedTable(table, features, this.cluster)
    }
    this.logger.info({ driver: this.driver, database: this.database, cluster: this.cluster ?? null, ttlDays: this.ttlDays, features }, 'storage ready')
  }

  #tableSettings(): TableSettings {
    return { database: this.database, ttlDays: this.ttlDays, dedupWindow: this.dedupWindow, cluster: this.cluster }
  }

  async #columnNames(table: string): Promise<Set<string>> {
    // Identifiers were checked by checkIdentifier, so they may sit in the SQL text.
    const where = `database = '${this.database}' AND table = '${table}'`
    return new Set((await this.rawSelect(`SELECT name FROM system.columns WHERE ${where}`, undefined)).map((row) => String(row.name)))
  }

  /**
   * Creates the Distributed table in front of `<table>_local`, or re-creates
   * it when it lacks a column. Re-creating loses nothing because inserts are
   * synchronous, so the table stores no rows. ALTER ... ON CLUSTER of a
   * Distributed table fails on 18.16 when the shards are replicated (code 371).
   */
  async #ensureDistributedTable(table: TableName, features: StorageFeatures, cluster: string): Promise<void> {
    const settings = { ...this.#tableSettings(), cluster }
    await this.rawCommand(createDistributedTableSql(table, features, settings))
    const existing = await this.#columnNames(table)
    const missing = SCHEMA[table].filter((column) => !existing.has(column.name)).map((column) => column.name)
    if (missing.length === 0) return
    this.logger.info({ table, cluster, missing }, 're-creating the Distributed table with the missing columns')
    await this.rawCommand(`DROP TABLE IF EXISTS ${this.database}.${table} ON CLUSTER ${cluster}`)
    await this.rawCommand(createDistributedTableSql(table, features, settings))
  }

  /**
   * Creates the table that stores the rows (`<table>_local` in cluster
   * mode), or brings one made by an older build up to date: new columns,
   * TTL, dedup window.
   */
  async #ensureTable(table: TableName, features: StorageFeatures): Promise<void> {
    await this.rawCommand(createTableSql(table, features, this.#tableSettings()))
    const local = localTableName(table, this.cluster)
    const target = `${this.database}.${local}${this.cluster === undefined ? '' : ` ON CLUSTER ${this.cluster}`}`
    const existing = await this.#columnNames(local)
    for (const column of SCHEMA[table]) {
      if (existing.has(column.name)) continue
      this.logger.info({ table: local, column: column.name }, 'adding missing column')
      await this.rawCommand(`ALTER TABLE ${target} ADD COLUMN ${columnSql(column, features)}`)
    }
    const dedupWindow = features.dedupToken && this.cluster === undefined
    if (!features.ttl && !dedupWindow) return
    const [row] = await this.rawSelect(`SELECT create_table_query FROM system.tables WHERE database = '${this.database}' AND name = '${local}'`, undefined)
    const ddl = String(row?.create_table_query ?? '')
    if (features.ttl) {
      const match = /TTL\s+insert_date\s*\+\s*(?:toIntervalDay\((\d+)\)|INTERVAL\s+(\d+)\s+DAY)/i.exec(ddl)
      const current = match ? Number(match[1] ?? match[2]) : undefined
      if (current !== this.ttlDays) {
        this.logger.warn({ table: local, from: current ?? null, to: this.ttlDays }, 'changing table TTL; ClickHouse rewrites the parts in the background')
        await this.rawCommand(`ALTER TABLE ${target} MODIFY TTL insert_date + INTERVAL ${this.ttlDays} DAY`)
      }
    }
    if (dedupWindow) {
      const match = /non_replicated_deduplication_window\s*=\s*(\d+)/.exec(ddl)
      if (!match || Number(match[1]) !== this.dedupWindow) {
        this.logger.info({ table: local, window: this.dedupWindow }, 'setting non_replicated_deduplication_window')
        await this.rawCommand(`ALTER TABLE ${target} MODIFY SETTING non_replicated_deduplication_window = ${this.dedupWindow}`)
      }
    }
  }
}

/** Returns a ClickHouse string literal of `text`, with backslashes and quotes escaped. */
function quoteString(text: string): string {
  return `'${text.replace(/[\\']/g, (char) => `\\${char}`)}'`
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version)
  if (!match) return false
  const [have, haveMinor] = [Number(match[1]), Number(match[2])]
  return have > major || (have === major && haveMinor >= minor)
}

/**
 * Asks the server what it supports, from its own tables rather than from
 * version numbers where a table answers: system.settings,
 * system.merge_tree_settings, system.data_type_families. TTL has no such
 * table (19.6 added it), and query parameters are tried once.
 */
export async function detectFeatures(select: (sql: string, params: QueryParams | undefined) => Promise<Row[]>): Promise<StorageFeatures> {
  const [versionRow] = await select('SELECT version() AS version', undefined)
  const version = String(versionRow?.version ?? '')
  const settings = new Map(
    (await select("SELECT name, value FROM system.settings WHERE name IN ('insert_deduplication_token', 'allow_experimental_low_cardinality_type')", undefined)).map(
      (row) => [String(row.name), String(row.value)],
    ),
  )
  const mergeTree = await select("SELECT name FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'", undefined)
  const types = new Set((await select("SELECT name FROM system.data_type_families WHERE name IN ('DateTime64', 'LowCardinality')", undefined)).map((row) => String(row.name)))
  let queryParams = true
  try {
    await select('SELECT {probe:UInt8} AS probe', { probe: 1 })
  } catch (err) {
    // 18.16 says "Unknown setting param_probe" (115) over HTTP, or a syntax error (62).
    const code = toStorageError(err, 'server', 'probe').clickhouseCode
    if (code !== 115 && code !== 62) throw err
    queryParams = false
  }
  const experimentalLowCardinality = settings.get('allow_experimental_low_cardinality_type')
  return {
    version,
    dateTime64: types.has('DateTime64'),
    lowCardinality: types.has('LowCardinality') && (experimentalLowCardinality === undefined || experimentalLowCardinality === '1' || experimentalLowCardinality === 'true'),
    ttl: versionAtLeast(version, 19, 6),
    dedupToken: settings.has('insert_deduplication_token') && mergeTree.length > 0,
    queryParams,
  }
}
