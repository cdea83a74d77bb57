// The 'server' driver: a clickhouse-server over HTTP(S), through
// @clickhouse/client. Credentials may be given in the URL; they are taken out
// of it before the URL is logged or handed on.
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type Logger as ClientLogger, type LogParams } from '@clickhouse/client'
import { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { BaseStorage } from './base.ts'
import type { EncodedRows } from './rows.ts'
import type { QueryParams, StorageOptions } from './types.ts'

export interface ServerAddress {
  /** scheme://host:port[/path] without credentials: safe to log. */
  readonly url: string
  readonly origin: string
  readonly pathname: string | undefined
  readonly username: string | undefined
  readonly password: string | undefined
}

/** Splits credentials off an http(s) URL. Throws on any other scheme. */
export function parseServerUrl(raw: string): ServerAddress {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error('storage url is not a valid URL') // the text may hold a password: do not echo it
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`storage url must be http(s)://, not ${url.protocol}//`)
  const username = url.username === '' ? undefined : decodeURIComponent(url.username)
  const password = url.password === '' ? undefined : decodeURIComponent(url.password)
  const pathname = url.pathname === '/' || url.pathname === '' ? undefined : url.pathname
  return { url: `${url.origin}${pathname ?? ''}`, origin: url.origin, pathname, username, password }
}

/** Routes the client's own log lines into pino. Its errors are thrown to us as well, so they go out at debug. */
function clientLoggerClass(logger: Logger): new () => ClientLogger {
  const emit = (level: 'debug' | 'info' | 'warn', params: LogParams & { err?: Error }) =>
    logger[level]({ module: params.module, args: params.args, err: params.err }, params.message)
  return class implements ClientLogger {
    trace(params: LogParams) {
      emit('debug', params)
    }
    debug(params: LogParams) {
      emit('debug', params)
    }
    info(params: LogParams) {
      emit('info', params)
    }
    warn(params: LogParams & { err?: Error }) {
      emit('warn', params)
    }
    error(params: LogParams & { err: Error }) {
      emit('debug', params)
    }
  }
}

export class ServerStorage extends BaseStorage {
  readonly driver = 'server' as const
  /** The server URL without credentials. */
  readonly url: string
  readonly #client: ClickHouseClient

  private constructor(options: StorageOptions & { url: string }) {
    super(options)
    const address = parseServerUrl(options.url)
    this.url = address.url
    this.#client = createClient({
      url: address.origin,
      pathname: address.pathname,
      username: address.username ?? 'default',
      password: address.password ?? '',
      application: 'monit-controller',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // Same JSON as the embedded driver; every server version knows this setting.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      log: { LoggerClass: clientLoggerClass(this.logger.child({ driver: 'server' })), level: ClickHouseLogLevel.WARN },
    })
  }

  static async open(options: StorageOptions & { url: string }): Promise<ServerStorage> {
    const storage = new ServerStorage(options)
    storage.logger.info({ driver: 'server', url: storage.url, database: storage.database }, 'using clickhouse-server')
    return storage
  }

  protected async rawSelect(sql: string, params: QueryParams | undefined): Promise<Record<string, unknown>[]> {
    const result = await this.#client.query({ query: sql, format: 'JSONEachRow', query_params: params })
    return result.json<Record<string, unknown>>()
  }

  protected async rawCommand(sql: string): Promise<void> {
    await this.#client.command({ query: sql })
  }

  protected async rawInsert(table: string, rows: EncodedRows, settings: Record<string, string>): Promise<void> {
    // A byte stream, which the client sends as it is; arrays it would serialize as JSON.
    const values = Readable.from([Buffer.from(rows.body)], { objectMode: false })
    await this.#client.insert({ table, values, format: 'TabSeparated', columns: [...rows.columns] as [string, ...string[]], clickhouse_settings: settings })
  }

  protected async rawPing(): Promise<void> {
    const result = await this.#client.ping()
    if (!result.success) throw result.error
  }

  protected async rawClose(): Promise<void> {
    await this.#client.close()
  }
}
