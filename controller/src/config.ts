import { parseArgs } from 'node:util'
import { resolve } from 'node:path'

/** Log levels pino accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface ControllerConfig {
  /** Address the HTTP API and agent hub listen on. */
  host: string
  port: number
  /** Folder for the SQLite file, the chDB data and spills. */
  dataDir: string
  /** `sqlite:PATH` or `mysql://user:pass@host:port/db`. */
  databaseUrl: string
  /** ClickHouse server URL (`http(s)://`), or undefined for embedded chDB. */
  clickhouseUrl: string | undefined
  clickhouseDatabase: string
  ttlDays: number
  /** A fixed agent token accepted besides the ones stored in the repository. */
  agentToken: string | undefined
  /** Seconds a disconnected agent keeps its streams before they move. */
  reassignGraceS: number
  heartbeatIntervalS: number
  flushRows: number
  flushMs: number
  logLevel: LogLevel
  /** Start one agent process next to the controller (the one-machine setup). */
  localAgent: boolean
}

/** Raised for a setting that is missing or out of range; names the setting. */
export class ConfigError extends Error {
  readonly setting: string

  constructor(setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`)
    this.name = 'ConfigError'
    this.setting = setting
  }
}

interface OptionSpec {
  flag: string
  env: string
  help: string
  type: 'string' | 'boolean'
}

export const CONTROLLER_OPTIONS: readonly OptionSpec[] = [
  { flag: 'listen', env: 'MONIT_LISTEN', type: 'string', help: 'HOST:PORT for the API and agent hub (default 127.0.0.1:8080)' },
  { flag: 'data-dir', env: 'MONIT_DATA_DIR', type: 'string', help: 'folder for SQLite, chDB and spills (default ./data)' },
  { flag: 'database', env: 'MONIT_DATABASE', type: 'string', help: 'sqlite:PATH or mysql://user:pass@host:port/db (default sqlite:DATA_DIR/monit.sqlite)' },
  { flag: 'clickhouse', env: 'MONIT_CLICKHOUSE', type: 'string', help: 'ClickHouse server http(s):// URL (default: embedded chDB under DATA_DIR)' },
  { flag: 'clickhouse-database', env: 'MONIT_CLICKHOUSE_DATABASE', type: 'string', help: 'ClickHouse database name (default monit)' },
  { flag: 'ttl-days', env: 'MONIT_TTL_DAYS', type: 'string', help: 'days ClickHouse keeps rows (default 90)' },
  { flag: 'agent-token', env: 'MONIT_AGENT_TOKEN', type: 'string', help: 'a fixed agent token, besides tokens made with "tokens create"' },
  { flag: 'reassign-grace', env: 'MONIT_REASSIGN_GRACE_S', type: 'string', help: 'seconds before a lost agent\'s streams move (default 10)' },
  { flag: 'heartbeat-interval', env: 'MONIT_HEARTBEAT_INTERVAL_S', type: 'string', help: 'seconds between agent heartbeats (default 15)' },
  { flag: 'flush-rows', env: 'MONIT_FLUSH_ROWS', type: 'string', help: 'rows that trigger a ClickHouse write (default 10000)' },
  { flag: 'flush-ms', env: 'MONIT_FLUSH_MS', type: 'string', help: 'milliseconds after which buffered rows are written (default 1000)' },
  { flag: 'log-level', env: 'MONIT_LOG_LEVEL', type: 'string', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
  { flag: 'local-agent', env: 'MONIT_LOCAL_AGENT', type: 'boolean', help: 'also start one agent on this machine' },
]

function parseInteger(setting: string, raw: string, min: number, max: number): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(setting, `"${raw}" is not an integer from ${min} to ${max}`)
  }
  return value
}

function parseListen(setting: string, raw: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d+)$/.exec(raw)
  if (!match) throw new ConfigError(setting, `"${raw}" is not HOST:PORT, for example 127.0.0.1:8080`)
  const host = match[1]!.replace(/^\[|\]$/g, '')
  return { host, port: parseInteger(setting, match[2]!, 0, 65535) }
}

function parseBoolean(setting: string, raw: string): boolean {
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off', ''].includes(raw)) return false
  throw new ConfigError(setting, `"${raw}" is not a boolean; use true or false`)
}

function checkDatabaseUrl(setting: string, url: string): string {
  if (url.startsWith('sqlite:') || url.startsWith('mysql://')) return url
  throw new ConfigError(setting, `"${url.split('://')[0]}" is not supported; use sqlite:PATH or mysql://user:pass@host:port/db`)
}

function checkClickhouseUrl(setting: string, url: string): string {
  if (/^https?:\/\//.test(url)) return url
  throw new ConfigError(setting, 'use an http:// or https:// URL of a ClickHouse server, or leave it unset for embedded chDB')
}

/**
 * Reads the controller settings from flags, then `MONIT_*` variables, then
 * defaults, and checks each one. Throws ConfigError naming the bad setting.
 */
export function loadControllerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const options = Object.fromEntries(CONTROLLER_OPTIONS.map((option) => [option.flag, { type: option.type }]))
  let parsed: Record<string, string | boolean | undefined>
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof parsed
  } catch (error) {
    throw new ConfigError('(command line)', (error as Error).message)
  }

