import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'

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
  /** Cluster (from the ClickHouse servers' remote_servers) that the tables are created on, or undefined for one server. */
  clickhouseCluster: string | undefined
  ttlDays: number
  /** A fixed agent token accepted besides the ones stored in the repository. */
  agentToken: string | undefined
  /** Seconds a disconnected agent keeps its streams before they move. */
  reassignGraceS: number
  /** Load share gap between agents that makes the scheduler move kept streams; 0 turns rebalancing off. */
  rebalanceThreshold: number
  /** Run as one of several controllers on one MySQL database, with a leader chosen by a lease. */
  cluster: boolean
  /** This controller's id in the lease and in the agents' presence. */
  controllerId: string
  /** Seconds the scheduler lease lasts without renewal; the leader renews it every third of that. */
  leaseTtlS: number
  heartbeatIntervalS: number
  /** Seconds between checks that each connected agent's token is still valid. */
  tokenRecheckS: number
  flushRows: number
  flushMs: number
  /** Rows each ClickHouse writer keeps in memory; past it batches go to the spill. */
  bufferRows: number
  /** Bytes of spill files kept under DATA_DIR/spill while ClickHouse cannot take rows; 0 turns spilling off. */
  spillMaxBytes: number
  logLevel: LogLevel
  /** Start one agent process next to the controller (the one-machine setup). */
  localAgent: boolean
  /** Peers whose X-Forwarded-For gives the client address: IP addresses, CIDR ranges or proxy-addr names. */
  trustedProxies: string[]
  /** MaxMind DB file (`.mmdb`) for the country and region of player beacons; undefined leaves them empty. */
  geoipDb: string | undefined
  /** Requests per client address per minute on each player beacon route; 0 turns the limit off. */
  beaconRateLimit: number
  /** HS256 key for API tokens, or undefined to use the one stored in DATA_DIR/jwt-secret. */
  jwtSecret: string | undefined
  /** Seconds an API token stays valid. */
  jwtExpiryS: number
  /** Password of the `admin` user created when the users table is empty; undefined: random. */
  adminPassword: string | undefined
  /** Login attempts allowed per client address per minute. */
  loginRateLimit: number
  /** POST and DELETE API requests allowed per user per minute. */
  writeRateLimit: number
  /** Bearer token that GET /metrics requires; undefined leaves the route public. */
  metricsToken: string | undefined
  /** Live feed connections this process serves at once. */
  liveMaxSubscribers: number
  /** Seconds between the live feed's viewers messages. */
  liveViewersIntervalS: number
  /** Seconds a heatmap beacon keeps its viewer counted in the live feed. */
  liveViewerWindowS: number
  /** (stream, viewer) pairs that the live feed's viewer counter keeps in memory. */
  liveMaxViewers: number
  /** Screenshots kept per stream under DATA_DIR/screenshots. */
  screenshotKeep: number
  /** Seconds a screenshot is kept. */
  screenshotMaxAgeS: number
}

