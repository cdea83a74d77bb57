// The storage interface the controller writes monitoring rows through. Two
// drivers implement it: 'embedded' (chDB, in-process) and 'server'
// (clickhouse-server over HTTP with @clickhouse/client). See index.ts for
// openStorage(), which picks one.
import type { Logger } from 'pino'

export const TABLES = ['metrics', 'statuses', 'heatmap', 'events', 'av_checks', 'playlist_checks', 'page_checks'] as const
export type TableName = (typeof TABLES)[number]

export type StorageDriver = 'embedded' | 'server'

/** One row to insert: column name to value. See rows.ts for the typed records. */
export type StorageRow = Readonly<Record<string, unknown>>

/** Values for `{name:Type}` placeholders in a query. */
export type QueryParams = Record<string, unknown>

/**
 * What the connected ClickHouse supports, found at init() from `SELECT
 * version()` and the system tables. The schema and the insert settings follow
 * it, so an old server gets tables it can create instead of an error.
 */
export interface StorageFeatures {
  /** `SELECT version()`, e.g. '26.7.2.1' (chDB) or '18.16.1' (Debian's server). */
  readonly version: string
  /** insert_ts is DateTime64(3, 'UTC'); without it DateTime('UTC'), whole seconds. */
  readonly dateTime64: boolean
  /** LowCardinality(String) columns; without it plain String. */
  readonly lowCardinality: boolean
  /** `TTL insert_date + INTERVAL N DAY`; without it rows are kept until dropped by hand. */
  readonly ttl: boolean
  /**
   * Idempotent retries: the table has `non_replicated_deduplication_window`
   * and inserts carry `insert_deduplication_token`. Without it a retried
   * batch whose first try did land is stored twice.
   */
  readonly dedupToken: boolean
  /** `{name:Type}` query parameters; without them query() refuses params. */
  readonly queryParams: boolean
}

export interface InsertOptions {
  /**
   * The rows may be stored already under this token: an earlier attempt may
   * have landed, or another controller stored them before it died.
   */
  mayBeStored?: boolean
}

export interface Storage {
  readonly driver: StorageDriver
  /** The ClickHouse database holding the tables (default 'monit'). */
  readonly database: string
  /** The cluster the tables are created on (server driver only), or undefined for one server. */
  readonly cluster: string | undefined
  /** Known after init() (or the first insert/query); undefined before. */
  readonly features: StorageFeatures | undefined
  /** Qualified table name for SQL text, e.g. `monit.metrics`. Queries must qualify their tables with it. */
  table(name: TableName): string
  /** Detects the server's features, creates the database and tables, and brings existing tables up to date. Idempotent. */
  init(): Promise<void>
  /**
   * Inserts rows in one insert. `token` is sent as
   * insert_deduplication_token: inserting the same rows again with the same
   * token stores them once. Servers without that setting get the token in
   * each row's batch_id instead, and with `mayBeStored` the insert is
   * skipped when rows with the token exist. Rows give `insert_ts` (ms since
   * the epoch, an ISO string or a Date); `insert_date` is always derived from
   * it. Rejects with StorageError (see `retryable`).
   */
  insert(table: TableName, rows: readonly StorageRow[], token: string, options?: InsertOptions): Promise<void>
  /**
   * Runs one SELECT-like statement and returns its rows (JSONEachRow).
   * Values go in `params` as `{name:Type}` placeholders, never into the SQL
   * text. 64-bit integers come back as strings (ClickHouse's JSON quoting);
   * cast in SQL or with Number() where a number is wanted.
   */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>
  /** Runs one statement without a result (DDL, ALTER, TRUNCATE...). */
  command(sql: string): Promise<void>
  /** Rejects when the database cannot be reached. */
  ping(): Promise<void>
  /** Releases the connection. Idempotent. */
  close(): Promise<void>
}

export interface StorageOptions {
  /**
   * http(s)://[user[:password]@]host:port of a clickhouse-server: selects the
   * 'server' driver. Absent or empty: the 'embedded' chDB driver.
   */
  url?: string
  /** Data folder; the embedded driver keeps its files in `${dataDir}/chdb`. */
  dataDir: string
  /** ClickHouse database name (letters, digits, underscore). Default 'monit'. */
  database?: string
  /** Rows older than this many days (by insert_date) are dropped. Default 90. */
  ttlDays?: number
  /** non_replicated_deduplication_window for the tables. Default 10000 inserts. Not used in cluster mode. */
  dedupWindow?: number
  /**
   * A cluster from the servers' remote_servers: init() creates the tables
   * ON CLUSTER as ReplicatedMergeTree `<table>_local` tables with a
   * Distributed table in front (schema.ts). Server driver only.
   */
  cluster?: string
  /** Server driver: HTTP request timeout. Default 30000 ms. */
  requestTimeoutMs?: number
  logger: Logger
}

export const DEFAULT_DATABASE = 'monit'
export const DEFAULT_TTL_DAYS = 90
export const DEFAULT_DEDUP_WINDOW = 10000