  // Each lookup returns [the name to report, the raw value] from the flag or its variable.
  const read = (flag: string): [string, string | undefined] => {
    const spec = CONTROLLER_OPTIONS.find((option) => option.flag === flag)!
    const value = parsed[flag]
    if (value !== undefined) return [`--${flag}`, String(value)]
    return [spec.env, env[spec.env]]
  }

  const [listenName, listen = '127.0.0.1:8080'] = read('listen')
  const { host, port } = parseListen(listenName, listen)
  const dataDir = resolve(read('data-dir')[1] ?? './data')
  const [databaseName, database = `sqlite:${resolve(dataDir, 'monit.sqlite')}`] = read('database')
  const [clickhouseName, clickhouse] = read('clickhouse')
  const [logLevelName, logLevel = 'info'] = read('log-level')
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(logLevelName, `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`)
  }
  const integer = (flag: string, fallback: number, min: number, max: number): number => {
    const [name, raw] = read(flag)
    return raw === undefined ? fallback : parseInteger(name, raw, min, max)
  }
  const [localAgentName, localAgent = 'false'] = read('local-agent')
  const clickhouseDatabase = read('clickhouse-database')[1] ?? 'monit'
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(clickhouseDatabase)) {
    throw new ConfigError('MONIT_CLICKHOUSE_DATABASE', `"${clickhouseDatabase}" is not a plain identifier`)
  }

  return {
    host,
    port,
    dataDir,
    databaseUrl: checkDatabaseUrl(databaseName, database),
    clickhouseUrl: clickhouse === undefined || clickhouse === '' ? undefined : checkClickhouseUrl(clickhouseName, clickhouse),
    clickhouseDatabase,
    ttlDays: integer('ttl-days', 90, 1, 36500),
    agentToken: read('agent-token')[1] || undefined,
    reassignGraceS: integer('reassign-grace', 10, 0, 3600),
    heartbeatIntervalS: integer('heartbeat-interval', 15, 1, 3600),
    flushRows: integer('flush-rows', 10000, 1, 1_000_000),
    flushMs: integer('flush-ms', 1000, 10, 600_000),
    logLevel: logLevel as LogLevel,
    localAgent: parseBoolean(localAgentName, localAgent),
  }
}

/** Formats the option list for `--help`. */
export function controllerHelp(): string {
  const lines = CONTROLLER_OPTIONS.map((option) => {
    const flag = option.type === 'boolean' ? `--${option.flag}` : `--${option.flag} VALUE`
    return `  ${flag.padEnd(28)} ${option.env.padEnd(28)} ${option.help}`
  })
  return lines.join('\n')
}