/** Returns an id unique to this process: host name, process id and a random suffix. */
function defaultControllerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'controller'
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`
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
  {
    flag: 'clickhouse-cluster',
    env: 'MONIT_CLICKHOUSE_CLUSTER',
    type: 'string',
    help: 'ClickHouse cluster from remote_servers: tables are created ON CLUSTER as replicated tables behind Distributed ones; needs --clickhouse (default none)',
  },
  { flag: 'ttl-days', env: 'MONIT_TTL_DAYS', type: 'string', help: 'days ClickHouse keeps rows (default 90)' },
  { flag: 'agent-token', env: 'MONIT_AGENT_TOKEN', type: 'string', help: 'a fixed agent token, besides tokens made with "tokens create"' },
  { flag: 'reassign-grace', env: 'MONIT_REASSIGN_GRACE_S', type: 'string', help: 'seconds before a lost agent\'s streams move (default 10)' },
  {
    flag: 'rebalance-threshold',
    env: 'MONIT_REBALANCE_THRESHOLD',
    type: 'string',
    help: 'gap between agents\' load shares (load / capacity, 0 to 1) that moves streams to balance them; 0 turns it off (default 0.25)',
  },
  { flag: 'heartbeat-interval', env: 'MONIT_HEARTBEAT_INTERVAL_S', type: 'string', help: 'seconds between agent heartbeats (default 15)' },
  {
    flag: 'token-recheck',
    env: 'MONIT_TOKEN_RECHECK_S',
    type: 'string',
    help: 'seconds between checks that a connected agent\'s token is not revoked (default 30)',
  },
  { flag: 'flush-rows', env: 'MONIT_FLUSH_ROWS', type: 'string', help: 'rows that trigger a ClickHouse write (default 10000)' },
  { flag: 'flush-ms', env: 'MONIT_FLUSH_MS', type: 'string', help: 'milliseconds after which buffered rows are written (default 1000)' },
  {
    flag: 'buffer-rows',
    env: 'MONIT_BUFFER_ROWS',
    type: 'string',
    help: 'rows each ClickHouse table writer keeps in memory before it spills to disk (default 100000)',
  },
  {
    flag: 'spill-max-bytes',
    env: 'MONIT_SPILL_MAX_BYTES',
    type: 'string',
    help: 'disk space for rows ClickHouse cannot take yet, in bytes or with KiB, MiB, GiB; 0 turns it off (default 1GiB)',
  },
  { flag: 'log-level', env: 'MONIT_LOG_LEVEL', type: 'string', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
  { flag: 'local-agent', env: 'MONIT_LOCAL_AGENT', type: 'boolean', help: 'also start one agent on this machine' },
  {
    flag: 'cluster',
    env: 'MONIT_CLUSTER',
    type: 'boolean',
    help: 'run as one of several controllers sharing one mysql:// database; one at a time places streams, chosen by a lease (default false)',
  },
  { flag: 'controller-id', env: 'MONIT_CONTROLLER_ID', type: 'string', help: 'id of this controller among several (default HOSTNAME-PID-RANDOM)' },
  { flag: 'lease-ttl', env: 'MONIT_LEASE_TTL_S', type: 'string', help: 'seconds the scheduler lease lasts unless renewed, with --cluster (default 10)' },
  {
    flag: 'trusted-proxies',
    env: 'MONIT_TRUSTED_PROXIES',
    type: 'string',
    help: 'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is trusted (default none)',
  },
  {
    flag: 'geoip-db',
    env: 'MONIT_GEOIP_DB',
    type: 'string',
    help: 'MaxMind .mmdb file for beacon country and region (default none)',
  },
  {
    flag: 'beacon-rate-limit',
    env: 'MONIT_BEACON_RATE_LIMIT',
    type: 'string',
    help: 'player beacon requests per client address per minute, per route; 0 for no limit (default 600)',
  },
  {
    flag: 'jwt-secret',
    env: 'MONIT_JWT_SECRET',
    type: 'string',
    help: 'key that signs API tokens, 32 or more characters (default: generated once into DATA_DIR/jwt-secret)',
  },
  { flag: 'jwt-expiry', env: 'MONIT_JWT_EXPIRY_S', type: 'string', help: 'seconds an API token stays valid (default 43200, 12 h)' },
  {
    flag: 'admin-password',
    env: 'MONIT_ADMIN_PASSWORD',
    type: 'string',
    help: 'password of the admin user created when there are no users (default: random, printed once)',
  },
  { flag: 'login-rate-limit', env: 'MONIT_LOGIN_RATE_LIMIT', type: 'string', help: 'login attempts per client address per minute (default 10)' },
  { flag: 'write-rate-limit', env: 'MONIT_WRITE_RATE_LIMIT', type: 'string', help: 'POST and DELETE API requests per user per minute (default 300)' },
  {
    flag: 'metrics-token',
    env: 'MONIT_METRICS_TOKEN',
    type: 'string',
    help: 'bearer token that GET /metrics requires (default none: /metrics is public)',
  },
  {
    flag: 'live-max-subscribers',
    env: 'MONIT_LIVE_MAX_SUBSCRIBERS',
    type: 'string',
    help: 'live feed WebSocket connections per controller process (default 1000)',
  },
  {
    flag: 'live-viewers-interval',
    env: 'MONIT_LIVE_VIEWERS_INTERVAL_S',
    type: 'string',
    help: 'seconds between live feed viewer counts (default 5)',
  },
  {
    flag: 'live-viewer-window',
    env: 'MONIT_LIVE_VIEWER_WINDOW_S',
    type: 'string',
    help: 'seconds a heatmap beacon keeps its viewer counted in the live feed (default 60)',
  },
  {
    flag: 'live-max-viewers',
    env: 'MONIT_LIVE_MAX_VIEWERS',
    type: 'string',
    help: 'stream and viewer pairs the live feed counts in memory; past it the oldest are dropped (default 200000)',
  },
  {
    flag: 'screenshot-keep',
    env: 'MONIT_SCREENSHOT_KEEP',
    type: 'string',
    help: 'screenshots kept per stream under DATA_DIR/screenshots; older ones are deleted (default 60)',
  },
  {
    flag: 'screenshot-max-age',
    env: 'MONIT_SCREENSHOT_MAX_AGE_S',
    type: 'string',
    help: 'seconds a screenshot is kept (default 86400, one day)',
  },
]

function parseInteger(setting: string, raw: string, min: number, max: number): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(setting, `"${raw}" is not an integer from ${min} to ${max}`)
  }
  return value
}

function parseFraction(setting: string, raw: string): number {
  const value = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(setting, `"${raw}" is not a number from 0 to 1`)
  }
  return value
}

const SIZE_UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** Parses a byte count, such as 1073741824 or 1GiB. */
function parseBytes(setting: string, raw: string): number {
  const match = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(raw.trim())
  const value = match === null ? Number.NaN : Number(match[1]) * SIZE_UNITS[match[2] ?? '']!
  if (!Number.isSafeInteger(value)) {
    throw new ConfigError(setting, `"${raw}" is not a size; use bytes or a number with KiB, MiB or GiB, such as 512MiB`)
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

/** Checks a secret's length. The error message never contains the value. */
function checkMinLength(setting: string, raw: string | undefined, min: number): string | undefined {
  if (raw === undefined || raw === '') return undefined
  if (raw.length < min) throw new ConfigError(setting, `is ${raw.length} characters long; use at least ${min}`)
  return raw
}

/** Names proxy-addr (Fastify's trustProxy) accepts for well-known ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal']

function checkProxyEntry(setting: string, entry: string): string {
  if (PROXY_RANGE_NAMES.includes(entry) || isIP(entry) !== 0) return entry
  const [address = '', prefix, extra] = entry.split('/')
  const family = isIP(address)
  const maxPrefix = family === 4 ? 32 : 128
  // proxy-addr rejects a /0 range, which would trust every peer anyway.
  const validPrefix = /^\d{1,3}$/.test(prefix ?? '') && Number(prefix) >= 1 && Number(prefix) <= maxPrefix
  if (family !== 0 && extra === undefined && validPrefix) return entry
  const names = PROXY_RANGE_NAMES.join(', ')
  const expected = `an IP address, a CIDR range such as 10.0.0.0/8 (prefix /1 or longer), or one of ${names}`
  throw new ConfigError(setting, `"${entry}" is not ${expected}`)
}

/** Splits and checks a comma-separated proxy list; empty entries are skipped. */
function parseTrustedProxies(setting: string, raw: string | undefined): string[] {
  if (raw === undefined) return []
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  return entries.map((entry) => checkProxyEntry(setting, entry))
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
  const fraction = (flag: string, fallback: number): number => {
    const [name, raw] = read(flag)
    return raw === undefined ? fallback : parseFraction(name, raw)
  }
  const bytes = (flag: string, fallback: number): number => {
    const [name, raw] = read(flag)
    return raw === undefined ? fallback : parseBytes(name, raw)
  }
  const [localAgentName, localAgent = 'false'] = read('local-agent')
  const [clusterName, clusterRaw = 'false'] = read('cluster')
  const cluster = parseBoolean(clusterName, clusterRaw)
  if (cluster && !/^(mysql|mariadb):/i.test(database.trim())) {
    throw new ConfigError(clusterName, 'needs a mysql:// settings database (--database or MONIT_DATABASE) that every controller shares')
  }
  const [controllerIdName, controllerIdRaw] = read('controller-id')
  const controllerId = controllerIdRaw === undefined || controllerIdRaw === '' ? defaultControllerId() : controllerIdRaw
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(controllerId)) {
    throw new ConfigError(controllerIdName, `"${controllerId.slice(0, 200)}" is not 1 to 128 letters, digits, '.', '_', ':' or '-'`)
  }
  const [trustedProxiesName, trustedProxies] = read('trusted-proxies')
  const geoipDb = read('geoip-db')[1]
  const [jwtSecretName, jwtSecret] = read('jwt-secret')
  const [adminPasswordName, adminPassword] = read('admin-password')
  const clickhouseDatabase = read('clickhouse-database')[1] ?? 'monit'
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(clickhouseDatabase)) {
    throw new ConfigError('MONIT_CLICKHOUSE_DATABASE', `"${clickhouseDatabase}" is not a plain identifier`)
  }
  const [clickhouseClusterName, clickhouseClusterRaw] = read('clickhouse-cluster')
  const clickhouseCluster = clickhouseClusterRaw === undefined || clickhouseClusterRaw === '' ? undefined : clickhouseClusterRaw
  if (clickhouseCluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(clickhouseCluster)) {
    throw new ConfigError(clickhouseClusterName, `"${clickhouseCluster}" is not a plain identifier (letters, digits, underscore)`)
  }
  if (clickhouseCluster !== undefined && (clickhouse === undefined || clickhouse === '')) {
    throw new ConfigError(clickhouseClusterName, 'needs a ClickHouse server URL (--clickhouse or MONIT_CLICKHOUSE); embedded chDB has no cluster')
  }

  return {
    host,
    port,
    dataDir,
    databaseUrl: checkDatabaseUrl(databaseName, database),
    clickhouseUrl: clickhouse === undefined || clickhouse === '' ? undefined : checkClickhouseUrl(clickhouseName, clickhouse),
    clickhouseDatabase,
    clickhouseCluster,
    ttlDays: integer('ttl-days', 90, 1, 36500),
    agentToken: read('agent-token')[1] || undefined,
    reassignGraceS: integer('reassign-grace', 10, 0, 3600),
    rebalanceThreshold: fraction('rebalance-threshold', 0.25),
    cluster,
    controllerId,
    leaseTtlS: integer('lease-ttl', 10, 2, 3600),
    heartbeatIntervalS: integer('heartbeat-interval', 15, 1, 3600),
    tokenRecheckS: integer('token-recheck', 30, 1, 3600),
    flushRows: integer('flush-rows', 10000, 1, 1_000_000),
    flushMs: integer('flush-ms', 1000, 10, 600_000),
    bufferRows: integer('buffer-rows', 100_000, 1, 100_000_000),
    spillMaxBytes: bytes('spill-max-bytes', 1024 ** 3),
    logLevel: logLevel as LogLevel,
    localAgent: parseBoolean(localAgentName, localAgent),
    trustedProxies: parseTrustedProxies(trustedProxiesName, trustedProxies),
    geoipDb: geoipDb === undefined || geoipDb === '' ? undefined : resolve(geoipDb),
    beaconRateLimit: integer('beacon-rate-limit', 600, 0, 1_000_000),
    // RFC 7518, section 3.2, requires an HS256 key at least as long as its 256-bit hash output.
    jwtSecret: checkMinLength(jwtSecretName, jwtSecret, 32),
    jwtExpiryS: integer('jwt-expiry', 43_200, 1, 2_592_000),
    adminPassword: checkMinLength(adminPasswordName, adminPassword, 8),
    loginRateLimit: integer('login-rate-limit', 10, 1, 100_000),
    writeRateLimit: integer('write-rate-limit', 300, 1, 1_000_000),
    metricsToken: read('metrics-token')[1] || undefined,
    liveMaxSubscribers: integer('live-max-subscribers', 1000, 1, 1_000_000),
    liveViewersIntervalS: integer('live-viewers-interval', 5, 1, 3600),
    liveViewerWindowS: integer('live-viewer-window', 60, 1, 86_400),
    liveMaxViewers: integer('live-max-viewers', 200_000, 1, 100_000_000),
    screenshotKeep: integer('screenshot-keep', 60, 1, 100_000),
    screenshotMaxAgeS: integer('screenshot-max-age', 86_400, 60, 31_536_000),
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
